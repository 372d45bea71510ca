//! Password reset through a real mail server (aiosmtpd): the code from the
//! mail sets a new password, verifies the email and ends every session; an
//! unknown email gets the same answer and no mail; a code works once, only
//! the latest works, five tries spend it (in parallel too), and the new
//! password follows the sign-up rules. That a code expires is tested with a
//! hand-set clock beside `Accounts` (src/accounts/mail_codes.rs).

mod support;

use futures::future::join_all;
use std::time::Duration;

use proto::auth::v1::{
    ListSecurityEventsRequest, RefreshRequest, RequestPasswordResetRequest, ResetPasswordRequest,
    SecurityEvent, VerifyEmailRequest, auth_service_client::AuthServiceClient,
    security_event::Kind,
};
use support::{PASSWORD, TestAuth, assert_invalid, bearer, other_code};
use tonic::{Code, Status, transport::Channel};

const ADA: &str = "ada@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn request_reset(client: &mut AuthServiceClient<Channel>, email: &str) -> Result<(), Status> {
    client
        .request_password_reset(RequestPasswordResetRequest {
            email: email.into(),
        })
        .await
        .map(drop)
}

async fn reset(
    client: &mut AuthServiceClient<Channel>,
    code: &str,
    new_password: &str,
) -> Result<(), Status> {
    client
        .reset_password(ResetPasswordRequest {
            email: ADA.into(),
            code: code.into(),
            new_password: new_password.into(),
        })
        .await
        .map(drop)
}

#[tokio::test]
async fn the_mailed_code_resets_the_password_verifies_the_email_and_ends_every_session() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    let laptop = auth.user(ADA).await;
    assert!(!laptop.user.as_ref().unwrap().email_verified);
    let phone = auth.login(ADA, PASSWORD).await.unwrap();

    // Asked as a person types it; the account's own address gets the mail.
    request_reset(&mut auth.auth(), "  Ada@Example.com ")
        .await
        .unwrap();
    let mail = smtp.wait_for_nth(ADA, 2).await; // the first is the sign-up's
    assert_eq!(mail.subject, "Reset your Todo password");
    let code = mail.code();
    assert!(
        mail.text.contains(&format!(
            "http://127.0.0.1:8080/#/reset?email=ada%40example.com&code={code}"
        )),
        "{}",
        mail.text
    );
    assert!(mail.raw.contains("text/html"), "{}", mail.raw);
    assert!(mail.html.contains(&code), "{}", mail.html);

    reset(&mut auth.auth(), &code, NEW_PASSWORD).await.unwrap();
    for token in [&laptop.access_token, &phone.access_token] {
        assert!(!auth.is_valid(token).await, "every session ends");
    }
    let refreshed = auth
        .auth()
        .refresh(RefreshRequest {
            refresh_token: phone.refresh_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refreshed.code(), Code::Unauthenticated);
    let old = auth.login(ADA, PASSWORD).await.unwrap_err();
    assert_eq!(old.code(), Code::Unauthenticated);
    let signed_in = auth.login(ADA, NEW_PASSWORD).await.unwrap();
    assert!(
        signed_in.user.unwrap().email_verified,
        "the code came through the mailbox, so the email is verified"
    );
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_and_no_mail() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.user(ADA).await;
    smtp.wait_for(ADA, 1).await;
    let unknown = auth
        .auth()
        .request_password_reset(RequestPasswordResetRequest {
            email: "nobody@example.com".into(),
        })
        .await
        .unwrap();
    let known = auth
        .auth()
        .request_password_reset(RequestPasswordResetRequest { email: ADA.into() })
        .await
        .unwrap();
    assert_eq!(unknown.into_inner(), known.into_inner());
    // The known email's mail arrives; the unknown one, asked first, gets none.
    smtp.wait_for(ADA, 2).await;
    testkit::eventually(Duration::from_secs(10), "the outbox empty", || async {
        (auth.outbox_rows().await == 0).then_some(())
    })
    .await;
    assert_eq!(smtp.messages().len(), 2, "{:?}", smtp.messages());
    assert!(smtp.messages_to("nobody@example.com").is_empty());
}

#[tokio::test]
async fn a_code_works_once_even_when_used_in_parallel() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.user(ADA).await;
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let code = smtp.wait_for_nth(ADA, 2).await.code();
    // Four uses at once, each from its own address (each may hash a password).
    let uses = (2..6).map(|n| {
        let mut client = auth.auth_from(&format!("127.0.0.{n}"));
        let code = code.clone();
        async move { reset(&mut client, &code, NEW_PASSWORD).await }
    });
    let results = join_all(uses).await;
    let succeeded = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(succeeded, 1, "{results:?}");
    for refused in results.iter().filter_map(|result| result.as_ref().err()) {
        assert_invalid(refused, "code");
    }
    let again = reset(&mut auth.auth(), &code, "yet another passphrase")
        .await
        .unwrap_err();
    assert_invalid(&again, "code");
    auth.login(ADA, NEW_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_new_request_voids_the_previous_code() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.user(ADA).await;
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let first = smtp.wait_for_nth(ADA, 2).await.code();
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let second = smtp.wait_for_nth(ADA, 3).await.code();
    assert_ne!(first, second);
    let voided = reset(&mut auth.auth(), &first, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_invalid(&voided, "code");
    reset(&mut auth.auth(), &second, NEW_PASSWORD)
        .await
        .expect("the latest code works");
}

#[tokio::test]
async fn five_tries_spend_a_code() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.user(ADA).await;

    // Four wrong tries leave the code working...
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let code = smtp.wait_for_nth(ADA, 2).await.code();
    for _ in 0..4 {
        let wrong = reset(&mut auth.auth(), &other_code(&code), NEW_PASSWORD)
            .await
            .unwrap_err();
        assert_invalid(&wrong, "code");
    }
    reset(&mut auth.auth(), &code, NEW_PASSWORD)
        .await
        .expect("the fifth try, with the right code, works");

    // ...five void it.
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let code = smtp.wait_for_nth(ADA, 3).await.code();
    for _ in 0..5 {
        reset(&mut auth.auth(), &other_code(&code), PASSWORD)
            .await
            .unwrap_err();
    }
    let voided = reset(&mut auth.auth(), &code, PASSWORD).await.unwrap_err();
    assert_invalid(&voided, "code");
    auth.login(ADA, NEW_PASSWORD)
        .await
        .expect("the password is unchanged");
}

