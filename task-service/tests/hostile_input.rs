//! Random messages on every RPC of the real task service, with good, bad and
//! missing bearer tokens: always answered with a client error (or success),
//! never a server fault or a panic, and the service keeps serving.

mod support;

use proptest::prelude::*;
use support::Stack;
use testkit::raw;

#[test]
fn random_messages_on_every_rpc_are_client_errors_never_server_faults() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Channels connect on the runtime's tasks, also when made outside `block_on`.
    let _runtime = runtime.enter();
    let (stack, user) = runtime.block_on(async {
        // Every call is to reach a handler, however fast they come.
        let stack = Stack::start_configured(testkit::TestDatabase::create().await, |config| {
            config.server.max_calls_per_second_per_address = 0;
        })
        .await;
        let user = stack.user("fuzz").await;
        // Something to get, update and delete by id.
        user.create_titled("existing").await;
        (stack, user)
    });
    let bearers = prop_oneof![
        3 => Just(Some(user.token.clone())),
        1 => Just(None),
        1 => "\\PC{0,60}".prop_map(Some),
    ];
    raw::assert_no_server_faults(
        &runtime,
        &testkit::channel(user.addr),
        raw::methods(&["todo.task.v1.TaskService"]),
        bearers,
        600,
    );
    runtime.block_on(async {
        user.create_titled("still served").await;
        drop(stack);
    });
}
