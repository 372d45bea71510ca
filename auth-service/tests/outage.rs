//! A database that goes away: calls answer UNAVAILABLE (not INTERNAL), health
//! says NOT_SERVING, and the service recovers by itself when it is back.
//! PostgreSQL only: the test shuts its database's doors to new connections.

mod support;

use std::time::{Duration, Instant};

use proto::auth::v1::SignUpRequest;
use sqlx::{Connection, Executor};
use support::{PASSWORD, TestAuth};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

async fn admin(sql: String) {
    let url = std::env::var("TEST_DATABASE_URL").unwrap();
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    connection.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
}

async fn health(auth: &TestAuth) -> ServingStatus {
    HealthClient::new(auth.channel())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_or(ServingStatus::Unknown, |response| {
            response.into_inner().status()
        })
}

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_database_outage_is_unavailable_and_the_service_recovers() {
    let url = std::env::var("TEST_DATABASE_URL").unwrap_or_default();
    if url.is_empty() {
        eprintln!("SQLite is a file inside the process: no outage to simulate");
        return;
    }
    sqlx::any::install_default_drivers();
    let auth = TestAuth::start().await;
    let database_url = auth.config.database_url.clone().unwrap();
    let name = database_url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    auth.user("ada@example.com").await;

    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    let sign_up = |email: &str| {
        let mut client = auth.auth();
        let request = SignUpRequest {
            email: email.into(),
            password: PASSWORD.into(),
        };
        async move { client.sign_up(request).await }
    };
    let error = sign_up("grace@example.com").await.unwrap_err();
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    until("health NOT_SERVING", || async {
        health(&auth).await == ServingStatus::NotServing
    })
    .await;

    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    until("sign-up working again", || async {
        sign_up("grace@example.com").await.is_ok()
    })
    .await;
    until("health SERVING", || async {
        health(&auth).await == ServingStatus::Serving
    })
    .await;
}
