//! One user cannot stall everyone else's calls through the gateway's shared
//! upstream connections: WatchTasks streams whose client never reads hold
//! their own flow-control windows only, and unary calls travel apart.

mod support;

use std::time::Duration;

use proto::task::v1::{
    CreateTaskRequest, ListTasksRequest, Task, WatchTasksRequest,
    task_service_client::TaskServiceClient,
};
use support::{Bearer, Stack, TestUsers};
use tonic::transport::Endpoint;

/// Longest another user's call may take before the test calls it stalled:
/// a failure detector, not a speed target (a stalled call never finishes).
const STALLED: Duration = Duration::from_secs(10);

#[tokio::test]
async fn streams_nobody_reads_do_not_stall_other_users() {
    let stack = Stack::start().await;
    let mut auth = proto::auth::v1::auth_service_client::AuthServiceClient::new(stack.grpc());
    let stalling = auth
        .sign_up_and_log_in("stalls@example.com")
        .await
        .access_token;
    let other = auth
        .sign_up_and_log_in("other@example.com")
        .await
        .access_token;

    // A client that accepts almost nothing and reads nothing: its windows
    // fill at once, so everything else sent to its streams backs up.
    let tiny_windows = Endpoint::from_shared(stack.url())
        .unwrap()
        .initial_stream_window_size(1024)
        .connect()
        .await
        .unwrap();
    let mut stalled = Vec::new();
    for _ in 0..16 {
        let mut client = TaskServiceClient::with_interceptor(
            tiny_windows.clone(),
            Bearer::new(stalling.clone()),
        );
        stalled.push(
            client
                .watch_tasks(WatchTasksRequest {})
                .await
                .unwrap()
                .into_inner(),
        );
    }
    // Each change goes to all 16 streams: ~5 KB each, 200 changes, ~16 MB
    // in all, far beyond what one HTTP/2 connection would hold if stalled
    // streams could use its window up.
    let mut writer = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(stalling));
    let heavy = Task {
        title: "𝄞".repeat(200),
        description: "𝄞".repeat(1000),
        ..Task::default()
    };
    for _ in 0..200 {
        writer
            .create_task(CreateTaskRequest {
                task: Some(heavy.clone()),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }

    // Another user, through the same gateway, is unaffected: unary calls
    // and a stream of their own.
    let mut tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(other));
    let mut watch = tokio::time::timeout(STALLED, tasks.watch_tasks(WatchTasksRequest {}))
        .await
        .expect("another user's WatchTasks stalled")
        .unwrap()
        .into_inner();
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
    .expect("another user's CreateTask stalled")
    .unwrap();
    let listed = tokio::time::timeout(STALLED, tasks.list_tasks(ListTasksRequest::default()))
        .await
        .expect("another user's ListTasks stalled")
        .unwrap()
        .into_inner();
    assert_eq!(listed.tasks, [created.into_inner().task.unwrap()]);
    let event = tokio::time::timeout(STALLED, watch.message())
        .await
        .expect("another user's stream stalled")
        .unwrap()
        .expect("an event");
    assert!(event.event.is_some());
    drop(stalled);
}
