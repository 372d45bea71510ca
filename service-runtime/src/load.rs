//! Load shedding: a server handles at most so many calls at once, and a call
//! beyond that is refused at once with RESOURCE_EXHAUSTED and a hint to retry,
//! instead of waiting in a queue that grows without bound. A call holds its
//! place until its handler has answered; a stream's messages after that are
//! bounded by the streams' own limits.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures_core::future::BoxFuture;
use http::{Request, Response};
use tokio::sync::Semaphore;
use tonic::{Code, body::Body};
use tower::{Layer, Service};

use crate::status;

/// How long a refused client is told to wait.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The layer; every connection's service shares its one set of places.
#[derive(Clone, Debug)]
pub struct LoadLimitLayer {
    places: Arc<Semaphore>,
    max: usize,
}

impl LoadLimitLayer {
    /// At most `max` calls at once.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            places: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

impl<S> Layer<S> for LoadLimitLayer {
    type Service = LoadLimit<S>;

    fn layer(&self, inner: S) -> LoadLimit<S> {
        LoadLimit {
            inner,
            places: Arc::clone(&self.places),
            max: self.max,
        }
    }
}

/// The service the layer makes.
#[derive(Clone, Debug)]
pub struct LoadLimit<S> {
    inner: S,
    places: Arc<Semaphore>,
    max: usize,
}

impl<S, B> Service<Request<B>> for LoadLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Ok(place) = Arc::clone(&self.places).try_acquire_owned() else {
            tracing::warn!(limit = self.max, "call refused: the server is at its limit");
            let refused = status::retry_after(
                Code::ResourceExhausted,
                format!(
                    "the server is handling its limit of {} calls at once; retry shortly",
                    self.max
                ),
                RETRY_AFTER,
            );
            return Box::pin(async move { Ok(refused.into_http()) });
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            drop(place);
            response
        })
    }
}
