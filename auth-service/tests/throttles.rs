//! Throttles attacked from several client addresses (127.0.0.x, all local on
//! Linux): an attacker locks out only itself, spraying and floods are cut
//! off at their address, sign-ups and ChangePassword are limited, a spoofed
//! `x-forwarded-for` changes nothing, and malformed emails store nothing.

mod support;

use std::time::Duration;

use futures::future::join_all;
use proto::auth::v1::{ChangePasswordRequest, LoginRequest, SignUpRequest};
use support::{PASSWORD, TestAuth, bearer};
use testkit::users::TestUsers;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

const OWNER: &str = "ada@example.com";

/// RESOURCE_EXHAUSTED that says when to retry.
fn assert_throttled(status: &Status) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let retry = status
        .get_details_retry_info()
        .and_then(|retry| retry.retry_delay);
    assert!(
        retry.is_some_and(|delay| delay > Duration::ZERO),
        "{status:?}"
    );
}

fn login_spoofing(email: &str, password: &str, forwarded_for: &str) -> Request<LoginRequest> {
    let mut request = Request::new(LoginRequest {
        email: email.into(),
        password: password.into(),
    });
    request
        .metadata_mut()
        .insert("x-forwarded-for", forwarded_for.parse().unwrap());
    request
}

#[tokio::test]
async fn an_attacker_locks_out_only_its_own_address_and_the_owner_signs_in() {
    let auth = TestAuth::start().await;
    auth.user(OWNER).await;
    let mut attacker = auth.auth_from("127.0.0.2");
    for attempt in 1..=10 {
        let error = attacker
            .log_in(OWNER, "not the password")
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated, "attempt {attempt}");
    }
    let refused = attacker.log_in(OWNER, PASSWORD).await.unwrap_err();
    assert_throttled(&refused);
    assert!(
        refused.message().contains("from your address"),
        "{refused:?}"
    );
    // The owner, from home, is not affected, and neither is another address.
    auth.auth_from("127.0.0.3")
        .log_in(OWNER, PASSWORD)
        .await
        .expect("the owner signs in from their own address");
    auth.login(OWNER, PASSWORD).await.expect("and from another");
}

#[tokio::test]
async fn password_spraying_across_emails_is_stopped_at_its_address() {
    let auth = TestAuth::start_with(|config| config.login_max_failures_per_address = 5).await;
    auth.user(OWNER).await;
    let mut sprayer = auth.auth_from("127.0.0.4");
    for victim in 0..5 {
        let error = sprayer
            .log_in(&format!("victim{victim}@example.com"), "Summer2026!")
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated);
    }
    assert_throttled(&sprayer.log_in(OWNER, "Summer2026!").await.unwrap_err());
    assert_throttled(
        &sprayer
            .log_in("victim9@example.com", "x")
            .await
            .unwrap_err(),
    );
    auth.auth_from("127.0.0.5")
        .log_in(OWNER, PASSWORD)
        .await
        .expect("other addresses are not affected");
}

#[tokio::test]
async fn parallel_spraying_cannot_slip_past_the_address_limit() {
    let auth = TestAuth::start_with(|config| {
        config.login_max_failures_per_address = 10;
        config.hash_max_concurrent_per_address = 64;
        config.hash_max_queued = 64;
    })
    .await;
    let sprayer = auth.auth_from("127.0.0.6");
    let attempts = (0..30).map(|victim| {
        let mut sprayer = sprayer.clone();
        async move {
            sprayer
                .log_in(&format!("victim{victim}@example.com"), "Summer2026!")
                .await
        }
    });
    let results = join_all(attempts).await;
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == Code::Unauthenticated))
        .count();
    assert_eq!(checked, 10, "exactly the limit may be checked");
}

