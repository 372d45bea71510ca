//! Authentication of every TaskService call. A tower layer (tonic's
//! `Interceptor` is synchronous and cannot await a network call) asks the auth
//! service's `TokenService/ValidateToken` about the bearer token and puts the
//! verified identity into the request's extensions, where handlers find it.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use proto::auth::v1::{ValidateTokenRequest, token_service_client::TokenServiceClient};
use tonic::{Code, Status, transport::Channel};
use tower::{Layer, Service};

use crate::error::Error;

/// How long a call may wait for the auth service before it is UNAVAILABLE.
const VALIDATE_DEADLINE: Duration = Duration::from_secs(2);

/// The caller of a TaskService RPC, as the auth service vouched for it.
#[derive(Clone)]
pub struct VerifiedUser {
    pub user_id: String,
    pub session_id: String,
    /// Kept so a long-lived watch can re-check its session; never logged.
    pub access_token: Arc<str>,
}

impl std::fmt::Debug for VerifiedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedUser")
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// A positive answer of the auth service and when it was given.
#[derive(Clone)]
struct Checked {
    user: VerifiedUser,
    at: Instant,
}

/// Validates access tokens with the auth service over one shared, lazily
/// connecting channel, remembering positive answers for a short while.
///
/// An answer older than half its lifetime is still used, but the next call
/// with that token asks the auth service again in the background: a token
/// in steady use is then never waited for, so no call pays the extra hop
/// (which under load was the slowest one in a hundred), while each answer
/// still expires at the same time and a logout is enforced as promptly.
#[derive(Clone)]
pub struct TokenValidator {
    client: TokenServiceClient<Channel>,
    /// A revoked session is refused at most this long after its logout.
    cache: moka::future::Cache<String, Checked>,
    refresh_after: Duration,
    /// Tokens being re-checked in the background, so each is asked about once.
    refreshing: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenValidator").finish_non_exhaustive()
    }
}

impl TokenValidator {
    pub fn new(auth_url: &str, cache_ttl: Duration) -> Result<Self, Error> {
        let channel = Channel::from_shared(auth_url.to_owned())
            .map_err(|error| {
                Error::Startup(format!("AUTH_URL {auth_url:?} is not a valid URL: {error}"))
            })?
            .connect_timeout(VALIDATE_DEADLINE)
            .timeout(VALIDATE_DEADLINE)
            .connect_lazy();
        Ok(Self {
            client: TokenServiceClient::new(channel),
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(cache_ttl)
                .build(),
            refresh_after: cache_ttl / 2,
            refreshing: Arc::default(),
        })
    }

    /// Who `access_token` belongs to. Invalid: UNAUTHENTICATED; the auth
    /// service down or slow: UNAVAILABLE, never UNAUTHENTICATED.
    pub async fn validate(&self, access_token: &str) -> Result<VerifiedUser, Error> {
        if let Some(checked) = self.cache.get(access_token).await {
            if checked.at.elapsed() >= self.refresh_after {
                self.refresh_in_background(access_token);
            }
            return Ok(checked.user);
        }
        self.check(access_token).await
    }

    /// Asks the auth service about `access_token` and remembers a positive answer.
    async fn check(&self, access_token: &str) -> Result<VerifiedUser, Error> {
        let request = ValidateTokenRequest {
            access_token: access_token.to_owned(),
        };
        let answer = tokio::time::timeout(
            VALIDATE_DEADLINE,
            self.client.clone().validate_token(request),
        )
        .await;
        let response = match answer {
            Err(_) => return Err(Error::AuthUnavailable("ValidateToken timed out".into())),
            Ok(Err(status)) if status.code() == Code::Unauthenticated => {
                self.cache.invalidate(access_token).await;
                return Err(Error::Unauthenticated(status.message().to_owned()));
            }
            Ok(Err(status)) => return Err(Error::AuthUnavailable(status.to_string())),
            Ok(Ok(response)) => response.into_inner(),
        };
        let user = VerifiedUser {
            user_id: response.user_id,
            session_id: response.session_id,
            access_token: access_token.into(),
        };
        let checked = Checked {
            user: user.clone(),
            at: Instant::now(),
        };
        self.cache.insert(access_token.to_owned(), checked).await;
        Ok(user)
    }

    /// Re-checks `access_token` off the caller's path, unless that is already
    /// under way. A refusal removes the remembered answer at once.
    fn refresh_in_background(&self, access_token: &str) {
        let token = access_token.to_owned();
        let mut refreshing = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !refreshing.insert(token.clone()) {
            return;
        }
        drop(refreshing);
        let validator = self.clone();
        tokio::spawn(async move {
            // An unavailable auth service leaves the answer to expire as usual.
            let _ = validator.check(&token).await;
            validator
                .refreshing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&token);
        });
    }

    /// Validates the `authorization: Bearer <token>` header of a request.
    pub async fn authorize(&self, headers: &http::HeaderMap) -> Result<VerifiedUser, Error> {
        let value = headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
            Error::Unauthenticated(
                "missing authorization metadata; send `authorization: Bearer <access_token>`"
                    .into(),
            )
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
            })
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                Error::Unauthenticated(
                    "authorization metadata must be `Bearer <access_token>`".into(),
                )
            })?;
        self.validate(token).await
    }
}

/// The layer: authenticates every call to `prefix` (the TaskService), and
/// lets health and reflection through untouched.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    validator: TokenValidator,
    prefix: &'static str,
}

impl AuthLayer {
    pub fn new(validator: TokenValidator, prefix: &'static str) -> Self {
        Self { validator, prefix }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            validator: self.validator.clone(),
            prefix: self.prefix,
        }
    }
}

/// The service the layer makes.
#[derive(Clone, Debug)]
pub struct Authenticated<S> {
    inner: S,
    validator: TokenValidator,
    prefix: &'static str,
}

impl<S, B> Service<http::Request<B>> for Authenticated<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone is the one that was polled ready; keep a fresh one for next time.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.validator.clone();
        let guarded = request.uri().path().starts_with(self.prefix);
        Box::pin(async move {
            if guarded {
                match validator.authorize(request.headers()).await {
                    Ok(user) => {
                        tracing::Span::current().record("user_id", user.user_id.as_str());
                        request.extensions_mut().insert(user);
                    }
                    Err(error) => return Ok(Status::from(error).into_http()),
                }
            }
            inner.call(request).await
        })
    }
}
