//! Forwarding of gRPC calls to an upstream service, without decoding the
//! messages: request and response bodies stream through as they are, so
//! server streaming (WatchTasks) passes and the gateway stays cheap.
//!
//! One client must not be able to stall everyone else's calls through the
//! HTTP/2 connections the gateway shares among them (`Pool`): long-lived
//! streams and unary calls travel on separate connections, several of each,
//! so streams filling a connection's stream limit cannot hold up unary calls;
//! and each stream's flow-control window is small beside its connection's,
//! so a stream whose reader stopped holds back only its own 64 KiB.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use http::{HeaderName, Request, Response, header};
use service_runtime::{StartError, client_address::TrustedProxies};
use tonic::{
    Status,
    body::Body,
    transport::{Channel, Endpoint},
};
use tower::{Service, ServiceExt};

/// Headers that belong to one hop; HTTP/2 upstreams refuse most of them.
/// `content-length` goes too: grpc-web-text bodies shrink when tonic-web
/// decodes them, and HTTP/2 frames carry their own lengths.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
    HeaderName::from_static("keep-alive"),
];

const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// One upstream service (possibly several replicas behind each channel of its pool).
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    pool: Pool,
    name: &'static str,
    call_timeout: Duration,
    max_request_bytes: usize,
    trusted_proxies: TrustedProxies,
}

impl Upstream {
    pub fn new(
        pool: Pool,
        name: &'static str,
        call_timeout: Duration,
        max_request_bytes: usize,
        trusted_proxies: TrustedProxies,
    ) -> Self {
        Self {
            pool,
            name,
            call_timeout,
            max_request_bytes,
            trusted_proxies,
        }
    }
}

/// Server-streaming methods: they live as long as the client wants, so the
/// per-call deadline does not apply to them.
fn is_streaming(path: &str) -> bool {
    path.ends_with("/WatchTasks")
}

impl<B> Service<Request<B>> for Upstream
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let upstream = self.clone();
        Box::pin(async move {
            Ok(upstream
                .forward(request)
                .await
                .unwrap_or_else(Status::into_http))
        })
    }
}

impl Upstream {
    async fn forward<B>(self, request: Request<B>) -> Result<Response<Body>, Status>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let client = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr());
        let streaming = is_streaming(request.uri().path());
        let (mut parts, body) = request.into_parts();
        for name in &HOP_BY_HOP {
            parts.headers.remove(name);
        }
        // What a client claims about itself is not passed on: only a trusted
        // proxy's `x-forwarded-for` survives, so the services' throttles and
        // logs see the real address. (The server replaced an untrusted
        // `x-request-id` before the call got here.)
        match client {
            Some(client) => {
                let forwarded = self
                    .trusted_proxies
                    .forwarded_for(client.ip(), &parts.headers);
                parts.headers.insert(FORWARDED_FOR, forwarded);
            }
            None => {
                parts.headers.remove(FORWARDED_FOR);
            }
        }
        // Bodies are cut off at the limit as they stream.
        let exceeded = Arc::new(AtomicBool::new(false));
        let body = ForwardedBody {
            inner: http_body_util::Limited::new(body, self.max_request_bytes),
            exceeded: Arc::clone(&exceeded),
        };
        let request = Request::from_parts(parts, Body::new(body));
        let call = self.pool.pick(streaming).oneshot(request);
        let response = if streaming {
            call.await
        } else {
            tokio::time::timeout(self.call_timeout, call)
                .await
                .map_err(|_| {
                    Status::deadline_exceeded(format!("{} did not answer in time", self.name))
                })?
        };
        match response {
            Ok(mut response) => {
                // An upstream that refused to decode the request answers in
                // tonic's codes; clients get the contract's.
                service_runtime::limits::contract_status(response.headers_mut());
                Ok(response.map(Body::new))
            }
            Err(_) if exceeded.load(Ordering::Relaxed) => Err(Status::resource_exhausted(format!(
                "request is larger than the gateway's limit of {} bytes",
                self.max_request_bytes
            ))),
            Err(error) => {
                tracing::warn!(upstream = self.name, error = ?error, "upstream unreachable");
                Err(Status::unavailable(format!(
                    "{} is unavailable; retry shortly",
                    self.name
                )))
            }
        }
    }
}

