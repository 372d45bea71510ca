//! Two users never see or touch each other's tasks; another user's task
//! looks exactly like a missing one.

mod support;

use proto::task::v1::{
    DeleteTaskRequest, GetTaskRequest, ListTasksRequest, Task, UpdateTaskRequest,
};
use support::Stack;
use tonic::Code;

#[tokio::test]
async fn users_cannot_see_get_update_or_delete_each_others_tasks() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let mallory = stack.user("mallory@example.com").await;
    let secret = ada.create_titled("ada's secret").await;
    mallory.create_titled("mallory's own").await;
    let mut theirs = mallory.tasks();

    let listed = theirs
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 1);
    assert!(listed.tasks.iter().all(|task| task.id != secret.id));
    let search = ListTasksRequest {
        query: "secret".into(),
        ..Default::default()
    };
    let searched = theirs.list_tasks(search).await.unwrap().into_inner();
    assert!(searched.tasks.is_empty());

    let get = |id: String| GetTaskRequest { id };
    let missing = theirs
        .get_task(get(uuid::Uuid::now_v7().to_string()))
        .await
        .unwrap_err();
    let foreign = theirs.get_task(get(secret.id.clone())).await.unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    assert_eq!(
        foreign.message(),
        missing.message(),
        "another user's task must look missing"
    );

    let update = UpdateTaskRequest {
        task: Some(Task {
            id: secret.id.clone(),
            title: "pwned".into(),
            etag: secret.etag.clone(),
            ..Task::default()
        }),
        update_mask: None,
    };
    let updating = theirs.update_task(update).await.unwrap_err();
    assert_eq!(updating.code(), Code::NotFound);
    let delete = DeleteTaskRequest {
        id: secret.id.clone(),
        etag: secret.etag.clone(),
    };
    let deleting = theirs.delete_task(delete).await.unwrap_err();
    assert_eq!(deleting.code(), Code::NotFound);

    let intact = ada
        .tasks()
        .get_task(get(secret.id.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(intact.task.unwrap(), secret);
}
