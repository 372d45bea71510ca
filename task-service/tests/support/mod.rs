//! Starts the real auth service and the real task service on 127.0.0.1:0,
//! each with a private database, and makes users with real tokens.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use proto::{
    auth::v1::{LoginRequest, SignUpRequest, auth_service_client::AuthServiceClient},
    task::v1::{CreateTaskRequest, Task, task_service_client::TaskServiceClient},
};
pub use service_runtime::test_server::Bearer;
use service_runtime::{test_database::TestDatabase, test_server::Running};
use tokio::net::TcpListener;
use tonic::{service::interceptor::InterceptedService, transport::Channel};

pub const PASSWORD: &str = "correct horse battery";
const SECRET: &str = "task-tests-secret-long-enough-0123456789";

/// The auth service and one or more task services sharing one task database.
pub struct Stack {
    pub auth: Option<Running>,
    pub tasks: Running,
    auth_database: TestDatabase,
    pub task_database: TestDatabase,
    data_dir: PathBuf,
}

impl Stack {
    pub async fn start() -> Self {
        service_runtime::telemetry::init_for_tests();
        let auth_database = TestDatabase::create().await;
        let task_database = TestDatabase::create().await;
        let data_dir =
            std::env::temp_dir().join(format!("task-test-{}", uuid::Uuid::new_v4().simple()));
        let auth = start_auth(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            &auth_database,
            &data_dir,
        );
        let tasks = start_tasks(auth.addr, &task_database, &data_dir).await;
        Self {
            auth: Some(auth),
            tasks,
            auth_database,
            task_database,
            data_dir,
        }
    }

    pub fn auth_addr(&self) -> SocketAddr {
        self.auth.as_ref().expect("auth service is stopped").addr
    }

    /// Another task-service instance on the same database (a replica).
    pub async fn replica(&self) -> Running {
        start_tasks(self.auth_addr(), &self.task_database, &self.data_dir).await
    }

    pub async fn stop_auth(&mut self) -> SocketAddr {
        let auth = self.auth.take().expect("auth service already stopped");
        let addr = auth.addr;
        auth.stop().await;
        addr
    }

    /// Starts the auth service again on the address it had.
    pub async fn restart_auth(&mut self, addr: SocketAddr) {
        let listener = TcpListener::bind(addr).await.unwrap();
        self.auth = Some(start_auth(listener, &self.auth_database, &self.data_dir));
    }

    pub fn auth_client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(channel(self.auth_addr()))
    }

    /// Signs up and logs in a new user; returns a client acting as them.
    pub async fn user(&self, email: &str) -> User {
        let mut auth = self.auth_client();
        auth.sign_up(SignUpRequest {
            email: email.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
        let login = auth
            .login(LoginRequest {
                email: email.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap()
            .into_inner();
        User {
            token: login.access_token,
            addr: self.tasks.addr,
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn start_auth(
    listener: TcpListener,
    database: &TestDatabase,
    data_dir: &std::path::Path,
) -> Running {
    let mut config = auth_service::Config::new(data_dir.join("auth"), Some(database.url.clone()));
    config.jwt_secret = Some(SECRET.into());
    // Tests log in often; one hash at a time per test keeps parallel tests fair.
    config.password_hash_concurrency = Some(1);
    Running::spawn(listener, |listener, stopped| {
        auth_service::serve(config, listener, async {
            let _ = stopped.await;
        })
    })
}

async fn start_tasks(
    auth: SocketAddr,
    database: &TestDatabase,
    data_dir: &std::path::Path,
) -> Running {
    let config = task_service::Config::new(
        data_dir.join("tasks"),
        Some(database.url.clone()),
        format!("http://{auth}"),
    );
    Running::spawn(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        |listener, stopped| {
            task_service::serve(config, listener, async {
                let _ = stopped.await;
            })
        },
    )
}

pub fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

pub type TaskClient = TaskServiceClient<InterceptedService<Channel, Bearer>>;

/// A signed-in user.
#[derive(Clone)]
pub struct User {
    pub token: String,
    pub addr: SocketAddr,
}

impl User {
    pub fn tasks(&self) -> TaskClient {
        TaskServiceClient::with_interceptor(channel(self.addr), Bearer(self.token.clone()))
    }

    /// The same user talking to another task-service instance.
    pub fn at(&self, addr: SocketAddr) -> User {
        User {
            token: self.token.clone(),
            addr,
        }
    }

    pub async fn create(&self, task: Task) -> Task {
        self.tasks()
            .create_task(CreateTaskRequest {
                task: Some(task),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap()
    }

    pub async fn create_titled(&self, title: &str) -> Task {
        self.create(Task {
            title: title.into(),
            ..Task::default()
        })
        .await
    }
}

/// Polls `check` until it returns `Some`, or panics after `limit`.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
