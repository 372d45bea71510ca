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

use futures::{StreamExt, future::BoxFuture};
use http::{HeaderName, HeaderValue, Request, Response, header};
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

/// One upstream service (possibly several replicas behind one balanced channel).
#[derive(Clone, Debug)]
pub struct Upstream {
    channel: Channel,
    name: &'static str,
    call_timeout: Duration,
    max_request_bytes: usize,
}

impl Upstream {
    pub fn new(
        channel: Channel,
        name: &'static str,
        call_timeout: Duration,
        max_request_bytes: usize,
    ) -> Self {
        Self {
            channel,
            name,
            call_timeout,
            max_request_bytes,
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
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
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
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
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
        if let Some(client) = client {
            let forwarded = match parts
                .headers
                .get("x-forwarded-for")
                .and_then(|value| value.to_str().ok())
            {
                Some(earlier) => format!("{earlier}, {}", client.ip()),
                None => client.ip().to_string(),
            };
            if let Ok(value) = HeaderValue::from_str(&forwarded) {
                parts.headers.insert("x-forwarded-for", value);
            }
        }
        // Bodies are cut off at the limit as they stream. Streaming them also
        // hides the incoming size hint, which for grpc-web-text is the base64
        // length, not the decoded one, and must not become a content-length.
        let limited = http_body_util::Limited::new(body, self.max_request_bytes);
        let exceeded = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&exceeded);
        let frames = http_body_util::BodyStream::new(limited).inspect(move |frame| {
            if frame
                .as_ref()
                .is_err_and(|error| error.is::<http_body_util::LengthLimitError>())
            {
                flag.store(true, Ordering::Relaxed);
            }
        });
        let body = http_body_util::StreamBody::new(frames);
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
            Ok(response) => Ok(response.map(Body::new)),
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

/// A balanced, lazily connecting channel over `urls`.
pub fn channel(urls: &[String]) -> Result<Channel, crate::Error> {
    let endpoints = urls
        .iter()
        .map(|url| {
            tonic::transport::Endpoint::from_shared(url.clone())
                .map(|endpoint| {
                    endpoint
                        .connect_timeout(Duration::from_secs(2))
                        .tcp_nodelay(true)
                })
                .map_err(|error| crate::Error::Upstream {
                    url: url.clone(),
                    reason: error.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if endpoints.is_empty() {
        return Err(crate::Error::Upstream {
            url: String::new(),
            reason: "no upstream given".into(),
        });
    }
    Ok(Channel::balance_list(endpoints.into_iter()))
}
