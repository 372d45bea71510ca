//! An upstream that goes away: calls get UNAVAILABLE and health says
//! NOT_SERVING; when it returns, the gateway recovers by itself.

mod support;

use std::time::Duration;

use proto::task::v1::{ListTasksRequest, task_service_client::TaskServiceClient};
use support::{Bearer, Stack, TestUsers};
use testkit::eventually;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

async fn wait_for_health(stack: &Stack, wanted: ServingStatus) {
    eventually(
        Duration::from_secs(10),
        &format!("gateway health {wanted:?}"),
        || async { (testkit::health(stack.grpc(), "").await == wanted).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn a_stopped_upstream_is_unavailable_and_the_gateway_recovers() {
    let mut stack = Stack::start().await;
    let mut auth = proto::auth::v1::auth_service_client::AuthServiceClient::new(stack.grpc());
    let token = auth
        .sign_up_and_log_in("ada@example.com")
        .await
        .access_token;
    let mut tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(token));
    tasks.list_tasks(ListTasksRequest::default()).await.unwrap();
    wait_for_health(&stack, ServingStatus::Serving).await;

    let addr = stack.stop_tasks().await;
    let error = tasks
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    wait_for_health(&stack, ServingStatus::NotServing).await;

    stack.restart_tasks(addr).await;
    eventually(Duration::from_secs(10), "the gateway recovering", || {
        let mut tasks = tasks.clone();
        async move { tasks.list_tasks(ListTasksRequest::default()).await.ok() }
    })
    .await;
    wait_for_health(&stack, ServingStatus::Serving).await;
}