/// Guesses sent at once spend the code like guesses one after another
/// (that no more than five are ever compared is tested beside the store).
#[tokio::test]
async fn parallel_guesses_spend_the_code_too() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.user(ADA).await;
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let code = smtp.wait_for_nth(ADA, 2).await.code();
    let client = auth.auth();
    let guesses = (0..30).map(|_| {
        let mut client = client.clone();
        let guess = other_code(&code);
        async move { reset(&mut client, &guess, NEW_PASSWORD).await }
    });
    for result in join_all(guesses).await {
        assert_invalid(&result.unwrap_err(), "code");
    }
    let voided = reset(&mut auth.auth(), &code, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_invalid(&voided, "code");
}

#[tokio::test]
async fn the_new_password_follows_the_sign_up_rules_and_a_refusal_keeps_the_code() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.user(ADA).await;
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let code = smtp.wait_for_nth(ADA, 2).await.code();
    for weak in ["short", "password123", ADA] {
        let refused = reset(&mut auth.auth(), &code, weak).await.unwrap_err();
        assert_invalid(&refused, "new_password");
    }
    for malformed in ["", "not a code", "ABCD-EFG", &"A".repeat(10_000)] {
        let refused = reset(&mut auth.auth(), malformed, NEW_PASSWORD)
            .await
            .unwrap_err();
        assert_invalid(&refused, "code");
    }
    // Typed in lower case and without the dash, it is the same code.
    let typed = code.replace('-', "").to_lowercase();
    reset(&mut auth.auth(), &typed, NEW_PASSWORD)
        .await
        .expect("none of the refusals above spent the code");
}

#[tokio::test]
async fn a_code_is_refused_for_another_account_and_for_an_unknown_email() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.user(ADA).await;
    auth.user("mallory@example.com").await;
    request_reset(&mut auth.auth(), ADA).await.unwrap();
    let code = smtp.wait_for_nth(ADA, 2).await.code();
    for email in ["mallory@example.com", "nobody@example.com"] {
        let refused = auth
            .auth()
            .reset_password(ResetPasswordRequest {
                email: email.into(),
                code: code.clone(),
                new_password: NEW_PASSWORD.into(),
            })
            .await
            .unwrap_err();
        assert_invalid(&refused, "code");
    }
    reset(&mut auth.auth(), &code, NEW_PASSWORD)
        .await
        .expect("Ada's code still works for Ada");
}

async fn events(auth: &TestAuth, token: &str) -> Vec<SecurityEvent> {
    auth.auth()
        .list_security_events(bearer(
            token,
            ListSecurityEventsRequest {
                page_size: 100,
                page_token: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events
}

fn kinds(events: &[SecurityEvent]) -> Vec<Kind> {
    events.iter().map(SecurityEvent::kind).collect()
}

#[tokio::test]
async fn resets_and_verification_are_security_events_of_the_owner_only() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    let first = auth.user(ADA).await;
    let mallory = auth.user("mallory@example.com").await;
    let code = smtp.wait_for_nth(ADA, 1).await.code();
    auth.auth()
        .verify_email(VerifyEmailRequest {
            email: ADA.into(),
            code,
        })
        .await
        .unwrap();
    // Mallory asks for a reset of Ada's password: Ada sees it, from where.
    request_reset(&mut auth.device("127.0.0.30", "mallory-laptop"), ADA)
        .await
        .unwrap();
    let code = smtp.wait_for_nth(ADA, 2).await.code();
    // The event is written beside the mail, apart from the answer.
    testkit::eventually(Duration::from_secs(10), "the request's event", || async {
        kinds(&events(&auth, &first.access_token).await)
            .contains(&Kind::PasswordResetRequested)
            .then_some(())
    })
    .await;
    reset(
        &mut auth.device("127.0.0.31", "ada-phone"),
        &code,
        NEW_PASSWORD,
    )
    .await
    .unwrap();
    let after = auth.login(ADA, NEW_PASSWORD).await.unwrap();

    let ada = events(&auth, &after.access_token).await;
    assert_eq!(
        kinds(&ada),
        [
            Kind::Login,
            Kind::PasswordReset,
            Kind::PasswordResetRequested,
            Kind::EmailVerified,
            Kind::Login,
            Kind::SignUp,
        ]
    );
    assert_eq!(ada[1].client_address, "127.0.0.31");
    assert_eq!(ada[2].client_address, "127.0.0.30");
    assert!(ada[2].user_agent.starts_with("mallory-laptop"));
    // Mallory's own list holds none of it.
    assert_eq!(
        kinds(&events(&auth, &mallory.access_token).await),
        [Kind::Login, Kind::SignUp]
    );
}