/// A request body on its way upstream: limited in size (remembering when the
/// limit was hit), with the end of the stream passed on exactly, and without
/// the incoming size hint, which for grpc-web-text is the base64 length, not
/// the decoded one, and must not become the upstream's content-length.
struct ForwardedBody<B> {
    inner: http_body_util::Limited<B>,
    exceeded: Arc<AtomicBool>,
}

impl<B> http_body::Body for ForwardedBody<B>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(error))) = &polled
            && error.is::<http_body_util::LengthLimitError>()
        {
            self.exceeded.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// Flow-control window of each stream to an upstream: HTTP/2's own default.
const STREAM_WINDOW: u32 = 64 * 1024;
/// Flow-control window of each connection to an upstream: room for as many
/// full stream windows as the services' default `MAX_STREAMS_PER_CONNECTION`
/// (256), so streams that stop being read cannot use the connection's up.
const CONNECTION_WINDOW: u32 = 256 * STREAM_WINDOW;

/// HTTP/2 connections to one upstream service: `unary` for unary calls and
/// `streams` for server streams, each a set of balanced channels over all
/// replicas, taken in turn.
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    unary: Connections,
    streams: Connections,
}

/// Channels used in turn.
#[derive(Clone, Debug)]
struct Connections {
    channels: Arc<[Channel]>,
    next: Arc<AtomicUsize>,
}

impl Connections {
    fn new(count: usize, endpoints: &[Endpoint]) -> Self {
        Self {
            channels: (0..count.max(1))
                .map(|_| Channel::balance_list(endpoints.iter().cloned()))
                .collect(),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn next(&self) -> Channel {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        self.channels[turn % self.channels.len()].clone()
    }
}

impl Pool {
    /// A pool over `urls`, the replicas named by the setting `variable`, that
    /// connects lazily: `connections` for unary calls and `stream_connections`
    /// for streams, to each replica.
    pub fn new(
        variable: &str,
        urls: &[String],
        connections: usize,
        stream_connections: usize,
    ) -> Result<Self, StartError> {
        let endpoints = endpoints(variable, urls)?;
        Ok(Self {
            unary: Connections::new(connections, &endpoints),
            streams: Connections::new(stream_connections, &endpoints),
        })
    }

    /// The channel for the next call.
    fn pick(&self, streaming: bool) -> Channel {
        if streaming {
            self.streams.next()
        } else {
            self.unary.next()
        }
    }

    /// A channel for the gateway's own calls (health checks).
    pub fn channel(&self) -> Channel {
        self.unary.next()
    }
}

/// The endpoints of `urls`, the replicas named by the setting `variable`.
fn endpoints(variable: &str, urls: &[String]) -> Result<Vec<Endpoint>, StartError> {
    let endpoints = urls
        .iter()
        .map(|url| url.trim())
        .filter(|url| !url.is_empty())
        .map(|url| {
            Endpoint::from_shared(url.to_owned())
                .map(|endpoint| {
                    endpoint
                        .connect_timeout(Duration::from_secs(2))
                        .tcp_nodelay(true)
                        .initial_stream_window_size(STREAM_WINDOW)
                        .initial_connection_window_size(CONNECTION_WINDOW)
                        // A replica that vanished without closing is noticed, streams or not.
                        .http2_keep_alive_interval(Duration::from_secs(30))
                        .keep_alive_timeout(Duration::from_secs(10))
                        .keep_alive_while_idle(true)
                })
                .map_err(|error| {
                    StartError::Config(format!("{variable}: {url:?} is not a valid URL: {error}"))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if endpoints.is_empty() {
        return Err(StartError::Config(format!(
            "{variable} is not set: the gateway needs the URLs of the service's replicas \
             (comma-separated, e.g. http://127.0.0.1:50051); to run the whole stack in one \
             process, run `cargo run --release` (the todo-stack binary) instead"
        )));
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_and_unary_calls_have_connections_of_their_own() {
        let urls = ["http://127.0.0.1:1".to_owned()];
        let pool = Pool::new("TEST", &urls, 3, 2).unwrap();
        assert_eq!(
            (pool.unary.channels.len(), pool.streams.channels.len()),
            (3, 2)
        );
        let none = Pool::new("TEST", &urls, 0, 0).unwrap();
        assert_eq!(
            (none.unary.channels.len(), none.streams.channels.len()),
            (1, 1),
            "at least one of each"
        );
        let error = Pool::new("TASK_UPSTREAMS", &[" ".to_owned()], 1, 1).unwrap_err();
        assert!(
            error.to_string().contains("TASK_UPSTREAMS is not set"),
            "{error}"
        );
    }
}
