//! A stand-in for the auth service's internal `TokenService`, built from the
//! contract alone, so the task service's tests need neither the auth service
//! nor password hashing. The test hands out tokens and can revoke them or
//! make the service unavailable; journeys with the real auth service live in
//! the stack's tests.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use proto::auth::v1::{
    ValidateTokenRequest, ValidateTokenResponse,
    token_service_server::{TokenService, TokenServiceServer},
};
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
}

/// The fake: clones share one set of tokens.
#[derive(Clone, Debug, Default)]
pub struct FakeAuth {
    state: Arc<Mutex<State>>,
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

    /// Serves the fake on `listener`.
    pub fn spawn_on(&self, listener: tokio::net::TcpListener) -> Running {
        let service = TokenServiceServer::new(self.clone());
        Running::spawn(listener, |listener, stopped| {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                })
        })
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
