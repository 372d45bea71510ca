//! Every call is checked with the auth service: bad tokens are refused, a
//! logout takes effect promptly (the validation cache lives 500 ms), and an
//! auth service that is down gives UNAVAILABLE (never UNAUTHENTICATED) until
//! it is back.

mod support;

use std::time::{Duration, Instant};

use proto::task::v1::{ListTasksRequest, task_service_client::TaskServiceClient};
use service_runtime::bearer::BearerInterceptor;
use support::{Stack, channel, eventually};
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let stack = Stack::start().await;
    let mut anonymous = TaskServiceClient::new(channel(stack.tasks.addr));
    let error = anonymous
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(
        error.message().contains("authorization"),
        "{}",
        error.message()
    );
    for token in ["garbage", "a.b.c", ""] {
        let mut client = TaskServiceClient::with_interceptor(
            channel(stack.tasks.addr),
            BearerInterceptor::new(token),
        );
        let error = client
            .list_tasks(ListTasksRequest::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated, "{token:?}");
    }
    // Health needs no token.
    HealthClient::new(channel(stack.tasks.addr))
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_logout_is_enforced_promptly() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    // Warm the validation cache, as a busy client would.
    ada.tasks()
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap();
    stack.log_out(&ada);
    // The promise is one cache lifetime (500 ms) plus a call; the deadline
    // leaves room for a loaded machine.
    eventually(
        Duration::from_secs(3),
        "refusing the logged-out token",
        || async {
            let result = ada.tasks().list_tasks(ListTasksRequest::default()).await;
            matches!(result, Err(status) if status.code() == Code::Unauthenticated).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn auth_service_down_is_unavailable_quickly_and_recovers() {
    let mut stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let addr = stack.stop_auth().await;
    // Within the short validation cache calls may still pass; after it they
    // must fail fast with UNAVAILABLE, and never claim the token is bad.
    eventually(
        Duration::from_secs(3),
        "UNAVAILABLE while the auth service is down",
        || async {
            let asked = Instant::now();
            match ada.tasks().list_tasks(ListTasksRequest::default()).await {
                Ok(_) => None,
                Err(error) => {
                    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
                    assert!(
                        asked.elapsed() < Duration::from_secs(3),
                        "took {:?}",
                        asked.elapsed()
                    );
                    Some(())
                }
            }
        },
    )
    .await;

    stack.restart_auth(addr).await;
    eventually(Duration::from_secs(10), "calls working again", || async {
        ada.tasks()
            .list_tasks(ListTasksRequest::default())
            .await
            .ok()
    })
    .await;
}
