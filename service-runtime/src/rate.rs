//! Calls per second per client address: a client that sends more than its
//! share is refused before anything is decoded, counted or looked up, so a
//! flood costs the server as little as a refusal can. The budget is a token
//! bucket per address (GCRA, from `governor`): short bursts pass, a steady
//! flood does not. IPv6 clients are counted per /64, the block one host
//! usually holds, so rotating addresses within it gains nothing.
//! Calls between services (the quiet ones, such as token validation) and
//! requests that are not gRPC (the web app's files) are not counted.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures_core::future::BoxFuture;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock as _};
use http::{Request, Response, header};
use tonic::Code;
use tower::{Layer, Service};

use crate::{client_address::ClientAddress, rpc_trace, status};

/// How many calls pass between two sweeps of the addresses whose buckets are full again.
const SWEEP_EVERY: u64 = 4096;

/// The layer; every connection's service shares its one set of buckets.
#[derive(Clone, Debug)]
pub struct CallRateLayer {
    /// The server, as the refusals' series names it.
    server: &'static str,
    limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    per_second: u32,
    exempt: Arc<[&'static str]>,
    calls: Arc<AtomicU64>,
}

impl CallRateLayer {
    /// At most `per_second` calls per second from one address to `server`,
    /// with bursts of twice that; 0 turns the limit off. Calls to the
    /// `exempt` services (whole service names) are not counted.
    pub fn new(server: &'static str, per_second: u32, exempt: Vec<&'static str>) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        Self {
            server,
            limiter,
            per_second,
            exempt: exempt.into(),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<S> Layer<S> for CallRateLayer {
    type Service = CallRate<S>;

    fn layer(&self, inner: S) -> CallRate<S> {
        CallRate {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service the layer makes.
#[derive(Clone, Debug)]
pub struct CallRate<S> {
    inner: S,
    layer: CallRateLayer,
}

/// The key an address is counted under: IPv4 as it is, IPv6 by its /64.
fn bucket(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

impl CallRateLayer {
    /// How long `request`'s client must wait, if it is over its budget.
    fn over_budget<B>(&self, request: &Request<B>) -> Option<Duration> {
        let limiter = self.limiter.as_ref()?;
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
        if !grpc || rpc_trace::is_quiet(request.uri().path(), &self.exempt) {
            return None;
        }
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let client = bucket(ClientAddress::of(request.extensions()));
        limiter
            .check_key(&client)
            .err()
            .map(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

impl<S, B, ResBody> Service<Request<B>> for CallRate<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some(wait) = self.layer.over_budget(&request) else {
            return Box::pin(self.inner.call(request));
        };
        tracing::debug!(
            wait_ms = wait.as_millis(),
            "call refused: over the address's call rate"
        );
        // Counted here, not per method: a flood's refusals make no series of their own.
        metrics::counter!(
            "grpc_server_refused_total",
            "server" => self.layer.server,
            "reason" => "call_rate",
        )
        .increment(1);
        let wait = wait.max(Duration::from_millis(1));
        let mut refused = status::retry_after(
            Code::ResourceExhausted,
            format!(
                "too many calls from your address (the limit is {} per second); retry in {} ms",
                self.layer.per_second,
                wait.as_millis()
            ),
            wait,
        )
        .into_http::<ResBody>();
        // A trailers-only answer in the request's own protocol, so grpc-web
        // clients (whose calls are translated further in) read it too.
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            refused
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type.clone());
        }
        Box::pin(async move { Ok(refused) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_block() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(other));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(bucket(v4), v4);
        assert_eq!(bucket("::ffff:192.0.2.7".parse().unwrap()), v4);
    }
}
