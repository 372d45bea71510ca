//! Deleting an account, over real gRPC: the password is checked as
//! ChangePassword checks the current one (same answer, same throttle); a
//! deleted account's every token is refused, its data is gone and its email
//! is free again; and the deletion reaches other services as an account
//! event on `AccountEventService/WatchAccountEvents`, in order, resumable
//! from a cursor, live, and from any replica on a shared database.

mod support;

use std::time::Duration;

use proto::auth::v1::{
    ChangePasswordRequest, DeleteAccountRequest, GetCurrentUserRequest, ListSecurityEventsRequest,
    ListSessionsRequest, LoginResponse, RefreshRequest, SignUpRequest, WatchAccountEventsRequest,
    WatchAccountEventsResponse, account_event::Kind,
};
use support::{PASSWORD, TestAuth, bearer, test_config};
use tempfile::TempDir;
use testkit::TestDatabase;
use tonic::{Code, Status, Streaming};
use tonic_types::StatusExt;

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

/// Longest an event may take to arrive: a failure detector, not a target.
const ARRIVAL: Duration = Duration::from_secs(10);

async fn delete(auth: &TestAuth, token: &str, password: &str) -> Result<(), Status> {
    auth.auth()
        .delete_account(bearer(
            token,
            DeleteAccountRequest {
                password: password.into(),
            },
        ))
        .await
        .map(drop)
}

async fn watch(
    auth: &TestAuth,
    after: i64,
) -> Result<Streaming<WatchAccountEventsResponse>, Status> {
    auth.account_events()
        .watch_account_events(WatchAccountEventsRequest { after })
        .await
        .map(tonic::Response::into_inner)
}

/// The next event of `events` as (sequence, kind, user id).
async fn next(events: &mut Streaming<WatchAccountEventsResponse>) -> (i64, Kind, String) {
    let event = tokio::time::timeout(ARRIVAL, events.message())
        .await
        .expect("no account event arrived")
        .expect("the stream failed")
        .expect("the stream ended")
        .event
        .expect("a response carries its event");
    assert!(event.create_time.is_some_and(|time| time.seconds > 0));
    (event.sequence, event.kind(), event.user_id)
}

/// The field an INVALID_ARGUMENT names in its `BadRequest` details.
fn field(status: &Status) -> String {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations[0]
        .field
        .clone()
}

fn user_id(login: &LoginResponse) -> String {
    login.user.as_ref().expect("the login's user").id.clone()
}

