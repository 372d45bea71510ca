//! Forwarding of gRPC calls to an upstream service, without decoding the
//! messages: request and response bodies stream through as they are, so
//! server streaming (WatchTasks) passes and the gateway stays cheap.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use http::{HeaderName, Request, Response, header};
use service_runtime::{StartError, client_address::TrustedProxies};
use tonic::{Status, body::Body, transport::Channel};
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
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives the request a fresh `x-request-id` of our own making.
fn replace_request_id(headers: &mut http::HeaderMap) {
    use tower_http::request_id::{MakeRequestId, MakeRequestUuid};
    if let Some(id) = MakeRequestUuid.make_request_id(&Request::new(())) {
        headers.insert(REQUEST_ID, id.into_header_value());
    }
}

/// One upstream service (possibly several replicas behind one balanced channel).
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    channel: Channel,
    name: &'static str,
    call_timeout: Duration,
    max_request_bytes: usize,
    trusted_proxies: TrustedProxies,
}

impl Upstream {
    pub fn new(
        channel: Channel,
        name: &'static str,
        call_timeout: Duration,
        max_request_bytes: usize,
        trusted_proxies: TrustedProxies,
    ) -> Self {
        Self {
            channel,
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
        // proxy's `x-forwarded-for` and `x-request-id` survive, so the
        // services' throttles and logs see the real address.
        match client {
            Some(client) => {
                let forwarded = self
                    .trusted_proxies
                    .forwarded_for(client.ip(), &parts.headers);
                parts.headers.insert(FORWARDED_FOR, forwarded);
                if !self.trusted_proxies.contains(client.ip()) {
                    replace_request_id(&mut parts.headers);
                }
            }
            None => {
                parts.headers.remove(FORWARDED_FOR);
                replace_request_id(&mut parts.headers);
            }
        }
        // Bodies are cut off at the limit as they stream.
        let exceeded = Arc::new(AtomicBool::new(false));
        let body = ForwardedBody {
            inner: http_body_util::Limited::new(body, self.max_request_bytes),
            exceeded: Arc::clone(&exceeded),
        };
        let request = Request::from_parts(parts, Body::new(body));
        let call = self.channel.clone().oneshot(request);
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

/// A balanced, lazily connecting channel over `urls`, the replicas named by
/// the setting `variable`.
pub fn channel(variable: &str, urls: &[String]) -> Result<Channel, StartError> {
    let endpoints = urls
        .iter()
        .map(|url| url.trim())
        .filter(|url| !url.is_empty())
        .map(|url| {
            tonic::transport::Endpoint::from_shared(url.to_owned())
                .map(|endpoint| {
                    endpoint
                        .connect_timeout(Duration::from_secs(2))
                        .tcp_nodelay(true)
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
    Ok(Channel::balance_list(endpoints.into_iter()))
}
