//! The one-command stack's mail: with no SMTP_URL it is written as `.eml`
//! files under the stack's DATA_DIR, with links to the stack's own web app.

use std::time::Duration;

use proto::auth::v1::auth_service_client::AuthServiceClient;
use testkit::users::TestUsers;
use tokio::sync::oneshot;

#[tokio::test]
async fn without_smtp_url_the_stack_writes_mail_under_its_data_dir() {
    testkit::init_logging();
    let data = tempfile::TempDir::new().unwrap();
    let mut config: todo_stack::Config = service_runtime::config::defaults();
    config.auth_addr = "127.0.0.1:0".parse().unwrap();
    config.internal_addr = "127.0.0.1:0".parse().unwrap();
    config.task_addr = "127.0.0.1:0".parse().unwrap();
    config.data_dir = data.path().to_owned();
    config.front.web_dir = data.path().join("no-web-app");
    let listener = testkit::listener().await;
    let gateway_addr = listener.local_addr().unwrap();
    let gateway = testkit::channel(gateway_addr);
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(todo_stack::run(config, listener, async {
        let _ = stopped.await;
    }));

    testkit::eventually(Duration::from_secs(20), "the stack serving", || {
        let gateway = gateway.clone();
        async move {
            let mut auth = AuthServiceClient::new(gateway);
            Some(auth.sign_up_and_log_in("ada@example.com").await)
        }
    })
    .await;
    let mail_dir = data.path().join("mail");
    let file = testkit::eventually(Duration::from_secs(10), "an .eml file", || async {
        std::fs::read_dir(&mail_dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|ext| ext == "eml"))
    })
    .await;
    let mail = testkit::smtp::parse(&std::fs::read(&file).unwrap());
    let link = format!("http://{gateway_addr}/#/verify?email=ada%40example.com&code=");
    assert!(mail.text.contains(&link), "{}", mail.text);

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}
