//! An upstream that goes away: calls get UNAVAILABLE and health says
//! NOT_SERVING; when it returns, the gateway recovers by itself.

mod support;

use std::time::{Duration, Instant};

use proto::task::v1::{ListTasksRequest, task_service_client::TaskServiceClient};
use support::{Bearer, Stack, sign_up_and_log_in};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

async fn gateway_health(stack: &Stack) -> ServingStatus {
    HealthClient::new(stack.grpc())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_or(ServingStatus::Unknown, |response| {
            response.into_inner().status()
        })
}

async fn wait_for_health(stack: &Stack, wanted: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while gateway_health(stack).await != wanted {
        assert!(
            Instant::now() < deadline,
            "gateway health never became {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_stopped_upstream_is_unavailable_and_the_gateway_recovers() {
    let mut stack = Stack::start().await;
    let mut auth = proto::auth::v1::auth_service_client::AuthServiceClient::new(stack.grpc());
    let token = sign_up_and_log_in(&mut auth, "ada@example.com").await;
    let mut tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer(token));
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
    let deadline = Instant::now() + Duration::from_secs(10);
    while tasks.list_tasks(ListTasksRequest::default()).await.is_err() {
        assert!(Instant::now() < deadline, "the gateway did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_health(&stack, ServingStatus::Serving).await;
}
