//! Deleting an account across the services, through the gateway: the auth
//! service deletes the account and appends an account event; the task
//! service, following those events, purges the user's tasks (and no one
//! else's), refuses the user's tokens even while it remembers them, and ends
//! their watches. A task service that was down at the time purges when it
//! starts again, and leaves the new account of the same email alone.

mod support;

use std::time::Duration;

use proto::{
    auth::v1::{DeleteAccountRequest, SignUpRequest, auth_service_client::AuthServiceClient},
    task::v1::{
        CreateTaskRequest, ListTasksRequest, Task, WatchTasksRequest,
        task_service_client::TaskServiceClient,
    },
};
use support::{Bearer, PASSWORD, Stack, TestUsers};
use testkit::eventually;
use tonic::{Code, Request, transport::Channel};

/// Longest an asynchronous effect may take: a failure detector, not a target.
const LIMIT: Duration = Duration::from_secs(15);

type Tasks = TaskServiceClient<tonic::service::interceptor::InterceptedService<Channel, Bearer>>;

/// Signs `email` up through the gateway; its id, and a task client with its token.
async fn user(stack: &Stack, email: &str) -> (String, Tasks) {
    let login = AuthServiceClient::new(stack.grpc())
        .sign_up_and_log_in(email)
        .await;
    let tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(login.access_token));
    (login.user.unwrap().id, tasks)
}

async fn create(tasks: &mut Tasks, title: &str) -> Task {
    tasks
        .create_task(CreateTaskRequest {
            task: Some(Task {
                title: title.into(),
                ..Task::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap()
}

async fn list(tasks: &mut Tasks) -> Result<Vec<Task>, tonic::Status> {
    tasks
        .list_tasks(ListTasksRequest::default())
        .await
        .map(|response| response.into_inner().tasks)
}

/// Deletes the account of `email` through the gateway.
async fn delete_account(stack: &Stack, email: &str) {
    let mut auth = AuthServiceClient::new(stack.grpc());
    let token = auth.log_in(email, PASSWORD).await.unwrap().access_token;
    let mut request = Request::new(DeleteAccountRequest {
        password: PASSWORD.into(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    auth.delete_account(request).await.unwrap();
}

async fn purged(stack: &Stack, user_id: &str) {
    eventually(LIMIT, "the purge of the deleted user's tasks", || async {
        (stack.stored_tasks(user_id).await == 0).then_some(())
    })
    .await;
}

/// The task service remembers validated tokens for an hour: only the
/// account event can make it refuse a deleted user's token in time.
fn long_token_cache(tasks: &mut task_service::Config) {
    tasks.token_cache_ttl = Duration::from_secs(3600);
}

#[tokio::test]
async fn deleting_an_account_purges_its_tasks_and_refuses_its_remembered_token() {
    let stack = Stack::start_configured(|_| {}, long_token_cache).await;
    let (ada_id, mut ada) = user(&stack, "ada@example.com").await;
    let (_, mut bob) = user(&stack, "bob@example.com").await;
    for title in ["milk", "bread"] {
        create(&mut ada, title).await;
    }
    let bobs = create(&mut bob, "bob's").await;
    // Ada's token is now remembered by the task service.
    assert_eq!(list(&mut ada).await.unwrap().len(), 2);

    delete_account(&stack, "ada@example.com").await;
    purged(&stack, &ada_id).await;
    let refused = list(&mut ada).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(list(&mut bob).await.unwrap(), [bobs]);
}

#[tokio::test]
async fn a_deleted_users_watch_ends_with_unauthenticated() {
    let stack = Stack::start_configured(|_| {}, long_token_cache).await;
    let (_, mut ada) = user(&stack, "ada@example.com").await;
    let (_, mut bob) = user(&stack, "bob@example.com").await;
    let mut ada_watch = ada
        .watch_tasks(WatchTasksRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut bob_watch = bob
        .watch_tasks(WatchTasksRequest {})
        .await
        .unwrap()
        .into_inner();

    delete_account(&stack, "ada@example.com").await;
    let ended = tokio::time::timeout(LIMIT, ada_watch.message())
        .await
        .expect("the watch went on after the account was deleted")
        .expect_err("the watch must end with an error");
    assert_eq!(ended.code(), Code::Unauthenticated);
    assert!(
        ended.message().contains("account was deleted"),
        "{}",
        ended.message()
    );
    // Bob's watch goes on.
    let created = create(&mut bob, "still watched").await;
    let event = tokio::time::timeout(LIMIT, bob_watch.message())
        .await
        .expect("bob's watch stopped")
        .unwrap()
        .unwrap();
    assert_eq!(event.event.unwrap().task.unwrap(), created);
}

#[tokio::test]
async fn a_task_service_that_was_down_purges_when_it_starts_again() {
    let mut stack = Stack::start().await;
    let (ada_id, mut ada) = user(&stack, "ada@example.com").await;
    let (_, mut bob) = user(&stack, "bob@example.com").await;
    for title in ["milk", "bread", "eggs"] {
        create(&mut ada, title).await;
    }
    let bobs = create(&mut bob, "bob's").await;
    let addr = stack.stop_tasks().await;

    delete_account(&stack, "ada@example.com").await;
    // The email signs up afresh at once: a new account, nothing to do with the old tasks.
    let mut auth = AuthServiceClient::new(stack.grpc());
    let new_ada = auth
        .sign_up(SignUpRequest {
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_ne!(new_ada.id, ada_id);
    // Nobody purged anything while the task service was down.
    assert_eq!(stack.stored_tasks(&ada_id).await, 3);

    stack.restart_tasks(addr).await;
    purged(&stack, &ada_id).await;
    let listed = eventually(LIMIT, "the gateway reaching the task service again", || {
        let mut bob = bob.clone();
        async move { list(&mut bob).await.ok() }
    })
    .await;
    assert_eq!(listed, [bobs]);
    let token = auth
        .log_in("ada@example.com", PASSWORD)
        .await
        .unwrap()
        .access_token;
    let mut new_ada_tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(token));
    let fresh = create(&mut new_ada_tasks, "a fresh start").await;
    assert_eq!(list(&mut new_ada_tasks).await.unwrap(), [fresh]);
}
