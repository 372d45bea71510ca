//! One user cannot stall everyone else's calls through the gateway's shared
//! upstream connections: WatchTasks streams travel on connections of their
//! own, so streams that fill the task service's per-connection stream limit
//! leave unary calls untouched.

mod support;

use std::time::Duration;

use proto::task::v1::{
    CreateTaskRequest, ListTasksRequest, Task, WatchTasksRequest,
    task_service_client::TaskServiceClient,
};
use support::{Bearer, Stack, TestUsers};

/// Longest a call may take before the test calls it stalled: a failure
/// detector, not a speed target (a call waiting for a free stream never ends).
const STALLED: Duration = Duration::from_secs(10);

/// Streams the task service allows on one connection, kept small here.
const STREAMS_PER_CONNECTION: u32 = 4;

#[tokio::test]
async fn streams_filling_upstream_connections_do_not_hold_up_unary_calls() {
    let stack = Stack::start_configured(
        |front| {
            front.upstream_connections = 1;
            front.upstream_stream_connections = 2;
        },
        |tasks| tasks.server.max_streams_per_connection = STREAMS_PER_CONNECTION,
    )
    .await;
    let mut auth = proto::auth::v1::auth_service_client::AuthServiceClient::new(stack.grpc());
    let streamer = auth
        .sign_up_and_log_in("streams@example.com")
        .await
        .access_token;
    let other = auth
        .sign_up_and_log_in("other@example.com")
        .await
        .access_token;

    // Every stream the gateway's two stream connections can carry.
    let mut watches = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(streamer));
    let mut open = Vec::new();
    for _ in 0..2 * STREAMS_PER_CONNECTION {
        let watch = tokio::time::timeout(STALLED, watches.watch_tasks(WatchTasksRequest {}))
            .await
            .expect("a stream waited for a free upstream stream")
            .unwrap();
        open.push(watch.into_inner());
    }

    // Another user's unary calls, through the same gateway, go through at once.
    let mut tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(other));
    let created = tokio::time::timeout(
        STALLED,
        tasks.create_task(CreateTaskRequest {
            task: Some(Task {
                title: "still works".into(),
                ..Task::default()
            }),
            request_id: String::new(),
        }),
    )
    .await
    .expect("CreateTask waited behind the streams")
    .unwrap()
    .into_inner()
    .task
    .unwrap();
    let listed = tokio::time::timeout(STALLED, tasks.list_tasks(ListTasksRequest::default()))
        .await
        .expect("ListTasks waited behind the streams")
        .unwrap()
        .into_inner();
    assert_eq!(listed.tasks, [created]);
    drop(open);
}
