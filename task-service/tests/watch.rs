//! WatchTasks: live changes to the caller's own tasks, from any client and
//! (on PostgreSQL) any replica; a revoked session ends the stream.

mod support;

use std::time::Duration;

use proto::task::v1::{
    DeleteTaskRequest, Task, UpdateTaskRequest, WatchTasksRequest, WatchTasksResponse,
    task_event::Kind,
};
use support::{Stack, User};
use tonic::{Code, Streaming};

async fn watch(user: &User) -> Streaming<WatchTasksResponse> {
    user.tasks()
        .watch_tasks(WatchTasksRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// The next event within a second.
async fn next_event(stream: &mut Streaming<WatchTasksResponse>) -> (Kind, Task) {
    let message = tokio::time::timeout(Duration::from_secs(1), stream.message())
        .await
        .expect("no event within a second")
        .expect("stream failed")
        .expect("stream ended");
    let event = message.event.unwrap();
    (event.kind(), event.task.unwrap())
}

#[tokio::test]
async fn a_watch_sees_creates_updates_and_deletes_within_a_second_and_only_its_own() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let grace = stack.user("grace@example.com").await;
    let mut ada_events = watch(&ada).await;
    let mut grace_events = watch(&grace).await;

    // Changes made by "another client" of the same user.
    let created = ada.create_titled("watched").await;
    grace.create_titled("grace's").await;
    let (kind, task) = next_event(&mut ada_events).await;
    assert_eq!((kind, task.clone()), (Kind::Created, created.clone()));

    let updated = ada
        .tasks()
        .update_task(UpdateTaskRequest {
            task: Some(Task {
                id: created.id.clone(),
                completed: true,
                ..Task::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    let (kind, task) = next_event(&mut ada_events).await;
    assert_eq!(kind, Kind::Updated);
    assert_eq!(task, updated);

    ada.tasks()
        .delete_task(DeleteTaskRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let (kind, task) = next_event(&mut ada_events).await;
    assert_eq!(kind, Kind::Deleted);
    assert_eq!(task.id, created.id);

    // Grace saw her own task only.
    let (kind, task) = next_event(&mut grace_events).await;
    assert_eq!((kind, task.title.as_str()), (Kind::Created, "grace's"));
    let nothing = tokio::time::timeout(Duration::from_millis(300), grace_events.message()).await;
    assert!(
        nothing.is_err(),
        "grace received someone else's event: {nothing:?}"
    );
}

#[tokio::test]
async fn logging_out_ends_the_watch_with_unauthenticated() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let mut events = watch(&ada).await;
    stack.log_out(&ada);
    let ended = tokio::time::timeout(Duration::from_secs(5), events.message())
        .await
        .expect("the watch went on after logout");
    let status = ended.expect_err("the watch must end with an error");
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL): on SQLite one process owns the database"]
async fn on_postgres_a_watch_sees_writes_made_through_another_replica() {
    let stack = Stack::start_on(testkit::TestDatabase::postgres().await).await;
    let replica = stack.replica().await;
    let ada = stack.user("ada@example.com").await;
    let mut events = watch(&ada).await;
    let through_replica = ada
        .at(replica.addr)
        .create_titled("made on the replica")
        .await;
    let (kind, task) = next_event(&mut events).await;
    assert_eq!(kind, Kind::Created);
    assert_eq!(task, through_replica);
    replica.stop().await;
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL): the change listener is PostgreSQL's LISTEN"]
async fn on_postgres_a_watch_whose_listener_lost_the_database_starts_over() {
    let stack = Stack::start_on(testkit::TestDatabase::postgres().await).await;
    let ada = stack.user("ada@example.com").await;
    let mut events = watch(&ada).await;
    ada.create_titled("before").await;
    assert_eq!(next_event(&mut events).await.0, Kind::Created);

    // The listener's connection goes, as in a database restart: whatever is
    // NOTIFYed until it listens again is lost, so the watch must not go on
    // as if it had heard everything.
    let cut = stack
        .task_database
        .scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
            None,
        )
        .await;
    assert_eq!(cut, 1, "the service listens on one connection");
    let ended = tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("the watch went on after its listener lost the database");
    let status = ended.expect_err("the watch must end with an error");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("list the tasks again"),
        "{status:?}"
    );

    // A new watch, opened as the client re-lists, hears what follows.
    let mut events = watch(&ada).await;
    let after = ada.create_titled("after").await;
    assert_eq!(next_event(&mut events).await, (Kind::Created, after));
}
