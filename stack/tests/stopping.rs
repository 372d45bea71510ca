//! The one-command stack stops when asked, whatever clients keep open: an open
//! WatchTasks stream through the gateway (one browser tab) ends with
//! UNAVAILABLE, and the whole stack returns within its grace period.

use std::time::Duration;

use proto::{
    auth::v1::auth_service_client::AuthServiceClient,
    task::v1::{WatchTasksRequest, task_service_client::TaskServiceClient},
};
use service_runtime::bearer::BearerInterceptor;
use testkit::users::TestUsers;
use tokio::sync::oneshot;
use tonic::Code;

#[tokio::test]
async fn the_stack_stops_within_its_grace_period_with_a_watch_stream_open() {
    testkit::init_logging();
    let data = tempfile::TempDir::new().unwrap();
    let mut config: todo_stack::Config = service_runtime::config::defaults();
    config.auth_addr = "127.0.0.1:0".parse().unwrap();
    config.internal_addr = "127.0.0.1:0".parse().unwrap();
    config.task_addr = "127.0.0.1:0".parse().unwrap();
    config.data_dir = data.path().to_owned();
    config.front.web_dir = data.path().join("no-web-app");
    config.server.shutdown_grace = Duration::from_secs(3);
    let grace = config.server.shutdown_grace;
    let listener = testkit::listener().await;
    let gateway = testkit::channel(listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(todo_stack::run(config, listener, async {
        let _ = stopped.await;
    }));

    let token = testkit::eventually(Duration::from_secs(20), "the stack serving", || {
        let gateway = gateway.clone();
        async move {
            let mut auth = AuthServiceClient::new(gateway);
            Some(
                auth.sign_up_and_log_in("ada@example.com")
                    .await
                    .access_token,
            )
        }
    })
    .await;
    let mut tasks =
        TaskServiceClient::with_interceptor(gateway.clone(), BearerInterceptor::new(token));
    let mut watch = tasks
        .watch_tasks(WatchTasksRequest {})
        .await
        .unwrap()
        .into_inner();

    stop.send(()).unwrap();
    let ended = tokio::time::timeout(grace, watch.message())
        .await
        .expect("the watch stream stayed open during the stop");
    let status = ended.expect_err("the stream must end with a status, not quietly");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("shutting down"), "{status:?}");

    tokio::time::timeout(grace + Duration::from_secs(5), running)
        .await
        .expect("the stack outlasted its grace period")
        .unwrap()
        .unwrap();
}
