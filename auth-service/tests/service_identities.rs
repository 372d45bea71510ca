//! Service identities: the internal listener (TokenService,
//! AccountEventService) under mutual TLS serves only clients whose
//! certificate the configured CA signed and whose identity is allowed; the
//! public listener stays plaintext and no longer serves TokenService.
//! Certificates are made as `todo-stack certs` makes them. (The real task
//! service calling through it is the stack's test: services meet only over
//! gRPC, so this crate's tests do not start the task service.)

mod support;

use std::{net::SocketAddr, time::Duration};

use proto::auth::v1::{ValidateTokenRequest, token_service_client::TokenServiceClient};
use service_runtime::dev_certificates::{DevCa, Issued, ServiceCertificates, TASKS_IDENTITY};
use support::{TestAuth, test_config};
use tempfile::TempDir;
use testkit::{TestDatabase, users::TestUsers};
use tonic::{
    Code,
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
};

/// The certificates of `todo-stack certs`, written to a directory of their own.
struct Certificates {
    set: ServiceCertificates,
    dir: TempDir,
}

impl Certificates {
    fn generate() -> Self {
        let set = ServiceCertificates::generate().unwrap();
        let dir = TempDir::new().unwrap();
        set.write_to(dir.path()).unwrap();
        Self { set, dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

/// The auth service with its internal listener under mutual TLS, serving
/// the task service's identity only.
async fn start_auth(certificates: &Certificates) -> TestAuth {
    let (cert, key, ca) = (
        certificates.path("auth.pem"),
        certificates.path("auth-key.pem"),
        certificates.path("ca.pem"),
    );
    TestAuth::start_with(|config| {
        config.internal_tls.internal_tls_cert = Some(cert);
        config.internal_tls.internal_tls_key = Some(key);
        config.internal_tls.internal_ca = Some(ca);
        config.internal_allowed_clients = vec![TASKS_IDENTITY.into()];
    })
    .await
}

/// A TokenService client to `addr` over TLS, trusting `ca`, presenting
/// `identity` when given, checking the server's certificate for `localhost`.
fn tokens_over_tls(
    addr: SocketAddr,
    ca: &Issued,
    identity: Option<&Issued>,
) -> TokenServiceClient<tonic::transport::Channel> {
    service_runtime::mutual_tls::install_crypto_provider();
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.certificate_pem))
        .domain_name("localhost");
    if let Some(identity) = identity {
        tls = tls.identity(Identity::from_pem(
            &identity.certificate_pem,
            &identity.key_pem,
        ));
    }
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy();
    TokenServiceClient::new(channel)
}

fn any_token() -> ValidateTokenRequest {
    ValidateTokenRequest {
        access_token: "not-a-token".into(),
    }
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let certificates = Certificates::generate();
    let auth = start_auth(&certificates).await;
    let ca = certificates.set.ca.own();
    let refused = tokens_over_tls(auth.internal_addr, ca, None)
        .validate_token(any_token())
        .await
        .unwrap_err();
    // The handshake fails; how that reaches the client varies (CANCELLED,
    // UNKNOWN, UNAVAILABLE), but the call never reaches the service.
    assert_ne!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert_ne!(refused.code(), Code::Ok, "{refused:?}");
    // Plaintext is no way round it.
    let plaintext = auth.tokens().validate_token(any_token()).await.unwrap_err();
    assert_ne!(plaintext.code(), Code::Unauthenticated, "{plaintext:?}");
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let certificates = Certificates::generate();
    let auth = start_auth(&certificates).await;
    // The right name, the wrong CA.
    let impostor = DevCa::new("another CA")
        .unwrap()
        .client(&[TASKS_IDENTITY])
        .unwrap();
    let refused = tokens_over_tls(
        auth.internal_addr,
        certificates.set.ca.own(),
        Some(&impostor),
    )
    .validate_token(any_token())
    .await
    .unwrap_err();
    assert_ne!(refused.code(), Code::Unauthenticated, "{refused:?}");
}

#[tokio::test]
async fn a_valid_certificate_whose_identity_is_not_allowed_gets_permission_denied() {
    let certificates = Certificates::generate();
    let auth = start_auth(&certificates).await;
    let gateway = certificates.set.ca.client(&["gateway"]).unwrap();
    let refused = tokens_over_tls(
        auth.internal_addr,
        certificates.set.ca.own(),
        Some(&gateway),
    )
    .validate_token(any_token())
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("gateway"), "{refused:?}");

    // The allowed identity is served: an invalid token is an answer, not a refusal.
    let answered = tokens_over_tls(
        auth.internal_addr,
        certificates.set.ca.own(),
        Some(&certificates.set.tasks),
    )
    .validate_token(any_token())
    .await
    .unwrap_err();
    assert_eq!(answered.code(), Code::Unauthenticated, "{answered:?}");
}

#[tokio::test]
async fn the_public_listener_stays_plaintext_and_serves_no_internal_service() {
    let certificates = Certificates::generate();
    let auth = start_auth(&certificates).await;
    // Sign-up and login over plaintext, as the gateway calls.
    let user = auth.auth().sign_up_and_log_in("bo@example.com").await;
    let public_tokens = TokenServiceClient::new(auth.channel())
        .validate_token(ValidateTokenRequest {
            access_token: user.access_token,
        })
        .await
        .unwrap_err();
    assert_eq!(
        public_tokens.code(),
        Code::Unimplemented,
        "{public_tokens:?}"
    );
}

#[tokio::test]
async fn incomplete_settings_stop_the_start_and_say_what_is_missing() {
    let certificates = Certificates::generate();
    let database = TestDatabase::create().await;
    let dir = TempDir::new().unwrap();
    let start = |adjust: &dyn Fn(&mut auth_service::Config)| {
        let mut config = test_config(dir.path(), &database.url);
        adjust(&mut config);
        async move {
            let listeners = auth_service::Listeners {
                public: testkit::listener().await,
                internal: testkit::listener().await,
            };
            auth_service::serve(config, listeners, std::future::pending())
                .await
                .unwrap_err()
                .chain()
        }
    };
    let error = start(&|config| {
        config.internal_tls.internal_tls_cert = Some(certificates.path("auth.pem"));
    })
    .await;
    assert!(
        error.contains("INTERNAL_TLS_KEY and INTERNAL_CA not set"),
        "{error}"
    );
    let error = start(&|config| {
        config.internal_tls.internal_tls_cert = Some(certificates.path("auth.pem"));
        config.internal_tls.internal_tls_key = Some(certificates.path("auth-key.pem"));
        config.internal_tls.internal_ca = Some(certificates.path("ca.pem"));
    })
    .await;
    assert!(
        error.contains("INTERNAL_ALLOWED_CLIENTS is empty"),
        "{error}"
    );
    let error = start(&|config| config.internal_allowed_clients = vec!["tasks".into()]).await;
    assert!(
        error.contains("INTERNAL_ALLOWED_CLIENTS needs mutual TLS"),
        "{error}"
    );
    // A key file is not a certificate, and says so without showing it.
    let error = start(&|config| {
        config.internal_tls.internal_tls_cert = Some(certificates.path("auth-key.pem"));
        config.internal_tls.internal_tls_key = Some(certificates.path("auth-key.pem"));
        config.internal_tls.internal_ca = Some(certificates.path("ca.pem"));
        config.internal_allowed_clients = vec!["tasks".into()];
    })
    .await;
    assert!(error.contains("holds no PEM certificate"), "{error}");
    assert!(!error.contains("PRIVATE KEY"), "{error}");
}
