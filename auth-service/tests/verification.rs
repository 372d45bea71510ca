//! Email verification through a real mail server (aiosmtpd): sign-up mails
//! a code that VerifyEmail takes without a bearer; SendVerificationEmail
//! mails a fresh one and voids the last; unverified users sign in and use
//! their account, unless `REQUIRE_VERIFIED_EMAIL` is on, when login refuses
//! them after the password check and mails them a new code.

mod support;

use proto::auth::v1::{
    GetCurrentUserRequest, LoginRequest, SendVerificationEmailRequest, SignUpRequest,
    VerifyEmailRequest, VerifyEmailResponse,
};
use support::{PASSWORD, TestAuth, assert_invalid, bearer, other_code};
use testkit::users::TestUsers;
use tonic::{Code, Status};
use tonic_types::StatusExt;

const ADA: &str = "ada@example.com";

async fn verify(auth: &TestAuth, code: &str) -> Result<VerifyEmailResponse, Status> {
    // From another device, with no session: people open mail on their phone.
    auth.device("127.0.0.20", "phone-mail-app")
        .verify_email(VerifyEmailRequest {
            email: ADA.into(),
            code: code.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn send_verification(auth: &TestAuth, token: &str) -> Result<(), Status> {
    auth.auth()
        .send_verification_email(bearer(token, SendVerificationEmailRequest {}))
        .await
        .map(drop)
}

async fn is_verified(auth: &TestAuth, token: &str) -> bool {
    auth.auth()
        .get_current_user(bearer(token, GetCurrentUserRequest {}))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .email_verified
}

#[tokio::test]
async fn sign_up_mails_a_code_that_verifies_the_email_without_a_session() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    let created = auth
        .auth()
        .sign_up(SignUpRequest {
            email: ADA.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert!(!created.email_verified);
    let mail = smtp.wait_for_nth(ADA, 1).await;
    assert_eq!(mail.subject, "Verify your email for Todo");
    let code = mail.code();
    assert!(
        mail.text.contains(&format!(
            "http://127.0.0.1:8080/#/verify?email=ada%40example.com&code={code}"
        )),
        "{}",
        mail.text
    );
    assert!(mail.html.contains(&code), "{}", mail.html);

    let session = auth.login(ADA, PASSWORD).await.unwrap();
    assert!(!is_verified(&auth, &session.access_token).await);
    let wrong = verify(&auth, &other_code(&code)).await.unwrap_err();
    assert_invalid(&wrong, "code");
    let verified = verify(&auth, &code).await.unwrap().user.unwrap();
    assert!(verified.email_verified);
    assert_eq!(verified.email, ADA);
    assert!(is_verified(&auth, &session.access_token).await);
    let used = verify(&auth, &code).await.unwrap_err();
    assert_invalid(&used, "code");
}

#[tokio::test]
async fn a_new_verification_email_voids_the_previous_code() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    let session = auth.user(ADA).await;
    let first = smtp.wait_for_nth(ADA, 1).await.code();
    send_verification(&auth, &session.access_token)
        .await
        .unwrap();
    let second = smtp.wait_for_nth(ADA, 2).await.code();
    assert_ne!(first, second);
    assert_invalid(&verify(&auth, &first).await.unwrap_err(), "code");
    verify(&auth, &second).await.expect("the latest code works");

    // Nothing left to verify.
    let done = send_verification(&auth, &session.access_token)
        .await
        .unwrap_err();
    assert_eq!(done.code(), Code::FailedPrecondition, "{done:?}");
    assert!(done.message().contains("already verified"), "{done:?}");
    let unauthenticated = auth
        .auth()
        .send_verification_email(SendVerificationEmailRequest {})
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn by_default_unverified_users_sign_in_and_use_their_account() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    let session = auth.user(ADA).await;
    smtp.wait_for(ADA, 1).await;
    assert!(!session.user.unwrap().email_verified);
    assert!(auth.is_valid(&session.access_token).await);
    assert!(!is_verified(&auth, &session.access_token).await);
}

#[tokio::test]
async fn when_required_login_refuses_an_unverified_email_after_the_password_and_mails_a_code() {
    let (auth, smtp) = TestAuth::start_mailing(|config| config.require_verified_email = true).await;
    auth.auth()
        .sign_up(SignUpRequest {
            email: ADA.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let first = smtp.wait_for_nth(ADA, 1).await.code();

    // A stranger without the password learns nothing: the usual refusal.
    let stranger = auth.login(ADA, "not the password").await.unwrap_err();
    assert_eq!(stranger.code(), Code::Unauthenticated, "{stranger:?}");
    let unknown = auth
        .login("nobody@example.com", "not the password")
        .await
        .unwrap_err();
    assert_eq!(unknown.message(), stranger.message());

    // The owner is told what to do, and gets a new code to do it with.
    let refused = auth.login(ADA, PASSWORD).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("not verified"), "{refused:?}");
    assert!(refused.message().contains("VerifyEmail"), "{refused:?}");
    let info = refused.get_details_error_info().expect("ErrorInfo details");
    assert_eq!(info.reason, "EMAIL_NOT_VERIFIED");
    let second = smtp.wait_for_nth(ADA, 2).await.code();
    assert_ne!(first, second);
    assert_eq!(
        smtp.messages_to(ADA).len(),
        2,
        "no mail for the stranger's try"
    );

    verify(&auth, &second).await.unwrap();
    let session = auth
        .auth()
        .login(LoginRequest {
            email: ADA.into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("verified, the owner signs in")
        .into_inner();
    assert!(session.user.unwrap().email_verified);
}

#[tokio::test]
async fn signing_up_again_does_not_mail_the_owner() {
    let (auth, smtp) = TestAuth::start_mailing(|_| {}).await;
    auth.auth().sign_up_and_log_in(ADA).await;
    smtp.wait_for(ADA, 1).await;
    let taken = auth
        .auth()
        .sign_up(SignUpRequest {
            email: ADA.into(),
            password: "another good passphrase".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    // A later mail proves the sender has caught up; the taken sign-up sent none.
    auth.user("grace@example.com").await;
    smtp.wait_for("grace@example.com", 1).await;
    assert_eq!(smtp.messages_to(ADA).len(), 1);
}
