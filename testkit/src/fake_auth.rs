//! A stand-in for the auth service's internal `TokenService` and
//! `AccountEventService`, built from the contract alone, so the task
//! service's tests need neither the auth service nor password hashing. The
//! test hands out tokens and can revoke them, delete accounts (which appends
//! account events), replay the events from the start, or make the service
//! unavailable; journeys with the real auth service live in the stack's tests.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
};

use proto::auth::v1::{
    AccountEvent, ValidateTokenRequest, ValidateTokenResponse, WatchAccountEventsRequest,
    WatchAccountEventsResponse, account_event,
    account_event_service_server::{AccountEventService, AccountEventServiceServer},
    token_service_server::{TokenService, TokenServiceServer},
};
use tokio::sync::{mpsc, watch};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, transport::server::TcpIncoming};

use crate::server::Running;

/// Who a token belongs to.
#[derive(Clone, Debug)]
struct Identity {
    user_id: String,
    session_id: String,
}

#[derive(Debug, Default)]
struct State {
    tokens: HashMap<String, Identity>,
    unavailable: bool,
    calls: usize,
    /// The account events so far; the sequence of each is its index + 1.
    account_events: Vec<AccountEvent>,
    /// Send every event from the first, whatever `after` a watcher gives.
    replay: bool,
    /// The `after` of each WatchAccountEvents call, in order.
    watched_after: Vec<i64>,
}

/// The fake: clones share one set of tokens and one list of account events.
#[derive(Clone, Debug)]
pub struct FakeAuth {
    state: Arc<Mutex<State>>,
    /// The number of account events, for watchers to wait on.
    appended: Arc<watch::Sender<usize>>,
}

impl Default for FakeAuth {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            appended: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl FakeAuth {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new user with one session; returns its access token.
    pub fn new_user(&self) -> String {
        self.new_session(&format!("user-{}", uuid::Uuid::new_v4().simple()))
    }

    /// Another session of `user_id`; returns its access token.
    pub fn new_session(&self, user_id: &str) -> String {
        let token = format!("token-{}", uuid::Uuid::new_v4().simple());
        let identity = Identity {
            user_id: user_id.to_owned(),
            session_id: uuid::Uuid::new_v4().to_string(),
        };
        self.state().tokens.insert(token.clone(), identity);
        token
    }

    /// The user a token belongs to.
    pub fn user_of(&self, token: &str) -> Option<String> {
        self.state()
            .tokens
            .get(token)
            .map(|identity| identity.user_id.clone())
    }

    /// Ends the session of `token`, as a logout does.
    pub fn revoke(&self, token: &str) {
        self.state().tokens.remove(token);
    }

    /// Deletes the account of `user_id`, as DeleteAccount does: its tokens
    /// are refused from now on and an `account_deleted` event is appended.
    /// Returns the event's sequence.
    pub fn delete_account(&self, user_id: &str) -> i64 {
        self.append_event(account_event::Kind::AccountDeleted, user_id)
    }

    /// Appends an account event of `kind` (any kind, also one the task
    /// service does not know) about `user_id`; returns its sequence.
    pub fn append_event(&self, kind: account_event::Kind, user_id: &str) -> i64 {
        let mut state = self.state();
        if kind == account_event::Kind::AccountDeleted {
            state
                .tokens
                .retain(|_, identity| identity.user_id != user_id);
        }
        let sequence = i64::try_from(state.account_events.len()).unwrap_or(i64::MAX) + 1;
        state.account_events.push(AccountEvent {
            sequence,
            kind: kind.into(),
            user_id: user_id.to_owned(),
            create_time: None,
        });
        let count = state.account_events.len();
        drop(state);
        self.appended.send_replace(count);
        sequence
    }

    /// From now on, watchers get every event from the first, whatever
    /// cursor they give: what a follower must take without harm.
    pub fn replay_account_events(&self) {
        self.state().replay = true;
    }

    /// The `after` of each WatchAccountEvents call so far, in order.
    pub fn watched_after(&self) -> Vec<i64> {
        self.state().watched_after.clone()
    }

    /// Makes every call fail with UNAVAILABLE (or work again).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.state().unavailable = unavailable;
    }

    /// How many ValidateToken calls arrived.
    pub fn calls(&self) -> usize {
        self.state().calls
    }

    /// Serves the fake on a free loopback port.
    pub async fn spawn(&self) -> Running {
        self.spawn_on(crate::listener().await)
    }

    /// Serves the fake on `listener`. Stopping it ends its account-event
    /// streams with UNAVAILABLE, as the real service does.
    pub fn spawn_on(&self, listener: tokio::net::TcpListener) -> Running {
        let (stopping, stop_streams) = watch::channel(false);
        let tokens = TokenServiceServer::new(self.clone());
        let account_events = AccountEventServiceServer::new(FakeAccountEvents {
            fake: self.clone(),
            stopping: stop_streams,
        });
        Running::spawn(listener, |listener, stopped| {
            tonic::transport::Server::builder()
                .add_service(tokens)
                .add_service(account_events)
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
                    let _ = stopped.await;
                    stopping.send_replace(true);
                })
        })
    }

    /// The events after `after` (all of them in replay mode).
    fn events_after(&self, after: i64) -> Vec<AccountEvent> {
        let state = self.state();
        let after = if state.replay { 0 } else { after };
        state
            .account_events
            .iter()
            .filter(|event| event.sequence > after)
            .cloned()
            .collect()
    }
}

/// `AccountEventService` of one running fake.
#[derive(Debug)]
struct FakeAccountEvents {
    fake: FakeAuth,
    /// Turns true when the server stops.
    stopping: watch::Receiver<bool>,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<WatchAccountEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AccountEventService for FakeAccountEvents {
    type WatchAccountEventsStream = EventStream;

    async fn watch_account_events(
        &self,
        request: Request<WatchAccountEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let after = request.into_inner().after;
        {
            let mut state = self.fake.state();
            state.watched_after.push(after);
            if state.unavailable {
                return Err(Status::unavailable("the fake auth service is down"));
            }
        }
        if after < 0 {
            return Err(Status::invalid_argument("after: must not be negative"));
        }
        let fake = self.fake.clone();
        let mut appended = self.fake.appended.subscribe();
        let mut stopping = self.stopping.clone();
        let (sender, receiver) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut cursor = after;
            loop {
                appended.borrow_and_update();
                for event in fake.events_after(cursor) {
                    cursor = cursor.max(event.sequence);
                    let response = WatchAccountEventsResponse { event: Some(event) };
                    if sender.send(Ok(response)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    () = sender.closed() => return,
                    () = stopped(&mut stopping) => {
                        let _ = sender.send(Err(Status::unavailable("the fake auth service is stopping"))).await;
                        return;
                    }
                    changed = appended.changed() => if changed.is_err() { return },
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

#[tonic::async_trait]
impl TokenService for FakeAuth {
    async fn validate_token(
        &self,
        request: Request<ValidateTokenRequest>,
    ) -> Result<Response<ValidateTokenResponse>, Status> {
        let token = request.into_inner().access_token;
        let mut state = self.state();
        state.calls += 1;
        if state.unavailable {
            return Err(Status::unavailable("the fake auth service is down"));
        }
        let identity = state
            .tokens
            .get(&token)
            .cloned()
            .ok_or_else(|| Status::unauthenticated("session has ended; log in again"))?;
        Ok(Response::new(ValidateTokenResponse {
            user_id: identity.user_id,
            email: String::new(),
            session_id: identity.session_id,
            expire_time: None,
        }))
    }
}

/// Resolves once the server is stopping (or gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}
