//! What the todo system's tests share, so each crate's tests hold only what
//! they test: a private database per test on either engine, real servers on
//! port 0, a fake `TokenService` and `AccountEventService` for testing the
//! task service without the auth service, a real SMTP server whose mail
//! tests read, signing users up, and polling with a deadline instead of
//! sleeping. A dev-dependency only; nothing here ships.

pub mod database;
pub mod fake_auth;
pub mod raw;
pub mod server;
pub mod smtp;
pub mod users;

use std::{
    future::Future,
    time::{Duration, Instant},
};

pub use database::TestDatabase;
pub use server::{Running, channel, listener, reflected_services, reflection_describes};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// Tests stay quiet unless `TEST_LOG` is set, so a failing test's own output
/// is what you read.
pub fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
}

/// Polls `check` until it returns `Some`, or panics after `limit` naming `what`.
pub async fn eventually<T, F: Future<Output = Option<T>>>(
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

/// What `grpc.health.v1.Health/Check` says of `service` on `channel`;
/// `Unknown` when the server does not answer.
pub async fn health(channel: Channel, service: &str) -> ServingStatus {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_or(ServingStatus::Unknown, |response| {
            response.into_inner().status()
        })
}
