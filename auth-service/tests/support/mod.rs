//! Starts the real auth service on 127.0.0.1:0 (both its listeners) with a
//! private database (the test kit's), and gives tests generated gRPC
//! clients for it: AuthService on the public listener, TokenService and
//! AccountEventService on the internal one.

#![allow(dead_code, unused_imports)] // each test binary uses a different part of this module

use std::{net::SocketAddr, path::Path};

use auth_service::{Config, Listeners};
use proto::auth::v1::{
    LoginResponse, account_event_service_client::AccountEventServiceClient,
    auth_service_client::AuthServiceClient, token_service_client::TokenServiceClient,
};
use tempfile::TempDir;
use testkit::{Running, TestDatabase, smtp::TestSmtp, users::TestUsers};
use tonic::{
    Code, Request, Status,
    transport::{Channel, Endpoint},
};
use tonic_types::StatusExt;

pub use testkit::users::PASSWORD;

/// The JWT secret of test services, so tests can forge tokens.
pub const SECRET: &str = "test-secret-that-is-long-enough-0123456789";

/// A running auth service and what it needs to stay up.
pub struct TestAuth {
    /// The public listener (AuthService).
    pub addr: SocketAddr,
    /// The internal listener (TokenService, AccountEventService).
    pub internal_addr: SocketAddr,
    pub config: Config,
    running: Running,
    _database: TestDatabase,
    _data_dir: TempDir,
}

/// The configuration tests start from: the defaults (not the environment),
/// a fixed secret, and the given storage.
pub fn test_config(data_dir: &Path, database_url: &str) -> Config {
    let mut config: Config = service_runtime::config::defaults();
    config.storage.data_dir = data_dir.to_owned();
    config.storage.database_url = Some(database_url.to_owned());
    config.jwt_secret = Some(SECRET.into());
    config
}

impl TestAuth {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts the service with the test configuration changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_on(
            TestDatabase::create().await,
            TempDir::new().unwrap(),
            adjust,
        )
        .await
    }

    /// Starts the service sending mail through a test SMTP server of its own.
    pub async fn start_mailing(adjust: impl FnOnce(&mut Config)) -> (Self, TestSmtp) {
        let smtp = TestSmtp::start().await;
        let url = smtp.url();
        let auth = Self::start_with(|config| {
            config.smtp_url = Some(url.into());
            adjust(config);
        })
        .await;
        (auth, smtp)
    }

    /// Starts the service on a given database and data directory.
    pub async fn start_on(
        database: TestDatabase,
        data_dir: TempDir,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        testkit::init_logging();
        let mut config = test_config(data_dir.path(), &database.url);
        adjust(&mut config);
        let (running, internal_addr) = spawn(config.clone()).await;
        Self {
            addr: running.addr,
            internal_addr,
            config,
            running,
            _database: database,
            _data_dir: data_dir,
        }
    }

    pub fn channel(&self) -> Channel {
        self.running.channel()
    }

    /// A channel to the internal listener.
    pub fn internal_channel(&self) -> Channel {
        testkit::channel(self.internal_addr)
    }

    pub fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel())
    }

    /// A client whose connection comes from `ip`: on Linux every 127.x.y.z
    /// address is the local host, so tests can play several client addresses.
    pub fn auth_from(&self, ip: &str) -> AuthServiceClient<Channel> {
        let endpoint = Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .local_address(Some(ip.parse().unwrap()));
        AuthServiceClient::new(endpoint.connect_lazy())
    }

    /// A client from `ip` whose user agent begins with `user_agent`, as a
    /// particular device would call.
    pub fn device(&self, ip: &str, user_agent: &'static str) -> AuthServiceClient<Channel> {
        let endpoint = Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .local_address(Some(ip.parse().unwrap()))
            .user_agent(user_agent)
            .unwrap();
        AuthServiceClient::new(endpoint.connect_lazy())
    }

    /// The rows of the throttle table, straight from the database.
    pub async fn throttle_rows(&self) -> i64 {
        self.count("SELECT COUNT(*) AS n FROM throttles", "").await
    }

    /// The messages waiting in the mail outbox, straight from the database.
    pub async fn outbox_rows(&self) -> i64 {
        self.count("SELECT COUNT(*) AS n FROM mail_outbox", "")
            .await
    }

    /// The outbox's messages that have had at least one failed delivery.
    pub async fn outbox_retries(&self) -> i64 {
        self.count(
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE attempts > 0",
            "",
        )
        .await
    }

    /// The count `query` (`SELECT COUNT(*) AS n …`, with `$1` bound to
    /// `value` when it has one) gives, straight from the database.
    pub async fn count(&self, query: &'static str, value: &str) -> i64 {
        let value = Some(value).filter(|value| !value.is_empty());
        self._database.scalar(query, value).await
    }

    pub fn account_events(&self) -> AccountEventServiceClient<Channel> {
        AccountEventServiceClient::new(self.internal_channel())
    }

    pub fn tokens(&self) -> TokenServiceClient<Channel> {
        TokenServiceClient::new(self.internal_channel())
    }

    /// Whether ValidateToken accepts `access_token` (as every service asks).
    pub async fn is_valid(&self, access_token: &str) -> bool {
        self.tokens()
            .validate_token(proto::auth::v1::ValidateTokenRequest {
                access_token: access_token.into(),
            })
            .await
            .is_ok()
    }

    /// Signs up `email` with [`PASSWORD`] and logs in.
    pub async fn user(&self, email: &str) -> LoginResponse {
        self.auth().sign_up_and_log_in(email).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse, tonic::Status> {
        self.auth().log_in(email, password).await
    }

    /// Stops the service, waits until it has finished, and hands back its
    /// database and data directory for a restart.
    pub async fn stop(self) -> (TestDatabase, TempDir) {
        self.running.stop().await;
        (self._database, self._data_dir)
    }
}

/// Starts the auth service with `config` on two fresh loopback listeners:
/// the server (its `addr` is the public listener's) and the internal
/// listener's address.
pub async fn spawn(config: Config) -> (Running, SocketAddr) {
    let internal = testkit::listener().await;
    let internal_addr = internal.local_addr().unwrap();
    let running = Running::spawn(testkit::listener().await, |public, stopped| {
        auth_service::serve(config, Listeners { public, internal }, async {
            let _ = stopped.await;
        })
    });
    (running, internal_addr)
}

/// `request` with `authorization: Bearer <token>`.
pub fn bearer<T>(token: &str, request: T) -> Request<T> {
    let mut request = Request::new(request);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// INVALID_ARGUMENT whose `BadRequest` names `field` alone.
pub fn assert_invalid(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, [field], "{status:?}");
}

/// RESOURCE_EXHAUSTED that says when to retry.
pub fn assert_throttled(status: &Status) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let retry = status
        .get_details_retry_info()
        .and_then(|retry| retry.retry_delay);
    assert!(
        retry.is_some_and(|delay| delay > std::time::Duration::ZERO),
        "{status:?}"
    );
}

/// A code of the right shape that is not `code`.
pub fn other_code(code: &str) -> String {
    let first = if code.starts_with('A') { 'B' } else { 'A' };
    format!("{first}{}", &code[1..])
}
