//! Login: the token response, one answer for unknown email and wrong
//! password, and throttling after repeated failures (also when parallel).

mod support;

use std::time::Duration;

use futures::future::join_all;
use support::{PASSWORD, TestAuth};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn login_returns_a_bearer_token_for_seven_days_and_a_refresh_token() {
    let auth = TestAuth::start().await;
    let login = auth.user("ada@example.com").await;
    assert_eq!(login.token_type, "bearer");
    assert_eq!(login.expires_in, 7 * 24 * 3600);
    assert_eq!(login.access_token.split('.').count(), 3, "not a JWT");
    assert!(
        login.refresh_token.len() >= 43,
        "refresh token has fewer than 256 bits"
    );
    assert_eq!(login.user.unwrap().email, "ada@example.com");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let auth = TestAuth::start().await;
    auth.user("ada@example.com").await;
    let wrong_password = auth
        .login("ada@example.com", "not the password")
        .await
        .unwrap_err();
    let unknown_email = auth
        .login("nobody@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(wrong_password.code(), Code::Unauthenticated);
    assert_eq!(unknown_email.code(), Code::Unauthenticated);
    assert_eq!(wrong_password.message(), unknown_email.message());
}

#[tokio::test]
async fn ten_failures_lock_the_email_even_for_the_right_password() {
    let auth = TestAuth::start().await;
    auth.user("ada@example.com").await;
    for attempt in 1..=10 {
        let error = auth
            .login("ada@example.com", "not the password")
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated, "attempt {attempt}");
    }
    let locked = auth.login("ada@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(locked.code(), Code::ResourceExhausted);
    assert!(
        locked.message().contains("try again in"),
        "{}",
        locked.message()
    );
    assert!(
        locked.message().contains("min"),
        "the wait is missing: {}",
        locked.message()
    );
    // Other accounts are not affected.
    auth.user("grace@example.com").await;
}

#[tokio::test]
async fn parallel_wrong_attempts_cannot_slip_past_the_limit() {
    // Room for all of them at once: this tests the counting, not the hashing queue.
    let auth = TestAuth::start_with(|config| {
        config.hash_max_concurrent_per_address = 64;
        config.hash_max_queued = 64;
    })
    .await;
    auth.user("ada@example.com").await;
    let attempts = (0..30).map(|_| auth.login("ada@example.com", "not the password"));
    let results = join_all(attempts).await;
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == Code::Unauthenticated))
        .count();
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == Code::ResourceExhausted))
        .count();
    assert_eq!(
        checked, 10,
        "exactly the limit may have their password checked"
    );
    assert_eq!(throttled, 20);
}

/// The window's end is tested with a hand-set clock beside `Accounts`; here
/// the settings reach the running service and the refusal says when to retry.
#[tokio::test]
async fn the_limit_and_window_are_configurable_and_the_refusal_says_when_to_retry() {
    let auth = TestAuth::start_with(|config| {
        config.login_max_failures = 2;
        config.login_failure_window = Duration::from_secs(90);
    })
    .await;
    auth.user("ada@example.com").await;
    for _ in 0..2 {
        auth.login("ada@example.com", "not the password")
            .await
            .unwrap_err();
    }
    let locked = auth.login("ada@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(locked.code(), Code::ResourceExhausted);
    let retry = locked
        .get_details_retry_info()
        .and_then(|retry| retry.retry_delay)
        .expect("RetryInfo with a delay");
    assert!(
        retry > Duration::from_secs(80) && retry <= Duration::from_secs(90),
        "{retry:?}"
    );
}
