//! Service identities across the services: `todo-stack certs` writes the
//! certificates; with them, the task service presents its identity to the
//! auth service's internal listener over mutual TLS and checks every
//! user's token there, behind the gateway, while the gateway keeps calling
//! the public listener in plaintext.

mod support;

use std::{path::Path, process::Command};

use proto::{
    auth::v1::auth_service_client::AuthServiceClient,
    task::v1::{CreateTaskRequest, ListTasksRequest, Task, task_service_client::TaskServiceClient},
};
use support::{Bearer, TestUsers};
use tempfile::TempDir;
use testkit::{Running, TestDatabase};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};

/// Runs `todo-stack certs --out DIR` with `extra` flags.
fn certs_command(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_todo-stack"))
        .args(["certs", "--out"])
        .arg(dir)
        .args(extra)
        .env_clear()
        .output()
        .expect("todo-stack runs")
}

#[test]
fn the_certs_command_writes_private_files_once_and_says_how_to_use_them() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("certs");
    let written = certs_command(&dir, &[]);
    assert!(written.status.success(), "{written:?}");
    let out = String::from_utf8(written.stdout).unwrap();
    for setting in [
        "INTERNAL_TLS_CERT=",
        "INTERNAL_TLS_KEY=",
        "INTERNAL_CA=",
        "INTERNAL_ALLOWED_CLIENTS=tasks",
        "AUTH_URL=https://",
    ] {
        assert!(out.contains(setting), "{setting} missing from:\n{out}");
    }
    #[cfg(unix)]
    for name in service_runtime::dev_certificates::ServiceCertificates::FILES {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    assert!(!out.contains("PRIVATE KEY"), "no key is printed");

    // Keys are never overwritten; a one-shot service may keep what is there.
    let key = std::fs::read(dir.join("ca-key.pem")).unwrap();
    let again = certs_command(&dir, &[]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{again:?}"
    );
    let kept = certs_command(&dir, &["--keep-existing"]);
    assert!(kept.status.success(), "{kept:?}");
    assert_eq!(std::fs::read(dir.join("ca-key.pem")).unwrap(), key);
}

/// The three services wired as in production with mutual TLS between the
/// task service and the auth service's internal listener.
struct SecuredStack {
    gateway: Running,
    auth: Running,
    tasks: Running,
    _databases: [TestDatabase; 2],
    _dirs: [TempDir; 2],
}

impl SecuredStack {
    async fn start() -> Self {
        testkit::init_logging();
        let certs = TempDir::new().unwrap();
        let written = certs_command(certs.path(), &[]);
        assert!(written.status.success(), "{written:?}");
        let file = |name: &str| Some(certs.path().join(name));
        let data = TempDir::new().unwrap();
        let auth_database = TestDatabase::create().await;
        let task_database = TestDatabase::create().await;

        let mut auth_config: auth_service::Config = service_runtime::config::defaults();
        auth_config.storage.data_dir = data.path().join("auth");
        auth_config.storage.database_url = Some(auth_database.url.clone());
        auth_config.jwt_secret = Some("stack-tests-secret-long-enough-0123456789".into());
        auth_config.password_hash_concurrency = Some(1);
        auth_config.internal_tls.internal_tls_cert = file("auth.pem");
        auth_config.internal_tls.internal_tls_key = file("auth-key.pem");
        auth_config.internal_tls.internal_ca = file("ca.pem");
        auth_config.internal_allowed_clients = vec!["tasks".into()];
        let internal = testkit::listener().await;
        let internal_port = internal.local_addr().unwrap().port();
        let auth = Running::spawn(testkit::listener().await, |public, stopped| {
            let listeners = auth_service::Listeners { public, internal };
            auth_service::serve(auth_config, listeners, async {
                let _ = stopped.await;
            })
        });

        let mut task_config: task_service::Config = service_runtime::config::defaults();
        task_config.storage.database_url = Some(task_database.url.clone());
        // The name in the auth service's certificate, not the address.
        task_config.auth_url = vec![format!("https://localhost:{internal_port}")];
        task_config.internal_tls.internal_tls_cert = file("tasks.pem");
        task_config.internal_tls.internal_tls_key = file("tasks-key.pem");
        task_config.internal_tls.internal_ca = file("ca.pem");
        let tasks = Running::spawn(testkit::listener().await, |listener, stopped| {
            task_service::serve(task_config, listener, async {
                let _ = stopped.await;
            })
        });

        let mut config: gateway::Config = service_runtime::config::defaults();
        config.auth_upstreams = vec![format!("http://{}", auth.addr)];
        config.task_upstreams = vec![format!("http://{}", tasks.addr)];
        config.front.web_dir = data.path().join("no-web-build-here");
        let gateway = Running::spawn(testkit::listener().await, |listener, stopped| {
            gateway::serve(config, listener, async {
                let _ = stopped.await;
            })
        });
        Self {
            gateway,
            auth,
            tasks,
            _databases: [auth_database, task_database],
            _dirs: [certs, data],
        }
    }

    fn tasks_for(&self, token: &str) -> TaskServiceClient<InterceptedService<Channel, Bearer>> {
        TaskServiceClient::with_interceptor(self.gateway.channel(), Bearer::new(token))
    }

    async fn stop(self) {
        self.gateway.stop().await;
        self.tasks.stop().await;
        self.auth.stop().await;
    }
}

#[tokio::test]
async fn behind_the_gateway_the_task_service_checks_tokens_over_mutual_tls() {
    let stack = SecuredStack::start().await;
    let user = AuthServiceClient::new(stack.gateway.channel())
        .sign_up_and_log_in("ada@example.com")
        .await;
    let mut tasks = stack.tasks_for(&user.access_token);
    let created = tasks
        .create_task(CreateTaskRequest {
            task: Some(Task {
                title: "renew the certificates".into(),
                ..Default::default()
            }),
            ..Default::default()
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
    assert_eq!(listed.tasks, [created]);
    // A token the auth service refuses is refused here too.
    let refused = stack
        .tasks_for("forged")
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    stack.stop().await;
}
