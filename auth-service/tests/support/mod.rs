//! Starts the real auth service on 127.0.0.1:0 with a private database, and
//! gives tests generated gRPC clients for it.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{net::SocketAddr, path::PathBuf};

use auth_service::Config;
use proto::auth::v1::{
    LoginRequest, LoginResponse, SignUpRequest, auth_service_client::AuthServiceClient,
    token_service_client::TokenServiceClient,
};
use service_runtime::test_database::TestDatabase;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{Request, transport::Channel};

pub const SECRET: &str = "test-secret-that-is-long-enough-0123456789";
pub const PASSWORD: &str = "correct horse battery";

/// A running auth service and what it needs to stay up.
pub struct TestAuth {
    pub addr: SocketAddr,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), auth_service::Error>>>,
    _database: TestDatabase,
    _data_dir: TempDir,
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("auth-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The configuration tests start from: a fixed secret so tokens can be forged.
pub fn test_config(data_dir: PathBuf, database_url: String) -> Config {
    let mut config = Config::new(data_dir, Some(database_url));
    config.jwt_secret = Some(SECRET.into());
    config.jwt_secret_previous = None;
    config
}

impl TestAuth {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts the service with the test configuration changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        service_runtime::telemetry::init_for_tests();
        let database = TestDatabase::create().await;
        let data_dir = TempDir::new();
        let mut config = test_config(data_dir.0.clone(), database.url.clone());
        adjust(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(auth_service::serve(config.clone(), listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            config,
            stop: Some(stop),
            handle: Some(handle),
            _database: database,
            _data_dir: data_dir,
        }
    }

    pub fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_lazy()
    }

    pub fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel())
    }

    pub fn tokens(&self) -> TokenServiceClient<Channel> {
        TokenServiceClient::new(self.channel())
    }

    /// Signs up `email` with [`PASSWORD`] and logs in.
    pub async fn user(&self, email: &str) -> LoginResponse {
        let mut auth = self.auth();
        auth.sign_up(SignUpRequest {
            email: email.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
        self.login(email, PASSWORD).await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse, tonic::Status> {
        self.auth()
            .login(LoginRequest {
                email: email.into(),
                password: password.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Stops the service and waits until it has finished.
    pub async fn stop(mut self) -> Result<(), auth_service::Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.take().unwrap().await.unwrap()
    }
}

/// `request` with `authorization: Bearer <token>`.
pub fn bearer<T>(token: &str, request: T) -> Request<T> {
    let mut request = Request::new(request);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}
