//! Random messages on every RPC of the real task service, with good, bad and
//! missing bearer tokens: always answered with a client error (or success),
//! never a server fault or a panic, and the service keeps serving.

mod support;

use proptest::{
    prelude::*,
    test_runner::{Config as ProptestConfig, TestRunner},
};
use support::Stack;
use testkit::raw;

const METHODS: [&str; 6] = [
    "/todo.task.v1.TaskService/CreateTask",
    "/todo.task.v1.TaskService/GetTask",
    "/todo.task.v1.TaskService/ListTasks",
    "/todo.task.v1.TaskService/UpdateTask",
    "/todo.task.v1.TaskService/DeleteTask",
    "/todo.task.v1.TaskService/WatchTasks",
];

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
    let strategy = (
        prop::sample::select(METHODS.as_slice()),
        raw::message_bytes(),
        prop_oneof![
            3 => Just(Some(user.token.clone())),
            1 => Just(None),
            1 => "\\PC{0,60}".prop_map(Some),
        ],
    );
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 600,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let channel = testkit::channel(user.addr);
    runner
        .run(&strategy, |(method, body, token)| {
            let code = runtime.block_on(raw::call(channel.clone(), method, body, token.as_deref()));
            prop_assert!(!raw::is_server_fault(code), "{method} answered {code:?}");
            Ok(())
        })
        .unwrap();
    runtime.block_on(async {
        user.create_titled("still served").await;
        drop(stack);
    });
}
