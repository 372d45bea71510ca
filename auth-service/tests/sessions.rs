//! Sessions: refresh-token rotation and reuse detection, logout, and
//! password changes that end every other session.

mod support;

use proto::auth::v1::{
    ChangePasswordRequest, GetCurrentUserRequest, LogoutRequest, RefreshRequest, RefreshResponse,
    ValidateTokenRequest,
};
use support::{PASSWORD, TestAuth, bearer};
use tonic::Code;

async fn refresh(auth: &TestAuth, token: &str) -> Result<RefreshResponse, tonic::Status> {
    auth.auth()
        .refresh(RefreshRequest {
            refresh_token: token.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_keeps_the_session() {
    let auth = TestAuth::start().await;
    let login = auth.user("ada@example.com").await;
    let first = refresh(&auth, &login.refresh_token).await.unwrap();
    assert_ne!(first.refresh_token, login.refresh_token);
    assert_eq!(first.token_type, "bearer");
    assert_eq!(first.user.unwrap().email, "ada@example.com");
    assert!(auth.is_valid(&first.access_token).await);
    let second = refresh(&auth, &first.refresh_token).await.unwrap();
    assert!(auth.is_valid(&second.access_token).await);
    // All tokens of one session share its id.
    let session = |token: &str| {
        let auth = &auth;
        let token = token.to_owned();
        async move {
            auth.tokens()
                .validate_token(ValidateTokenRequest {
                    access_token: token,
                })
                .await
                .unwrap()
                .into_inner()
                .session_id
        }
    };
    assert_eq!(
        session(&login.access_token).await,
        session(&second.access_token).await
    );
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_session() {
    let auth = TestAuth::start().await;
    let login = auth.user("ada@example.com").await;
    let rotated = refresh(&auth, &login.refresh_token).await.unwrap();
    let reuse = refresh(&auth, &login.refresh_token).await.unwrap_err();
    assert_eq!(reuse.code(), Code::Unauthenticated);
    assert!(reuse.message().contains("revoked"), "{}", reuse.message());
    // Everything of that session is dead now, also what the thief could not have seen.
    assert!(!auth.is_valid(&login.access_token).await);
    assert!(!auth.is_valid(&rotated.access_token).await);
    assert_eq!(
        refresh(&auth, &rotated.refresh_token)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    // Another login starts a fresh session.
    auth.login("ada@example.com", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn unknown_or_empty_refresh_tokens_are_refused() {
    let auth = TestAuth::start().await;
    assert_eq!(
        refresh(&auth, "made-up").await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        refresh(&auth, "").await.unwrap_err().code(),
        Code::InvalidArgument
    );
}

#[tokio::test]
async fn logout_refuses_the_sessions_tokens_at_once_and_only_its_own() {
    let auth = TestAuth::start().await;
    let phone = auth.user("ada@example.com").await;
    let laptop = auth.login("ada@example.com", PASSWORD).await.unwrap();
    auth.auth()
        .logout(bearer(&phone.access_token, LogoutRequest {}))
        .await
        .unwrap();
    assert!(!auth.is_valid(&phone.access_token).await);
    let error = auth
        .auth()
        .get_current_user(bearer(&phone.access_token, GetCurrentUserRequest {}))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(
        refresh(&auth, &phone.refresh_token)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    // A second logout with the same token is refused, not an error of ours.
    let again = auth
        .auth()
        .logout(bearer(&phone.access_token, LogoutRequest {}))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::Unauthenticated);
    assert!(auth.is_valid(&laptop.access_token).await);
}

#[tokio::test]
async fn change_password_revokes_the_other_sessions_only() {
    let auth = TestAuth::start().await;
    let here = auth.user("ada@example.com").await;
    let elsewhere = auth.login("ada@example.com", PASSWORD).await.unwrap();
    let new_password = "a much better passphrase";
    auth.auth()
        .change_password(bearer(
            &here.access_token,
            ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: new_password.into(),
            },
        ))
        .await
        .unwrap();
    assert!(
        auth.is_valid(&here.access_token).await,
        "the calling session must stay valid"
    );
    assert!(refresh(&auth, &here.refresh_token).await.is_ok());
    assert!(!auth.is_valid(&elsewhere.access_token).await);
    assert_eq!(
        refresh(&auth, &elsewhere.refresh_token)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        auth.login("ada@example.com", PASSWORD)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    auth.login("ada@example.com", new_password).await.unwrap();
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_the_rules() {
    let auth = TestAuth::start().await;
    let login = auth.user("ada@example.com").await;
    let change = |current: &str, new: &str| {
        let request = ChangePasswordRequest {
            current_password: current.into(),
            new_password: new.into(),
        };
        let request = bearer(&login.access_token, request);
        let mut client = auth.auth();
        async move { client.change_password(request).await.unwrap_err() }
    };
    let wrong = change("not the password", "a much better passphrase").await;
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert!(
        wrong.message().starts_with("current_password:"),
        "{}",
        wrong.message()
    );
    let common = change(PASSWORD, "password1").await;
    assert_eq!(common.code(), Code::InvalidArgument);
    assert!(
        common.message().starts_with("new_password:"),
        "{}",
        common.message()
    );
    let unauthenticated = auth
        .auth()
        .change_password(ChangePasswordRequest {
            current_password: PASSWORD.into(),
            new_password: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
}
