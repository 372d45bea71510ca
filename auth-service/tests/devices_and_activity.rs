//! What a user sees of their sessions ("my devices") and of their account's
//! security activity, over real gRPC: sessions listed with where they were
//! used and which is the caller's, revoking one or all others (refused at
//! once, and never someone else's), and every kind of event, newest first,
//! paged, and only ever the owner's.

mod support;

use proto::auth::v1::{
    ChangePasswordRequest, ListSecurityEventsRequest, ListSessionsRequest, LoginRequest,
    LoginResponse, LogoutRequest, RefreshRequest, RevokeOtherSessionsRequest, RevokeSessionRequest,
    SecurityEvent, Session, auth_service_client::AuthServiceClient, security_event::Kind,
};
use support::{PASSWORD, TestAuth, bearer};
use tonic::{Code, transport::Channel};

const ADA: &str = "ada@example.com";

async fn log_in(client: &mut AuthServiceClient<Channel>, password: &str) -> LoginResponse {
    client
        .login(LoginRequest {
            email: ADA.into(),
            password: password.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn sessions(auth: &TestAuth, token: &str) -> Vec<Session> {
    auth.auth()
        .list_sessions(bearer(token, ListSessionsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .sessions
}

async fn revoke(auth: &TestAuth, token: &str, session_id: &str) -> Result<(), tonic::Status> {
    auth.auth()
        .revoke_session(bearer(
            token,
            RevokeSessionRequest {
                session_id: session_id.into(),
            },
        ))
        .await
        .map(drop)
}

/// The id of the session `token` belongs to, as ListSessions shows it.
async fn session_id(auth: &TestAuth, token: &str) -> String {
    sessions(auth, token)
        .await
        .into_iter()
        .find(|session| session.current)
        .expect("the caller's session is listed")
        .id
}

#[tokio::test]
async fn sessions_show_where_they_were_used_and_which_is_the_callers() {
    let auth = TestAuth::start().await;
    auth.user(ADA).await; // signs up and logs in from 127.0.0.1
    let laptop = log_in(&mut auth.device("127.0.0.2", "laptop-browser"), PASSWORD).await;
    let phone = log_in(&mut auth.device("127.0.0.3", "phone-app"), PASSWORD).await;

    let listed = sessions(&auth, &laptop.access_token).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let current: Vec<&Session> = listed.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1, "exactly one session is the caller's");
    assert_eq!(current[0].client_address, "127.0.0.2");
    assert!(
        current[0].user_agent.starts_with("laptop-browser"),
        "{current:?}"
    );
    // The most recently used first: the phone logged in last.
    assert_eq!(listed[0].client_address, "127.0.0.3");
    assert!(listed[0].user_agent.starts_with("phone-app"));
    assert!(
        listed
            .iter()
            .all(|s| s.create_time.is_some() && s.last_use_time.is_some())
    );
    // Seen from the phone, the phone is current.
    let from_phone = sessions(&auth, &phone.access_token).await;
    assert!(from_phone[0].current && from_phone[0].client_address == "127.0.0.3");
}

#[tokio::test]
async fn a_revoked_session_is_refused_at_once_and_nobody_else_can_revoke_it() {
    let auth = TestAuth::start().await;
    let laptop = auth.user(ADA).await;
    let phone = log_in(&mut auth.device("127.0.0.3", "phone-app"), PASSWORD).await;
    let mallory = auth.user("mallory@example.com").await;
    let phone_session = session_id(&auth, &phone.access_token).await;

    // Another user's session id is not found, and the session lives on.
    let refused = revoke(&auth, &mallory.access_token, &phone_session)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    assert!(auth.is_valid(&phone.access_token).await);

    revoke(&auth, &laptop.access_token, &phone_session)
        .await
        .unwrap();
    assert!(
        !auth.is_valid(&phone.access_token).await,
        "access token refused at once"
    );
    let refreshed = auth
        .auth()
        .refresh(RefreshRequest {
            refresh_token: phone.refresh_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refreshed.code(),
        Code::Unauthenticated,
        "refresh token refused too"
    );
    assert!(
        auth.is_valid(&laptop.access_token).await,
        "the caller's own lives"
    );
    let left = sessions(&auth, &laptop.access_token).await;
    assert_eq!(left.len(), 1);
    assert!(left[0].current);

    // Gone is gone; nonsense is named.
    let again = revoke(&auth, &laptop.access_token, &phone_session)
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    let empty = revoke(&auth, &laptop.access_token, "").await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().contains("session_id"), "{empty:?}");
    let huge = revoke(&auth, &laptop.access_token, &"x".repeat(10_000))
        .await
        .unwrap_err();
    assert_eq!(huge.code(), Code::NotFound);
}

#[tokio::test]
async fn revoking_the_other_sessions_leaves_only_the_callers() {
    let auth = TestAuth::start().await;
    let laptop = auth.user(ADA).await;
    let phone = log_in(&mut auth.auth(), PASSWORD).await;
    let tablet = log_in(&mut auth.auth(), PASSWORD).await;
    let revoked = auth
        .auth()
        .revoke_other_sessions(bearer(&laptop.access_token, RevokeOtherSessionsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.revoked_count, 2);
    assert!(!auth.is_valid(&phone.access_token).await);
    assert!(!auth.is_valid(&tablet.access_token).await);
    assert!(auth.is_valid(&laptop.access_token).await);
    let left = sessions(&auth, &laptop.access_token).await;
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
}

async fn events(
    auth: &TestAuth,
    token: &str,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<SecurityEvent>, String), tonic::Status> {
    auth.auth()
        .list_security_events(bearer(
            token,
            ListSecurityEventsRequest {
                page_size,
                page_token: page_token.into(),
            },
        ))
        .await
        .map(|response| {
            let page = response.into_inner();
            (page.events, page.next_page_token)
        })
}

fn kinds(events: &[SecurityEvent]) -> Vec<Kind> {
    events.iter().map(SecurityEvent::kind).collect()
}

#[tokio::test]
async fn security_events_record_every_kind_newest_first_and_only_for_the_owner() {
    let auth = TestAuth::start().await;
    let first = auth.user(ADA).await; // sign-up, login
    let mallory = auth.user("mallory@example.com").await;
    let failed = auth
        .device("127.0.0.9", "guesser")
        .login(LoginRequest {
            email: ADA.into(),
            password: "not the password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(failed.code(), Code::Unauthenticated);
    let second = log_in(&mut auth.auth(), PASSWORD).await; // login
    auth.auth()
        .refresh(RefreshRequest {
            refresh_token: second.refresh_token.clone(),
        })
        .await
        .unwrap();
    // The first refresh token again: reuse detected.
    auth.auth()
        .refresh(RefreshRequest {
            refresh_token: second.refresh_token.clone(),
        })
        .await
        .unwrap_err();
    let new_password = "a brand new passphrase";
    auth.auth()
        .change_password(bearer(
            &first.access_token,
            ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: new_password.into(),
            },
        ))
        .await
        .unwrap();
    let third = log_in(&mut auth.auth(), new_password).await; // login
    auth.auth()
        .logout(bearer(&third.access_token, LogoutRequest {}))
        .await
        .unwrap();
    let fourth = log_in(&mut auth.auth(), new_password).await; // login
    let fourth_session = session_id(&auth, &fourth.access_token).await;
    revoke(&auth, &first.access_token, &fourth_session)
        .await
        .unwrap();

    let (all, next) = events(&auth, &first.access_token, 100, "").await.unwrap();
    assert_eq!(next, "", "everything fits on one page");
    assert_eq!(
        kinds(&all),
        [
            Kind::SessionRevoked,
            Kind::Login,
            Kind::Logout,
            Kind::Login,
            Kind::PasswordChanged,
            Kind::RefreshReuseDetected,
            Kind::Login,
            Kind::LoginFailed,
            Kind::Login,
            Kind::SignUp,
        ]
    );
    let guess = &all[7];
    assert_eq!(
        guess.client_address, "127.0.0.9",
        "the owner sees where the guess came from"
    );
    assert!(guess.user_agent.starts_with("guesser"));
    assert!(all.iter().all(|event| event.create_time.is_some()));

    // Pages of three walk the same list, and end with an empty token.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let (page, next) = events(&auth, &first.access_token, 3, &token).await.unwrap();
        assert!(page.len() <= 3);
        paged.extend(page);
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert_eq!(paged, all);

    // Mallory sees her own two events and nothing of Ada's.
    let (hers, _) = events(&auth, &mallory.access_token, 0, "").await.unwrap();
    assert_eq!(kinds(&hers), [Kind::Login, Kind::SignUp]);

    for (page_size, page_token, field) in [(-1, "", "page_size"), (10, "not-a-token", "page_token")]
    {
        let refused = events(&auth, &first.access_token, page_size, page_token)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().contains(field), "{refused:?}");
    }
}
