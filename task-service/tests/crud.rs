//! Create, get, update and delete: defaults, every validation limit, unicode,
//! idempotent create, field masks, etags and completion times.

mod support;

use std::collections::HashSet;

use futures::future::join_all;
use proto::{
    prost_types::{FieldMask, Timestamp},
    task::v1::{
        CreateTaskRequest, DeleteTaskRequest, GetTaskRequest, Priority, Task, UpdateTaskRequest,
    },
};
use support::{Stack, User};
use tonic::{Code, Status};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
    })
}

/// UpdateTask on its own connection; the updated task.
async fn update(user: &User, task: Task, update_mask: Option<FieldMask>) -> Result<Task, Status> {
    let request = UpdateTaskRequest {
        task: Some(task),
        update_mask,
    };
    let response = user.tasks().update_task(request).await?;
    Ok(response.into_inner().task.expect("an updated task"))
}

#[tokio::test]
async fn create_fills_in_the_server_fields_and_get_returns_the_same_task() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let due = Timestamp {
        seconds: 1_900_000_000,
        nanos: 500_000_000,
    };
    let created = ada
        .create(Task {
            title: "  Buy milk  ".into(),
            description: "2 litres".into(),
            tags: vec![" home ".into(), "home".into(), "shopping".into()],
            due_time: Some(due),
            ..Task::default()
        })
        .await;
    assert!(uuid::Uuid::parse_str(&created.id).is_ok());
    assert_eq!(created.title, "Buy milk");
    assert_eq!(
        created.priority(),
        Priority::Medium,
        "UNSPECIFIED becomes MEDIUM"
    );
    assert_eq!(created.tags, ["home", "shopping"]);
    assert_eq!(created.due_time, Some(due));
    assert!(!created.completed);
    assert!(created.complete_time.is_none());
    assert!(created.create_time.is_some());
    assert_eq!(created.create_time, created.update_time);
    assert!(!created.etag.is_empty());
    let fetched = ada
        .tasks()
        .get_task(GetTaskRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.task.unwrap(), created);
}

#[tokio::test]
async fn unicode_and_sql_shaped_text_come_back_exactly() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let emoji = "🦀".repeat(200);
    let created = ada.create_titled(&emoji).await;
    assert_eq!(
        created.title, emoji,
        "200 emoji are 200 characters, not 800 bytes"
    );
    let injection = "Robert'); DROP TABLE tasks;-- \" OR 1=1 %_\\";
    let created = ada
        .create(Task {
            title: injection.into(),
            description: "ünïcødé — 日本語 ✓".into(),
            ..Task::default()
        })
        .await;
    let fetched = ada
        .tasks()
        .get_task(GetTaskRequest { id: created.id })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(fetched.title, injection);
    assert_eq!(fetched.description, "ünïcødé — 日本語 ✓");
    // The table is still there.
    ada.create_titled("still works").await;
}

#[tokio::test]
async fn every_limit_is_invalid_argument_naming_the_field() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let ok = || Task {
        title: "ok".into(),
        ..Task::default()
    };
    #[rustfmt::skip]
    let cases = [
        (Task { title: "   ".into(), ..ok() }, "task.title"),
        (Task { title: "x".repeat(201), ..ok() }, "task.title: must be at most 200"),
        (Task { description: "d".repeat(1001), ..ok() }, "task.description: must be at most 1000"),
        (Task { tags: (0..11).map(|i| format!("t{i}")).collect(), ..ok() }, "task.tags: at most 10"),
        (Task { tags: vec!["x".repeat(33)], ..ok() }, "task.tags: each tag must be at most 32"),
        (Task { tags: vec!["  ".into()], ..ok() }, "task.tags: a tag must not be empty"),
        (Task { priority: 42, ..ok() }, "task.priority"),
        (Task { due_time: Some(Timestamp { seconds: 0, nanos: -5 }), ..ok() }, "task.due_time"),
    ];
    for (task, expected) in cases {
        let error = ada
            .tasks()
            .create_task(CreateTaskRequest {
                task: Some(task),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{expected}");
        assert!(
            error.message().starts_with(expected),
            "expected {expected:?}, got {:?}",
            error.message()
        );
    }
    // The limits themselves are allowed.
    ada.create(Task {
        title: "x".repeat(200),
        description: "d".repeat(1000),
        tags: (0..10).map(|i| format!("{i:0>32}")).collect(),
        ..Task::default()
    })
    .await;
    let missing = ada
        .tasks()
        .create_task(CreateTaskRequest::default())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_repeated_request_id_returns_the_first_task() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let request = |title: &str| CreateTaskRequest {
        task: Some(Task {
            title: title.into(),
            ..Task::default()
        }),
        request_id: "retry-1".into(),
    };
    let first = ada
        .tasks()
        .create_task(request("first"))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    let retries = join_all((0..5).map(|_| {
        let mut client = ada.tasks();
        let request = request("first");
        async move {
            client
                .create_task(request)
                .await
                .unwrap()
                .into_inner()
                .task
                .unwrap()
        }
    }))
    .await;
    assert!(retries.iter().all(|task| *task == first));
    // Another user may use the same request id for their own task.
    let grace = stack.user("grace@example.com").await;
    let theirs = grace
        .tasks()
        .create_task(request("theirs"))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_ne!(theirs.id, first.id);
    let list = ada
        .tasks()
        .list_tasks(proto::task::v1::ListTasksRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.total_size, 1);
}

#[tokio::test]
async fn missing_and_malformed_ids_are_not_found() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    for id in [
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
        String::new(),
    ] {
        let error = ada
            .tasks()
            .get_task(GetTaskRequest { id: id.clone() })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::NotFound, "{id:?}");
        let error = ada
            .tasks()
            .delete_task(DeleteTaskRequest {
                id: id.clone(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::NotFound, "{id:?}");
        let patch = Task {
            id,
            title: "x".into(),
            ..Task::default()
        };
        let error = update(&ada, patch, None).await.unwrap_err();
        assert_eq!(error.code(), Code::NotFound);
    }
}

#[tokio::test]
async fn update_changes_only_the_masked_fields_and_a_new_etag_each_time() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let task = ada
        .create(Task {
            title: "draft".into(),
            description: "keep me".into(),
            ..Task::default()
        })
        .await;
    let patch = Task {
        id: task.id.clone(),
        title: "final".into(),
        description: "ignored: not in the mask".into(),
        priority: Priority::High as i32,
        tags: vec!["work".into()],
        ..Task::default()
    };
    let updated = update(&ada, patch, mask(&["title", "priority", "tags"]))
        .await
        .unwrap();
    assert_eq!(updated.title, "final");
    assert_eq!(updated.description, "keep me");
    assert_eq!(updated.priority(), Priority::High);
    assert_eq!(updated.tags, ["work"]);
    assert_ne!(updated.etag, task.etag);
    assert_ne!(updated.update_time, task.update_time);
    assert_eq!(updated.create_time, task.create_time);

    // Without a mask, the fields that are set are updated.
    let patch = Task {
        id: task.id.clone(),
        description: "new notes".into(),
        ..Task::default()
    };
    let implied = update(&ada, patch, None).await.unwrap();
    assert_eq!(implied.description, "new notes");
    assert_eq!(implied.title, "final");
    assert_ne!(implied.etag, updated.etag);

    // A masked empty due_time clears it.
    let due = Task {
        id: task.id.clone(),
        due_time: Some(Timestamp {
            seconds: 2_000_000_000,
            nanos: 0,
        }),
        ..Task::default()
    };
    let due = update(&ada, due, mask(&["due_time"])).await.unwrap();
    assert!(due.due_time.is_some());
    let no_due = Task {
        id: task.id.clone(),
        ..Task::default()
    };
    let cleared = update(&ada, no_due, mask(&["due_time"])).await.unwrap();
    assert!(cleared.due_time.is_none());
}

