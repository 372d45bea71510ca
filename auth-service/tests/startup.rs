//! Start-up: the JWT secret rules, the generated development secret, health
//! and reflection, and stopping with calls in flight.

mod support;

use std::time::Duration;

use proto::auth::v1::ValidateTokenRequest;
use support::{TestAuth, test_config};
use tempfile::TempDir;
use testkit::{TestDatabase, eventually};
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn a_short_jwt_secret_refuses_to_start_and_says_why() {
    let database = TestDatabase::create().await;
    let dir = TempDir::new().unwrap();
    let mut config = test_config(dir.path(), &database.url);
    config.jwt_secret = Some("too-short".into());
    let listeners = auth_service::Listeners {
        public: testkit::listener().await,
        internal: testkit::listener().await,
    };
    let error = auth_service::serve(config, listeners, std::future::pending())
        .await
        .unwrap_err();
    let message = error.chain();
    assert!(
        message.contains("JWT_SECRET must be at least 32 bytes"),
        "{message}"
    );
    assert!(
        !message.contains("too-short"),
        "the secret itself must never be shown"
    );
}

#[tokio::test]
async fn without_jwt_secret_a_private_secret_is_generated_and_kept() {
    let no_secret = |config: &mut auth_service::Config| config.jwt_secret = None;
    let first = TestAuth::start_on(
        TestDatabase::create().await,
        TempDir::new().unwrap(),
        no_secret,
    )
    .await;
    let login = first.user("ada@example.com").await;
    let (database, dir) = first.stop().await;

    let secret_file = dir.path().join("jwt-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret file must be private");
    }
    assert!(std::fs::read_to_string(&secret_file).unwrap().len() >= 32);

    // A restart reuses the secret: the token issued before is still valid.
    let second = TestAuth::start_on(database, dir, no_secret).await;
    second
        .tokens()
        .validate_token(ValidateTokenRequest {
            access_token: login.access_token,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn health_reports_serving_and_reflection_lists_the_services() {
    let auth = TestAuth::start().await;
    let public = || auth.channel();
    let internal = || auth.internal_channel();
    for (channel, service) in [
        (public(), ""),
        (public(), "todo.auth.v1.AuthService"),
        (internal(), ""),
        (internal(), "todo.auth.v1.TokenService"),
        (internal(), "todo.auth.v1.AccountEventService"),
    ] {
        eventually(
            Duration::from_secs(5),
            &format!("{service:?} SERVING"),
            || async {
                (testkit::health(channel.clone(), service).await == ServingStatus::Serving)
                    .then_some(())
            },
        )
        .await;
    }
    // Each listener knows only its own services.
    assert_eq!(
        testkit::health(public(), "todo.auth.v1.TokenService").await,
        ServingStatus::Unknown
    );
    assert_eq!(
        testkit::health(internal(), "todo.auth.v1.AuthService").await,
        ServingStatus::Unknown
    );

    let common = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    let listed = |extra: &[&str]| {
        let mut names: Vec<String> = common
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        testkit::reflected_services(public()).await,
        listed(&["todo.auth.v1.AuthService"])
    );
    assert_eq!(
        testkit::reflected_services(internal()).await,
        listed(&[
            "todo.auth.v1.AccountEventService",
            "todo.auth.v1.TokenService"
        ])
    );
}

/// PostgreSQL only: there sqlx's migrator holds an advisory lock, so one
/// replica migrates while the others wait. A SQLite file belongs to one
/// process; replicas are a PostgreSQL shape.
#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL): replicas share a PostgreSQL database"]
async fn replicas_starting_together_on_a_new_database_migrate_it_once() {
    let database = TestDatabase::postgres().await;
    let dir = TempDir::new().unwrap();
    let config = test_config(dir.path(), &database.url);
    // Four replicas at the same moment, as a Deployment's pods start.
    let mut replicas = Vec::new();
    for _ in 0..4 {
        let config = config.clone();
        replicas.push(support::spawn(config).await.0);
    }
    for replica in &replicas {
        eventually(Duration::from_secs(30), "every replica serving", || async {
            (testkit::health(replica.channel(), "").await == ServingStatus::Serving).then_some(())
        })
        .await;
    }
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|entry| {
            entry.as_ref().unwrap().path().extension() == Some(std::ffi::OsStr::new("sql"))
        })
        .count();
    assert_eq!(
        database
            .scalar("SELECT COUNT(*) AS n FROM _sqlx_migrations", None)
            .await,
        i64::try_from(migrations).unwrap(),
        "each migration applied once"
    );
    for replica in replicas {
        replica.stop().await;
    }
}
