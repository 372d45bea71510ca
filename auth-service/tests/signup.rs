//! SignUp: normalised emails, the password rules, and duplicate accounts.

mod support;

use proto::auth::v1::SignUpRequest;
use support::{PASSWORD, TestAuth};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The one field violation a refusal carries as `google.rpc.BadRequest`.
fn violation(error: &Status) -> (String, String) {
    let details = error
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest details: {error:?}"));
    assert_eq!(details.field_violations.len(), 1, "{details:?}");
    let violation = &details.field_violations[0];
    (violation.field.clone(), violation.description.clone())
}

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
        let (field, description) = violation(&error);
        assert_eq!(field, "email", "{email:?}");
        assert_eq!(error.message(), format!("email: {description}"));
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
        let (field, description) = violation(&error);
        assert_eq!(field, "password");
        assert!(description.contains(rule), "{password:?}: {description}");
        assert_eq!(error.message(), format!("password: {description}"));
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