#[tokio::test]
async fn bad_masks_and_values_are_invalid_argument() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let task = ada.create_titled("task").await;
    let cases: [(&[&str], &str); 4] = [
        (&["owner"], "update_mask: unknown field \"owner\""),
        (&["etag"], "update_mask: unknown field \"etag\""),
        (&["title"], "task.title"),
        (&[], "update_mask"),
    ];
    for (paths, expected) in cases {
        let patch = Task {
            id: task.id.clone(),
            ..Task::default()
        };
        let error = update(&ada, patch, mask(paths)).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{expected}");
        assert!(
            error.message().starts_with(expected),
            "{expected:?} vs {:?}",
            error.message()
        );
    }
}

#[tokio::test]
async fn completing_sets_complete_time_and_reopening_clears_it() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let task = ada.create_titled("write tests").await;
    let set_completed = |completed: bool| {
        let patch = Task {
            id: task.id.clone(),
            completed,
            ..Task::default()
        };
        update(&ada, patch, mask(&["completed"]))
    };
    let done = set_completed(true).await.unwrap();
    assert!(done.completed);
    let complete_time = done.complete_time.expect("complete_time set");
    assert!(complete_time.seconds >= task.create_time.unwrap().seconds);
    let reopened = set_completed(false).await.unwrap();
    assert!(!reopened.completed);
    assert!(reopened.complete_time.is_none());
    // Created completed: complete_time from the start.
    let born_done = ada
        .create(Task {
            title: "already done".into(),
            completed: true,
            ..Task::default()
        })
        .await;
    assert!(born_done.complete_time.is_some());
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_of_two_concurrent_updates_exactly_one_wins() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let task = ada.create_titled("shared").await;
    let edit = |title: String, etag: &str| {
        let patch = Task {
            id: task.id.clone(),
            title,
            etag: etag.into(),
            ..Task::default()
        };
        update(&ada, patch, mask(&["title"]))
    };
    let results = join_all((0..8).map(|i| edit(format!("edit {i}"), &task.etag))).await;
    let winners: Vec<&Task> = results
        .iter()
        .filter_map(|result| result.as_ref().ok())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one concurrent update with the same etag wins"
    );
    for result in &results {
        if let Err(error) = result {
            assert_eq!(error.code(), Code::Aborted);
            assert!(error.message().contains("etag"), "{}", error.message());
        }
    }
    let winner = winners[0].clone();
    let stale = edit("late".into(), &task.etag).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let delete = |etag: String| {
        let mut tasks = ada.tasks();
        let request = DeleteTaskRequest {
            id: task.id.clone(),
            etag,
        };
        async move { tasks.delete_task(request).await }
    };
    let stale_delete = delete(task.etag.clone()).await.unwrap_err();
    assert_eq!(stale_delete.code(), Code::Aborted);
    delete(winner.etag).await.unwrap();
    let gone = ada
        .tasks()
        .get_task(GetTaskRequest {
            id: task.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn etags_differ_across_writes() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let task = ada.create_titled("t").await;
    let mut seen = HashSet::from([task.etag.clone()]);
    for i in 0..5 {
        let patch = Task {
            id: task.id.clone(),
            title: format!("t{i}"),
            ..Task::default()
        };
        let updated = update(&ada, patch, mask(&["title"])).await.unwrap();
        assert!(seen.insert(updated.etag), "an etag repeated");
    }
}