#[tokio::test]
async fn a_login_flood_from_one_address_does_not_hold_up_another() {
    let auth = TestAuth::start().await;
    auth.user(OWNER).await;
    let flooder = auth.auth_from("127.0.0.7");
    let flood = tokio::spawn(join_all((0..300).map(move |_| {
        let mut flooder = flooder.clone();
        async move { flooder.log_in(OWNER, "not the password").await }
    })));
    let mut owner = auth.auth_from("127.0.0.8");
    tokio::time::timeout(Duration::from_secs(2), owner.log_in(OWNER, PASSWORD))
        .await
        .expect("the owner's login finishes within 2 s during the flood")
        .expect("and succeeds");
    let results = flood.await.unwrap();
    let refused = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| e.code() == Code::ResourceExhausted)
        .inspect(|e| assert_throttled(e))
        .count();
    assert!(
        refused >= 250,
        "most of the flood is refused at once: {refused}"
    );
}

#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    let auth = TestAuth::start_with(|config| config.signup_max_per_address = 3).await;
    let mut bot = auth.auth_from("127.0.0.9");
    let sign_up = |n: u32| SignUpRequest {
        email: format!("bot{n}@example.com"),
        password: PASSWORD.into(),
    };
    for n in 0..3 {
        bot.sign_up(sign_up(n)).await.expect("within the limit");
    }
    let refused = bot.sign_up(sign_up(3)).await.unwrap_err();
    assert_throttled(&refused);
    assert!(refused.message().contains("sign-ups"), "{refused:?}");
    auth.auth_from("127.0.0.10")
        .sign_up(sign_up(4))
        .await
        .expect("another address may sign up");
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_per_user() {
    let auth = TestAuth::start_with(|config| config.login_max_failures = 2).await;
    let token = auth.user(OWNER).await.access_token;
    let change = |current: &str| {
        bearer(
            &token,
            ChangePasswordRequest {
                current_password: current.into(),
                new_password: "a brand new passphrase".into(),
            },
        )
    };
    for _ in 0..2 {
        let error = auth
            .auth()
            .change_password(change("not the password"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
    }
    // Even the right password now waits, from any address.
    assert_throttled(
        &auth
            .auth_from("127.0.0.11")
            .change_password(change(PASSWORD))
            .await
            .unwrap_err(),
    );
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let auth = TestAuth::start().await;
    auth.user(OWNER).await;
    let mut attacker = auth.auth_from("127.0.0.12");
    for n in 0..10 {
        let claimed = format!("198.51.100.{n}");
        let error = attacker
            .login(login_spoofing(OWNER, "not the password", &claimed))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated);
    }
    // A fresh claimed address does not buy fresh attempts...
    let refused = attacker
        .login(login_spoofing(OWNER, PASSWORD, "203.0.113.77"))
        .await
        .unwrap_err();
    assert_throttled(&refused);
    // ...and claiming the owner's address does not lock the owner out.
    auth.auth_from("127.0.0.13")
        .log_in(OWNER, PASSWORD)
        .await
        .expect("the owner signs in");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let auth = TestAuth::start_with(|config| {
        config.server.trusted_proxies = "127.0.0.14/32".parse().unwrap();
        config.login_max_failures = 2;
    })
    .await;
    auth.user(OWNER).await;
    let mut gateway = auth.auth_from("127.0.0.14");
    for _ in 0..2 {
        gateway
            .login(login_spoofing(
                OWNER,
                "not the password",
                "6.6.6.6, 198.51.100.1",
            ))
            .await
            .unwrap_err();
    }
    assert_throttled(
        &gateway
            .login(login_spoofing(OWNER, PASSWORD, "198.51.100.1"))
            .await
            .unwrap_err(),
    );
    // Another client behind the same proxy is counted apart.
    gateway
        .login(login_spoofing(OWNER, PASSWORD, "6.6.6.6, 198.51.100.2"))
        .await
        .expect("a different client behind the proxy");
}

#[tokio::test]
async fn malformed_emails_are_refused_and_store_nothing() {
    let auth = TestAuth::start().await;
    auth.user(OWNER).await;
    let before = auth.throttle_rows().await;
    let long = format!("{}@example.com", "a".repeat(300));
    for (n, bad) in ["", "not an email", "a@b", "@example.com", long.as_str()]
        .iter()
        .enumerate()
    {
        let error = auth
            .auth_from("127.0.0.15")
            .log_in(bad, "not the password")
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{n}: {error:?}");
        let fields: Vec<_> = error
            .get_details_bad_request()
            .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["email"], "{error:?}");
    }
    assert_eq!(auth.throttle_rows().await, before);
}
