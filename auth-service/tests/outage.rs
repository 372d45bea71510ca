//! A database that goes away: calls answer UNAVAILABLE (not INTERNAL), health
//! says NOT_SERVING, and the service recovers by itself when it is back.
//! PostgreSQL only (SQLite is a file inside the process): the test shuts its
//! database's doors to new connections. CI runs it in its PostgreSQL pass.

mod support;

use std::time::Duration;

use proto::auth::v1::SignUpRequest;
use sqlx::{Connection, Executor};
use support::{PASSWORD, TestAuth};
use testkit::{TestDatabase, eventually};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

async fn admin(sql: String) {
    let url = std::env::var("TEST_DATABASE_URL").unwrap();
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    connection.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
}

const OUTAGE_LIMIT: Duration = Duration::from_secs(15);

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
async fn a_database_outage_is_unavailable_and_the_service_recovers() {
    sqlx::any::install_default_drivers();
    let auth = TestAuth::start_on(
        TestDatabase::postgres().await,
        tempfile::TempDir::new().unwrap(),
        |_| {},
    )
    .await;
    let database_url = auth.config.storage.database_url.clone().unwrap();
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
    eventually(OUTAGE_LIMIT, "health NOT_SERVING", || async {
        (testkit::health(auth.channel(), "").await == ServingStatus::NotServing).then_some(())
    })
    .await;

    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    eventually(OUTAGE_LIMIT, "sign-up working again", || async {
        sign_up("grace@example.com").await.ok()
    })
    .await;
    eventually(OUTAGE_LIMIT, "health SERVING", || async {
        (testkit::health(auth.channel(), "").await == ServingStatus::Serving).then_some(())
    })
    .await;
}
