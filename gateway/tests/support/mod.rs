//! Starts the real auth service, task service and gateway on 127.0.0.1:0
//! (each service with a private database), and makes clients that speak
//! native gRPC or grpc-web to the gateway.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{net::SocketAddr, path::PathBuf};

use http::Uri;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use proto::{
    auth::v1::{LoginRequest, SignUpRequest, auth_service_client::AuthServiceClient},
    task::v1::task_service_client::TaskServiceClient,
};
pub use service_runtime::test_server::Bearer;
use service_runtime::{test_database::TestDatabase, test_server::Running};
use tokio::net::TcpListener;
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};
use tower::Layer;

pub const PASSWORD: &str = "correct horse battery";

/// The three parts, wired as in production: the gateway forwards to the services.
pub struct Stack {
    pub auth: Running,
    pub tasks: Option<Running>,
    pub gateway: Running,
    task_database: TestDatabase,
    _auth_database: TestDatabase,
    data_dir: PathBuf,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut gateway::Config)) -> Self {
        service_runtime::telemetry::init_for_tests();
        let auth_database = TestDatabase::create().await;
        let task_database = TestDatabase::create().await;
        let data_dir =
            std::env::temp_dir().join(format!("gateway-test-{}", uuid::Uuid::new_v4().simple()));
        let mut auth_config =
            auth_service::Config::new(data_dir.join("auth"), Some(auth_database.url.clone()));
        auth_config.jwt_secret = Some("gateway-tests-secret-long-enough-0123456789".into());
        let auth = Running::spawn(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            |listener, stopped| {
                auth_service::serve(auth_config, listener, async {
                    let _ = stopped.await;
                })
            },
        );
        let tasks = start_tasks(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            auth.addr,
            &task_database,
            &data_dir,
        );
        let mut config = gateway::Config::new(
            vec![format!("http://{}", auth.addr)],
            vec![format!("http://{}", tasks.addr)],
        );
        config.web_dir = data_dir.join("no-web-build-here");
        config.allowed_origins = vec!["https://app.example.com".into()];
        adjust(&mut config);
        let gateway = Running::spawn(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            |listener, stopped| {
                gateway::serve(config, listener, async {
                    let _ = stopped.await;
                })
            },
        );
        Self {
            auth,
            tasks: Some(tasks),
            gateway,
            task_database,
            _auth_database: auth_database,
            data_dir,
        }
    }

    pub async fn stop_tasks(&mut self) -> SocketAddr {
        let tasks = self.tasks.take().expect("task service already stopped");
        let addr = tasks.addr;
        tasks.stop().await;
        addr
    }

    pub async fn restart_tasks(&mut self, addr: SocketAddr) {
        let listener = TcpListener::bind(addr).await.unwrap();
        self.tasks = Some(start_tasks(
            listener,
            self.auth.addr,
            &self.task_database,
            &self.data_dir,
        ));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.gateway.addr)
    }

    /// A native gRPC (HTTP/2) channel to the gateway.
    pub fn grpc(&self) -> Channel {
        Channel::from_shared(self.url()).unwrap().connect_lazy()
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

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn start_tasks(
    listener: TcpListener,
    auth: SocketAddr,
    database: &TestDatabase,
    data_dir: &std::path::Path,
) -> Running {
    let config = task_service::Config::new(
        data_dir.join("tasks"),
        Some(database.url.clone()),
        format!("http://{auth}"),
    );
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
        let service = InterceptedService::new(self.service.clone(), Bearer(token.to_owned()));
        TaskServiceClient::with_origin(service, self.origin.clone())
    }
}

/// Signs `email` up and logs in through `auth`; returns the access token.
pub async fn sign_up_and_log_in<T>(auth: &mut AuthServiceClient<T>, email: &str) -> String
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    auth.sign_up(SignUpRequest {
        email: email.into(),
        password: PASSWORD.into(),
    })
    .await
    .unwrap();
    auth.login(LoginRequest {
        email: email.into(),
        password: PASSWORD.into(),
    })
    .await
    .unwrap()
    .into_inner()
    .access_token
}
