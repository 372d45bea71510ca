//! The whole journey through the gateway, from sign-up to deleting a task,
//! once with native gRPC and once with grpc-web as a browser speaks it, and
//! a WatchTasks stream received over grpc-web.

mod support;

use std::time::Duration;

use proto::{
    auth::v1::{GetCurrentUserRequest, auth_service_client::AuthServiceClient},
    prost_types::FieldMask,
    task::v1::{
        CreateTaskRequest, DeleteTaskRequest, GetTaskRequest, ListTasksRequest, Task,
        UpdateTaskRequest, WatchTasksRequest, task_event::Kind,
        task_service_client::TaskServiceClient,
    },
};
use support::{Bearer, Stack, TestUsers};
use tonic::Code;

/// Create, list, complete and delete a task through `tasks`.
macro_rules! task_journey {
    ($tasks:expr) => {{
        let mut tasks = $tasks;
        let created = tasks
            .create_task(CreateTaskRequest {
                task: Some(Task {
                    title: "Buy milk".into(),
                    tags: vec!["home".into()],
                    ..Task::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap();
        let listed = tasks
            .list_tasks(ListTasksRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.total_size, 1);
        assert_eq!(listed.tasks[0], created);
        let completed = tasks
            .update_task(UpdateTaskRequest {
                task: Some(Task {
                    id: created.id.clone(),
                    completed: true,
                    etag: created.etag.clone(),
                    ..Task::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["completed".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap();
        assert!(completed.completed && completed.complete_time.is_some());
        tasks
            .delete_task(DeleteTaskRequest {
                id: created.id.clone(),
                etag: completed.etag,
            })
            .await
            .unwrap();
        let gone = tasks
            .get_task(GetTaskRequest { id: created.id })
            .await
            .unwrap_err();
        assert_eq!(gone.code(), Code::NotFound);
    }};
}

#[tokio::test]
async fn the_journey_over_native_grpc() {
    let stack = Stack::start().await;
    let mut auth = AuthServiceClient::new(stack.grpc());
    let token = auth
        .sign_up_and_log_in("ada@example.com")
        .await
        .access_token;
    let mut me = tonic::Request::new(GetCurrentUserRequest {});
    me.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_eq!(
        auth.get_current_user(me)
            .await
            .unwrap()
            .into_inner()
            .user
            .unwrap()
            .email,
        "ada@example.com"
    );
    task_journey!(TaskServiceClient::with_interceptor(
        stack.grpc(),
        Bearer::new(token)
    ));
}

#[tokio::test]
async fn the_journey_over_grpc_web() {
    let stack = Stack::start().await;
    let web = stack.grpc_web();
    let token = web
        .auth()
        .sign_up_and_log_in("grace@example.com")
        .await
        .access_token;
    task_journey!(web.tasks(&token));
    // Errors arrive as statuses too.
    let error = web
        .tasks("not-a-token")
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_watch_stream_arrives_over_grpc_web() {
    let stack = Stack::start().await;
    let web = stack.grpc_web();
    let token = web
        .auth()
        .sign_up_and_log_in("ada@example.com")
        .await
        .access_token;
    let mut events = web
        .tasks(&token)
        .watch_tasks(WatchTasksRequest {})
        .await
        .unwrap()
        .into_inner();
    // Another client (native gRPC) of the same user makes the change.
    let mut native = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(token.clone()));
    let created = native
        .create_task(CreateTaskRequest {
            task: Some(Task {
                title: "live".into(),
                ..Task::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    let message = tokio::time::timeout(Duration::from_secs(1), events.message())
        .await
        .expect("no event within a second")
        .unwrap()
        .unwrap();
    let event = message.event.unwrap();
    assert_eq!(event.kind(), Kind::Created);
    assert_eq!(event.task.unwrap(), created);
}

#[tokio::test]
async fn hundreds_of_calls_in_a_row_share_the_upstream_connection() {
    // Each forwarded request must end its upstream stream exactly as the
    // client's did; a body that ends late gets streams reset, and the
    // upstream then drops the shared connection (a broken pipe under load).
    let stack = Stack::start().await;
    let mut auth = AuthServiceClient::new(stack.grpc());
    let token = auth
        .sign_up_and_log_in("ada@example.com")
        .await
        .access_token;
    let mut tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(token));
    for call in 0..500 {
        if let Err(status) = tasks.list_tasks(ListTasksRequest::default()).await {
            panic!("call {call} failed: {status:?}");
        }
    }
}
