//! Limits on mail asked for (RequestPasswordReset, SendVerificationEmail)
//! per email and per client address (127.0.0.x, all local on Linux): past
//! them RESOURCE_EXHAUSTED with RetryInfo, the same for an email with an
//! account as for one without, so the limits reveal nothing either.

mod support;

use std::time::Duration;

use proto::auth::v1::{RequestPasswordResetRequest, SendVerificationEmailRequest};
use support::{TestAuth, assert_throttled, bearer};
use testkit::{eventually, users::TestUsers};
use tonic::Status;

const ADA: &str = "ada@example.com";

async fn request_reset(auth: &TestAuth, from: &str, email: &str) -> Result<(), Status> {
    auth.auth_from(from)
        .request_password_reset(RequestPasswordResetRequest {
            email: email.into(),
        })
        .await
        .map(drop)
}

#[tokio::test]
async fn resets_are_limited_per_email_alike_for_known_and_unknown_emails() {
    let (auth, smtp) = TestAuth::start_mailing(|config| config.mail_max_per_email = 2).await;
    auth.user(ADA).await;
    let mut refusals = Vec::new();
    for email in [ADA, "nobody@example.com"] {
        // From a different address each time: the limit is the email's.
        request_reset(&auth, "127.0.0.2", email).await.unwrap();
        request_reset(&auth, "127.0.0.3", email).await.unwrap();
        let refused = request_reset(&auth, "127.0.0.4", email).await.unwrap_err();
        assert_throttled(&refused);
        refusals.push(refused.message().to_owned());
    }
    assert_eq!(
        refusals[0], refusals[1],
        "a limited email looks the same with or without an account"
    );
    assert!(refusals[0].contains("this email"), "{refusals:?}");
    // The sign-up's mail and the resets', and nothing for the unknown email
    // (a reset's mail not yet sent when the next is asked for is dropped,
    // its code being void).
    smtp.wait_for(ADA, 2).await;
    eventually(Duration::from_secs(10), "the outbox empty", || async {
        (auth.outbox_rows().await == 0).then_some(())
    })
    .await;
    assert!(smtp.messages_to(ADA).len() <= 3);
    assert!(smtp.messages_to("nobody@example.com").is_empty());
}

#[tokio::test]
async fn mail_is_limited_per_address_whatever_the_email() {
    let (auth, smtp) = TestAuth::start_mailing(|config| config.mail_max_per_address = 3).await;
    auth.user(ADA).await;
    for n in 0..3 {
        request_reset(&auth, "127.0.0.5", &format!("probe{n}@example.com"))
            .await
            .expect("within the limit");
    }
    // Probing unknown emails used up the address's share, known ones too.
    let refused = request_reset(&auth, "127.0.0.5", ADA).await.unwrap_err();
    assert_throttled(&refused);
    assert!(refused.message().contains("your address"), "{refused:?}");
    let token = auth
        .auth_from("127.0.0.5")
        .log_in(ADA, support::PASSWORD)
        .await;
    let verification = auth
        .auth_from("127.0.0.5")
        .send_verification_email(bearer(
            &token.unwrap().access_token,
            SendVerificationEmailRequest {},
        ))
        .await
        .unwrap_err();
    assert_throttled(&verification);
    // Another address is not affected.
    request_reset(&auth, "127.0.0.6", ADA).await.unwrap();
    smtp.wait_for(ADA, 2).await;
}

#[tokio::test]
async fn verification_emails_share_the_limit_per_email() {
    let (auth, smtp) = TestAuth::start_mailing(|config| config.mail_max_per_email = 2).await;
    let session = auth.user(ADA).await; // the sign-up's mail does not count
    let send = || async {
        auth.auth()
            .send_verification_email(bearer(
                &session.access_token,
                SendVerificationEmailRequest {},
            ))
            .await
    };
    send().await.unwrap();
    send().await.unwrap();
    assert_throttled(&send().await.unwrap_err());
    assert_throttled(&request_reset(&auth, "127.0.0.7", ADA).await.unwrap_err());
    smtp.wait_for(ADA, 2).await;
}
