//! Start-up: the JWT secret rules, the generated development secret, health
//! and reflection, and stopping with calls in flight.

mod support;

use std::time::Duration;

use proto::auth::v1::ValidateTokenRequest;
use support::{TempDir, TestAuth, test_config};
use tokio::net::TcpListener;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

#[tokio::test]
async fn a_short_jwt_secret_refuses_to_start_and_says_why() {
    let database = service_runtime::test_database::TestDatabase::create().await;
    let dir = TempDir::new();
    let mut config = test_config(dir.0.clone(), database.url.clone());
    config.jwt_secret = Some("too-short".into());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = auth_service::serve(config, listener, std::future::pending())
        .await
        .unwrap_err();
    let message = error.to_string();
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
    let database = service_runtime::test_database::TestDatabase::create().await;
    let dir = TempDir::new();
    let start = || {
        let mut config = test_config(dir.0.clone(), database.url.clone());
        config.jwt_secret = None;
        config
    };
    let first = TestAuth::start_with(|config| *config = start()).await;
    let login = first.user("ada@example.com").await;
    first.stop().await.unwrap();

    let secret_file = dir.0.join("jwt-secret");
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
    let second = TestAuth::start_with(|config| *config = start()).await;
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
    let mut health = HealthClient::new(auth.channel());
    for service in ["", "todo.auth.v1.AuthService", "todo.auth.v1.TokenService"] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let status = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .map(|response| response.into_inner().status());
            if matches!(status, Ok(ServingStatus::Serving)) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{service:?} never became SERVING: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let names = service_runtime::test_server::reflected_services(auth.channel()).await;
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "todo.auth.v1.AuthService",
            "todo.auth.v1.TokenService",
        ]
    );
}
