//! Authentication of every TaskService call. A tower layer (tonic's
//! `Interceptor` is synchronous and cannot await a network call) asks the auth
//! service's `TokenService/ValidateToken` about the bearer token and puts the
//! verified identity into the request's extensions, where handlers find it.
//! A user whose account was deleted is refused here from the moment this
//! replica learns of it (`TokenValidator::forget_user`), whatever is cached.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use proto::auth::v1::{ValidateTokenRequest, token_service_client::TokenServiceClient};
use service_runtime::upstream::Upstream;
use tonic::{Code, Status, server::NamedService};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::error::Error;

/// How long a call may wait for the auth service before it is UNAVAILABLE.
const VALIDATE_DEADLINE: Duration = Duration::from_secs(2);

/// Why a deleted user's calls and watches are refused.
pub const ACCOUNT_DELETED: &str = "the account was deleted";

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
struct Answer {
    user: VerifiedUser,
    at: Instant,
}

/// Validates access tokens with the auth service over one shared, lazily
/// connecting channel, remembering positive answers for a short while.
///
/// An answer older than half its lifetime is still used, but the next call
/// with that token asks the auth service again in the background: a token
/// in steady use is then never waited for, while each answer still expires
/// at the same time and a logout is enforced as promptly.
#[derive(Clone)]
pub struct TokenValidator {
    client: TokenServiceClient<Upstream>,
    /// A revoked session is refused at most this long after its logout.
    cache: moka::future::Cache<String, Answer>,
    refresh_after: Duration,
    /// Tokens being re-checked in the background, so each is asked about once.
    refreshing: Arc<Mutex<HashSet<String>>>,
    /// Users whose account was deleted lately, by id. An answer about one of
    /// their tokens that was asked for before the deletion can still land in
    /// the cache after it; this refuses such answers for as long as one can
    /// live (a question's deadline plus the cache's lifetime), after which
    /// the auth service refuses the tokens itself.
    deleted: moka::future::Cache<String, ()>,
}

impl std::fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenValidator").finish_non_exhaustive()
    }
}

impl TokenValidator {
    /// A validator asking the auth service's replicas of `auth`, trusting an
    /// answer for `cache_ttl`.
    pub fn new(auth: Upstream, cache_ttl: Duration) -> Self {
        Self {
            client: TokenServiceClient::new(auth),
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(cache_ttl)
                // forget_user drops a user's answers by predicate.
                .support_invalidation_closures()
                .build(),
            refresh_after: cache_ttl / 2,
            refreshing: Arc::default(),
            deleted: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(cache_ttl.saturating_add(VALIDATE_DEADLINE * 2))
                .build(),
        }
    }

    /// Who `access_token` belongs to. Invalid: UNAUTHENTICATED; the auth
    /// service down or slow: UNAVAILABLE, never UNAUTHENTICATED.
    /// `request_id` goes along to the auth service, so its log ties the
    /// question to the call that asked it.
    pub async fn validate(
        &self,
        access_token: &str,
        request_id: Option<&str>,
    ) -> Result<VerifiedUser, Error> {
        let user = self.remembered_or_asked(access_token, request_id).await?;
        if self.deleted.contains_key(&user.user_id) {
            self.cache.invalidate(access_token).await;
            return Err(Error::unauthenticated(ACCOUNT_DELETED));
        }
        Ok(user)
    }

    async fn remembered_or_asked(
        &self,
        access_token: &str,
        request_id: Option<&str>,
    ) -> Result<VerifiedUser, Error> {
        if let Some(answer) = self.cache.get(access_token).await {
            cache_lookup("hit");
            if answer.at.elapsed() >= self.refresh_after {
                self.refresh_in_background(access_token);
            }
            return Ok(answer.user);
        }
        cache_lookup("miss");
        // Concurrent calls with one new token wait for one question, not one each.
        self.cache
            .try_get_with(access_token.to_owned(), self.ask(access_token, request_id))
            .await
            .map(|answer| answer.user)
            .map_err(|error| match error.as_ref() {
                Error::Unauthenticated(message) => Error::Unauthenticated(message.clone()),
                Error::AuthUnavailable(cause) => Error::AuthUnavailable(cause.clone()),
                other => Error::internal(other.to_string()),
            })
    }

