//! Starts the three parts wired as in production (the real auth service, the
//! real task service, each with a private database, and the gateway in front
//! of them), and makes clients that speak native gRPC or grpc-web to the
//! gateway. The one place that starts all three, for journeys across them.

#![allow(dead_code, unused_imports)] // each test binary uses a different part of this module

use http::Uri;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use proto::{
    auth::v1::auth_service_client::AuthServiceClient,
    task::v1::task_service_client::TaskServiceClient,
};
use tempfile::TempDir;
use testkit::{Running, TestDatabase};
use tokio::net::TcpListener;
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};
use tower::Layer;

pub use service_runtime::bearer::BearerInterceptor as Bearer;
pub use testkit::users::{PASSWORD, TestUsers};

/// The gateway in front of one auth and one task service.
pub struct Stack {
    /// The auth service; its `addr` is the public listener's.
    pub auth: Running,
    /// The auth service's internal listener, which the task service calls.
    pub auth_internal: std::net::SocketAddr,
    pub tasks: Option<Running>,
    pub gateway: Running,
    task_database: TestDatabase,
    _auth_database: TestDatabase,
    data_dir: TempDir,
    /// Settings of the task service changed from the defaults, for restarts too.
    configure_tasks: fn(&mut task_service::Config),
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts the stack with the gateway's configuration changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut gateway::FrontArgs)) -> Self {
        Self::start_configured(adjust, |_| {}).await
    }

    /// Starts the stack with the gateway's and the task service's
    /// configurations changed by `adjust` and `configure_tasks`.
    pub async fn start_configured(
        adjust: impl FnOnce(&mut gateway::FrontArgs),
        configure_tasks: fn(&mut task_service::Config),
    ) -> Self {
        testkit::init_logging();
        let auth_database = TestDatabase::create().await;
        let task_database = TestDatabase::create().await;
        let data_dir = TempDir::new().unwrap();
        let mut auth_config: auth_service::Config = service_runtime::config::defaults();
        auth_config.storage.data_dir = data_dir.path().join("auth");
        auth_config.storage.database_url = Some(auth_database.url.clone());
        auth_config.jwt_secret = Some("stack-tests-secret-long-enough-0123456789".into());
        // Tests log in often; one hash at a time per test keeps parallel tests fair.
        auth_config.password_hash_concurrency = Some(1);
        let internal = testkit::listener().await;
        let auth_internal = internal.local_addr().unwrap();
        let auth = Running::spawn(testkit::listener().await, |public, stopped| {
            let listeners = auth_service::Listeners { public, internal };
            auth_service::serve(auth_config, listeners, async {
                let _ = stopped.await;
            })
        });
        let tasks = start_tasks(
            testkit::listener().await,
            auth_internal,
            &task_database,
            configure_tasks,
        );
        let mut config: gateway::Config = service_runtime::config::defaults();
        config.auth_upstreams = vec![format!("http://{}", auth.addr)];
        config.task_upstreams = vec![format!("http://{}", tasks.addr)];
        config.front.web_dir = data_dir.path().join("no-web-build-here");
        config.front.allowed_origins = vec!["https://app.example.com".into()];
        adjust(&mut config.front);
        let gateway = Running::spawn(testkit::listener().await, |listener, stopped| {
            gateway::serve(config, listener, async {
                let _ = stopped.await;
            })
        });
        Self {
            auth,
            auth_internal,
            tasks: Some(tasks),
            gateway,
            task_database,
            _auth_database: auth_database,
            data_dir,
            configure_tasks,
        }
    }

    /// Stops the task service; returns the address it had.
    pub async fn stop_tasks(&mut self) -> std::net::SocketAddr {
        let tasks = self.tasks.take().expect("task service already stopped");
        let addr = tasks.addr;
        tasks.stop().await;
        addr
    }

    /// Starts the task service again on the address it had.
    pub async fn restart_tasks(&mut self, addr: std::net::SocketAddr) {
        let listener = TcpListener::bind(addr).await.unwrap();
        self.tasks = Some(start_tasks(
            listener,
            self.auth_internal,
            &self.task_database,
            self.configure_tasks,
        ));
    }

    /// How many tasks `user_id` has, straight from the task database (a
    /// deleted user can no longer ask the service).
    pub async fn stored_tasks(&self, user_id: &str) -> i64 {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(&self.task_database.url)
            .await
            .unwrap();
        let count = sqlx::query("SELECT COUNT(*) AS n FROM tasks WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_one(&mut connection)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        let _ = connection.close().await;
        count
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.gateway.addr)
    }

    /// A native gRPC (HTTP/2) channel to the gateway.
    pub fn grpc(&self) -> Channel {
        self.gateway.channel()
    }

    /// A grpc-web (HTTP/1.1) client to the gateway, as a browser would talk.
    pub fn grpc_web(&self) -> GrpcWeb {
        let client = Client::builder(TokioExecutor::new()).build_http();
        GrpcWeb {
            service: GrpcWebClientLayer::new().layer(client),
            origin: self.url().parse().unwrap(),
        }
    }
}

fn start_tasks(
    listener: TcpListener,
    auth: std::net::SocketAddr,
    database: &TestDatabase,
    configure: fn(&mut task_service::Config),
) -> Running {
    let mut config: task_service::Config = service_runtime::config::defaults();
    config.storage.database_url = Some(database.url.clone());
    config.auth_url = vec![format!("http://{auth}")];
    configure(&mut config);
    Running::spawn(listener, |listener, stopped| {
        task_service::serve(config, listener, async {
            let _ = stopped.await;
        })
    })
}

type WebService = GrpcWebClientService<
    Client<hyper_util::client::legacy::connect::HttpConnector, GrpcWebCall<tonic::body::Body>>,
>;

/// A grpc-web transport; the generated clients run over it.
#[derive(Clone)]
pub struct GrpcWeb {
    service: WebService,
    origin: Uri,
}

impl GrpcWeb {
    pub fn auth(&self) -> AuthServiceClient<WebService> {
        AuthServiceClient::with_origin(self.service.clone(), self.origin.clone())
    }

    pub fn tasks(&self, token: &str) -> TaskServiceClient<InterceptedService<WebService, Bearer>> {
        let service = InterceptedService::new(self.service.clone(), Bearer::new(token));
        TaskServiceClient::with_origin(service, self.origin.clone())
    }
}
