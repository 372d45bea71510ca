//! Starts the real task service on 127.0.0.1:0 with a private database,
//! checking tokens with the test kit's fake `TokenService` (the real auth
//! service is the stack's tests' business), and makes users with tokens.

#![allow(dead_code, unused_imports)] // each test binary uses a different part of this module

use std::net::SocketAddr;

use proto::task::v1::{CreateTaskRequest, Task, task_service_client::TaskServiceClient};
use service_runtime::bearer::BearerInterceptor;
use testkit::{Running, TestDatabase, fake_auth::FakeAuth};
use tokio::net::TcpListener;
use tonic::{service::interceptor::InterceptedService, transport::Channel};

pub use testkit::{channel, eventually};

/// The task service (and possibly replicas sharing its database) and the fake auth service.
pub struct Stack {
    pub auth: FakeAuth,
    auth_server: Option<Running>,
    pub tasks: Running,
    pub task_database: TestDatabase,
    /// Settings changed from the defaults, for replicas too.
    configure: fn(&mut task_service::Config),
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_on(TestDatabase::create().await).await
    }

    pub async fn start_on(task_database: TestDatabase) -> Self {
        Self::start_configured(task_database, |_| {}).await
    }

    /// The stack with some settings of the task service changed.
    pub async fn start_configured(
        task_database: TestDatabase,
        configure: fn(&mut task_service::Config),
    ) -> Self {
        testkit::init_logging();
        let auth = FakeAuth::new();
        let auth_server = auth.spawn().await;
        let tasks = start_tasks(auth_server.addr, &task_database, configure).await;
        Self {
            auth,
            auth_server: Some(auth_server),
            tasks,
            task_database,
            configure,
        }
    }

    fn auth_addr(&self) -> SocketAddr {
        self.auth_server
            .as_ref()
            .expect("the auth service is stopped")
            .addr
    }

    /// Another task-service instance on the same database (a replica).
    pub async fn replica(&self) -> Running {
        start_tasks(self.auth_addr(), &self.task_database, self.configure).await
    }

    /// Stops the auth service; returns the address it had.
    pub async fn stop_auth(&mut self) -> SocketAddr {
        let server = self
            .auth_server
            .take()
            .expect("auth service already stopped");
        let addr = server.addr;
        server.stop().await;
        addr
    }

    /// Starts the auth service again on the address it had.
    pub async fn restart_auth(&mut self, addr: SocketAddr) {
        let listener = TcpListener::bind(addr).await.unwrap();
        self.auth_server = Some(self.auth.spawn_on(listener));
    }

    /// A new user with a session; `_who` only names them in the test.
    pub async fn user(&self, _who: &str) -> User {
        User {
            token: self.auth.new_user(),
            addr: self.tasks.addr,
        }
    }

    /// Ends `user`'s session, as their logout does.
    pub fn log_out(&self, user: &User) {
        self.auth.revoke(&user.token);
    }
}

/// How many tasks `user_id` has, straight from the database.
pub async fn stored_tasks(database: &TestDatabase, user_id: &str) -> i64 {
    database
        .scalar(
            "SELECT COUNT(*) AS n FROM tasks WHERE user_id = $1",
            Some(user_id),
        )
        .await
}

/// The sequence of the last account event the task service has handled.
pub async fn account_event_cursor(database: &TestDatabase) -> i64 {
    database
        .scalar(
            "SELECT sequence AS n FROM account_event_cursor WHERE id = 1",
            None,
        )
        .await
}

/// A task service checking tokens with the auth service at `auth`, on `database`.
pub async fn start_tasks(
    auth: SocketAddr,
    database: &TestDatabase,
    configure: fn(&mut task_service::Config),
) -> Running {
    let mut config: task_service::Config = service_runtime::config::defaults();
    config.storage.database_url = Some(database.url.clone());
    config.auth_url = vec![format!("http://{auth}")];
    configure(&mut config);
    Running::spawn(testkit::listener().await, |listener, stopped| {
        task_service::serve(config, listener, async {
            let _ = stopped.await;
        })
    })
}

pub type TaskClient = TaskServiceClient<InterceptedService<Channel, BearerInterceptor>>;

/// A signed-in user.
#[derive(Clone)]
pub struct User {
    pub token: String,
    pub addr: SocketAddr,
}

impl User {
    pub fn tasks(&self) -> TaskClient {
        TaskServiceClient::with_interceptor(channel(self.addr), BearerInterceptor::new(&self.token))
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
