//! SignUp: normalised emails, the password rules, and duplicate accounts.

mod support;

use proto::auth::v1::SignUpRequest;
use support::{PASSWORD, TestAuth};
use tonic::Code;

#[tokio::test]
async fn sign_up_normalises_the_email_and_returns_the_user() {
    let auth = TestAuth::start().await;
    let user = auth
        .auth()
        .sign_up(SignUpRequest {
            email: "  Ada.Lovelace@Example.COM ".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.email, "ada.lovelace@example.com");
    assert!(
        uuid::Uuid::parse_str(&user.id).is_ok(),
        "id {} is not a UUID",
        user.id
    );
    assert!(user.create_time.unwrap().seconds > 1_700_000_000);
    // The normalised address logs in whatever its case.
    auth.login("ADA.LOVELACE@example.com", PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_taken_email_is_already_exists_whatever_its_case() {
    let auth = TestAuth::start().await;
    let mut client = auth.auth();
    client
        .sign_up(SignUpRequest {
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let error = client
        .sign_up(SignUpRequest {
            email: "ADA@example.com".into(),
            password: "another good passphrase".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::AlreadyExists);
    assert!(
        error.message().contains("already exists"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn malformed_emails_are_invalid_argument_naming_the_field() {
    let auth = TestAuth::start().await;
    let mut client = auth.auth();
    let too_long = format!("{}@example.com", "a".repeat(250));
    for email in [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "a@b@example.com",
        too_long.as_str(),
    ] {
        let error = client
            .sign_up(SignUpRequest {
                email: email.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{email:?}");
        assert!(
            error.message().starts_with("email:"),
            "{email:?}: {}",
            error.message()
        );
    }
}

#[tokio::test]
async fn weak_and_common_passwords_are_refused_with_the_rule() {
    let auth = TestAuth::start().await;
    let mut client = auth.auth();
    let cases = [
        ("short", "at least 8 characters"),
        (&*"x".repeat(129), "at most 128 characters"),
        ("password123", "too common"),
        ("Iloveyou1", "too common"),
        ("qwertyuiop", "too common"),
        ("grace@example.com", "same as the email"),
    ];
    for (password, rule) in cases {
        let error = client
            .sign_up(SignUpRequest {
                email: "grace@example.com".into(),
                password: password.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{password:?}");
        assert!(
            error.message().starts_with("password:"),
            "{}",
            error.message()
        );
        assert!(
            error.message().contains(rule),
            "{password:?}: {}",
            error.message()
        );
    }
    // 8 characters, counted as characters rather than bytes, is enough.
    client
        .sign_up(SignUpRequest {
            email: "grace@example.com".into(),
            password: "ünïcødé€".into(),
        })
        .await
        .unwrap();
}