#[tokio::test]
async fn a_wrong_password_is_refused_like_a_wrong_current_password_and_deletes_nothing() {
    let auth = TestAuth::start().await;
    let ada = auth.user(ADA).await;
    let wrong = delete(&auth, &ada.access_token, "not the password")
        .await
        .unwrap_err();
    assert_eq!(field(&wrong), "password");
    let change = auth
        .auth()
        .change_password(bearer(
            &ada.access_token,
            ChangePasswordRequest {
                current_password: "not the password".into(),
                new_password: "a brand new passphrase".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), change.code());
    let empty = delete(&auth, &ada.access_token, "").await.unwrap_err();
    assert_eq!(field(&empty), "password");
    let no_token = auth
        .auth()
        .delete_account(DeleteAccountRequest {
            password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(no_token.code(), Code::Unauthenticated);

    // Everything of Ada's is still there.
    assert!(auth.is_valid(&ada.access_token).await);
    auth.login(ADA, PASSWORD).await.unwrap();
    // No event was appended: the first is the next deletion's.
    let bob = auth.user(BOB).await;
    delete(&auth, &bob.access_token, PASSWORD).await.unwrap();
    let mut events = watch(&auth, 0).await.unwrap();
    let (sequence, kind, user) = next(&mut events).await;
    assert_eq!(
        (sequence, kind, user),
        (1, Kind::AccountDeleted, user_id(&bob))
    );
}

#[tokio::test]
async fn wrong_passwords_count_against_the_password_change_throttle() {
    let auth = TestAuth::start_with(|config| config.login_max_failures = 2).await;
    let ada = auth.user(ADA).await;
    for _ in 0..2 {
        let error = delete(&auth, &ada.access_token, "not the password")
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
    }
    // One counter for both: the right password now waits, for either RPC.
    let refused = delete(&auth, &ada.access_token, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.get_details_retry_info().is_some());
    let change = auth
        .auth()
        .change_password(bearer(
            &ada.access_token,
            ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: "a brand new passphrase".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(change.code(), Code::ResourceExhausted);
    assert!(
        auth.is_valid(&ada.access_token).await,
        "nothing was deleted"
    );
}

#[tokio::test]
async fn a_deleted_account_loses_every_token_and_its_data_and_its_email_signs_up_afresh() {
    let auth = TestAuth::start().await;
    let phone = auth.user(ADA).await;
    let laptop = auth.login(ADA, PASSWORD).await.unwrap();
    let bob = auth.user(BOB).await;
    let old_id = user_id(&phone);

    delete(&auth, &phone.access_token, PASSWORD).await.unwrap();

    for session in [&phone, &laptop] {
        assert!(!auth.is_valid(&session.access_token).await);
        let me = auth
            .auth()
            .get_current_user(bearer(&session.access_token, GetCurrentUserRequest {}))
            .await
            .unwrap_err();
        assert_eq!(me.code(), Code::Unauthenticated);
        let refreshed = auth
            .auth()
            .refresh(RefreshRequest {
                refresh_token: session.refresh_token.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(refreshed.code(), Code::Unauthenticated);
    }
    let again = delete(&auth, &laptop.access_token, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::Unauthenticated);
    let login = auth.login(ADA, PASSWORD).await.unwrap_err();
    assert_eq!(login.code(), Code::Unauthenticated);
    // Nothing is left behind under the old id.
    for query in [
        "SELECT COUNT(*) AS n FROM users WHERE id = $1",
        "SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1",
        "SELECT COUNT(*) AS n FROM security_events WHERE user_id = $1",
        "SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id IN
             (SELECT id FROM sessions WHERE user_id = $1)",
        "SELECT COUNT(*) AS n FROM throttles WHERE throttle_key = 'password:' || $1",
    ] {
        assert_eq!(auth.count(query, &old_id).await, 0, "{query}");
    }

    // The email is free: a new account, with a new id and nothing of the old one.
    let created = auth
        .auth()
        .sign_up(SignUpRequest {
            email: ADA.into(),
            password: "another good passphrase".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_ne!(created.id, old_id);
    let fresh = auth.login(ADA, "another good passphrase").await.unwrap();
    let events = auth
        .auth()
        .list_security_events(bearer(
            &fresh.access_token,
            ListSecurityEventsRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 2, "sign-up and login only: {events:?}");
    assert!(!auth.is_valid(&phone.access_token).await);

    // Bob is untouched.
    assert!(auth.is_valid(&bob.access_token).await);
    let sessions = auth
        .auth()
        .list_sessions(bearer(&bob.access_token, ListSessionsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert_eq!(sessions.len(), 1);
    let bob_events = auth
        .auth()
        .list_security_events(bearer(
            &bob.access_token,
            ListSecurityEventsRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(bob_events.len(), 2, "{bob_events:?}");
}

#[tokio::test]
async fn watching_sends_events_in_order_resumes_from_a_cursor_and_goes_on_live() {
    let auth = TestAuth::start().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let login = auth.user(&format!("user{n}@example.com")).await;
        delete(&auth, &login.access_token, PASSWORD).await.unwrap();
        ids.push(user_id(&login));
    }

    let mut from_start = watch(&auth, 0).await.unwrap();
    for (sequence, id) in (1..).zip(&ids) {
        assert_eq!(
            next(&mut from_start).await,
            (sequence, Kind::AccountDeleted, id.clone())
        );
    }
    // A follower that handled two resumes after them.
    let mut resumed = watch(&auth, 2).await.unwrap();
    assert_eq!(next(&mut resumed).await.0, 3);

    // A deletion while both watch reaches both.
    let late = auth.user("late@example.com").await;
    delete(&auth, &late.access_token, PASSWORD).await.unwrap();
    let late_id = user_id(&late);
    for events in [&mut from_start, &mut resumed] {
        assert_eq!(
            next(events).await,
            (4, Kind::AccountDeleted, late_id.clone())
        );
    }
    // A cursor past the end waits for what comes next.
    let mut ahead = watch(&auth, 4).await.unwrap();
    let last = auth.user("last@example.com").await;
    delete(&auth, &last.access_token, PASSWORD).await.unwrap();
    assert_eq!(next(&mut ahead).await.0, 5);
}

#[tokio::test]
async fn a_negative_cursor_is_invalid_and_watchers_are_limited() {
    let auth = TestAuth::start().await;
    let negative = watch(&auth, -1).await.unwrap_err();
    assert_eq!(field(&negative), "after");

    let mut open = Vec::new();
    let refused = loop {
        match watch(&auth, 0).await {
            Ok(stream) => open.push(stream),
            Err(status) => break status,
        }
        assert!(open.len() <= 64, "watchers are not limited");
    };
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.get_details_retry_info().is_some());
    // A watcher that hangs up frees its place.
    open.pop();
    testkit::eventually(ARRIVAL, "a freed watcher's place", || async {
        watch(&auth, 0).await.ok()
    })
    .await;
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL): replicas share a database"]
async fn on_postgres_a_watch_sees_deletions_made_through_another_replica() {
    let auth = TestAuth::start_on(
        TestDatabase::postgres().await,
        TempDir::new().unwrap(),
        |_| {},
    )
    .await;
    // A second replica of the auth service on the same database.
    let replica_dir = TempDir::new().unwrap();
    let url = auth.config.storage.database_url.clone().unwrap();
    let config = test_config(replica_dir.path(), &url);
    let (replica, _) = support::spawn(config).await;
    let mut events = watch(&auth, 0).await.unwrap();
    let ada = auth.user(ADA).await;
    let mut through_replica =
        proto::auth::v1::auth_service_client::AuthServiceClient::new(replica.channel());
    through_replica
        .delete_account(bearer(
            &ada.access_token,
            DeleteAccountRequest {
                password: PASSWORD.into(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        next(&mut events).await,
        (1, Kind::AccountDeleted, user_id(&ada))
    );
    replica.stop().await;
}