    /// Refuses every token of `user_id` from now on: the account was
    /// deleted. Its remembered answers are dropped, and answers still on
    /// their way are refused when they arrive.
    pub async fn forget_user(&self, user_id: &str) {
        self.deleted.insert(user_id.to_owned(), ()).await;
        let user_id = user_id.to_owned();
        if let Err(error) = self
            .cache
            .invalidate_entries_if(move |_, answer| answer.user.user_id == user_id)
        {
            // Only when the cache was built without closures; the deleted
            // users' list still refuses the tokens.
            tracing::warn!(%error, "cannot drop a deleted user's cached tokens");
        }
    }

    /// Asks the auth service about `access_token`.
    #[tracing::instrument(level = "debug", name = "validate_token", skip_all)]
    async fn ask(&self, access_token: &str, request_id: Option<&str>) -> Result<Answer, Error> {
        let mut request = tonic::Request::new(ValidateTokenRequest {
            access_token: access_token.to_owned(),
        });
        if let Some(id) = request_id.and_then(|id| id.parse().ok()) {
            request.metadata_mut().insert("x-request-id", id);
        }
        let answer = tokio::time::timeout(
            VALIDATE_DEADLINE,
            self.client.clone().validate_token(request),
        )
        .await;
        let response = match answer {
            Err(_) => return Err(Error::AuthUnavailable("ValidateToken timed out".into())),
            Ok(Err(status)) if status.code() == Code::Unauthenticated => {
                return Err(Error::unauthenticated(status.message().to_owned()));
            }
            Ok(Err(status)) => return Err(Error::AuthUnavailable(status.to_string())),
            Ok(Ok(response)) => response.into_inner(),
        };
        Ok(Answer {
            user: VerifiedUser {
                user_id: response.user_id,
                session_id: response.session_id,
                access_token: access_token.into(),
            },
            at: Instant::now(),
        })
    }

    /// Re-checks `access_token` off the caller's path, unless that is already
    /// under way. A refusal removes the remembered answer at once; an
    /// unavailable auth service leaves it to expire as usual.
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
        // A trace of its own, linked to the call that found the answer old:
        // that call has long answered when this one ends.
        let span = tracing::debug_span!(parent: None, "token_recheck");
        span.follows_from(tracing::Span::current());
        tokio::spawn(
            async move {
                let outcome = match validator.ask(&token, None).await {
                    Ok(answer) => {
                        validator.cache.insert(token.clone(), answer).await;
                        "valid"
                    }
                    Err(Error::Unauthenticated(_)) => {
                        validator.cache.invalidate(&token).await;
                        "refused"
                    }
                    Err(_) => "unavailable",
                };
                metrics::counter!("token_cache_refreshes_total", "outcome" => outcome).increment(1);
                validator
                    .refreshing
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&token);
            }
            .instrument(span),
        );
    }

    /// Validates the `authorization: Bearer <token>` header of a request.
    pub async fn authorize(&self, headers: &http::HeaderMap) -> Result<VerifiedUser, Error> {
        let token = service_runtime::bearer::token(headers)
            .map_err(|error| Error::unauthenticated(error.to_string()))?;
        let request_id = headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok());
        self.validate(token, request_id).await
    }
}

/// The layer: authenticates every call to the service it wraps.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    validator: TokenValidator,
}

impl AuthLayer {
    pub fn new(validator: TokenValidator) -> Self {
        Self { validator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            validator: self.validator.clone(),
        }
    }
}

/// The service the layer makes; it keeps the wrapped service's name, so it
/// is routed like it.
#[derive(Clone, Debug)]
pub struct Authenticated<S> {
    inner: S,
    validator: TokenValidator,
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
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
        Box::pin(async move {
            match validator.authorize(request.headers()).await {
                Ok(user) => {
                    tracing::Span::current().record("user_id", user.user_id.as_str());
                    request.extensions_mut().insert(user);
                }
                Err(error) => return Ok(Status::from(error).into_http()),
            }
            inner.call(request).await
        })
    }
}

/// Counts a lookup in the token cache: a hit spares the auth service a call.
fn cache_lookup(result: &'static str) {
    metrics::counter!("token_cache_lookups_total", "result" => result).increment(1);
}
