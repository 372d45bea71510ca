//! One tracing span, one log line and its metrics per RPC: the method, the
//! caller's request id and address (resolved by `client_address`), the
//! trace it belongs to, the user once a service knows it, the gRPC status
//! and the latency. The span joins the caller's trace when the request
//! carries a W3C `traceparent` (from a browser, grpcurl, or the service
//! that called this one) and starts one otherwise. The status is read where gRPC
//! puts it: the response headers for an early error, the trailers otherwise,
//! and for grpc-web the trailer frame at the end of the body. Requests that
//! are not gRPC (the web app's files) get no span and no line.
//!
//! The same watch over each call's body ends the calls still streaming when
//! the server stops: between two messages, the stream gets the status
//! UNAVAILABLE ("shutting down; reconnect"), so clients move elsewhere and the
//! stop does not wait for them.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_core::future::BoxFuture;
use http::{HeaderMap, Request, Response, header};
use http_body::{Body, Frame};
use metrics::SharedString;
use opentelemetry::trace::{TraceContextExt as _, TraceId};
use opentelemetry_http::HeaderExtractor;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower::{Layer, Service};
use tracing::{Instrument, Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::{client_address::ClientAddress, metrics::code_name};

/// Status logged for a call whose client went away before it finished.
const CANCELLED: &str = "1";
/// The status a stream still open at a stop ends with: UNAVAILABLE.
const UNAVAILABLE: &str = "14";
/// Its message, percent-encoded as `grpc-message` requires.
const SHUTTING_DOWN: &str = "the%20server%20is%20shutting%20down%3B%20reconnect";

/// The layer to put in front of a tonic server.
#[derive(Clone, Debug)]
pub struct RpcTraceLayer {
    shared: Arc<Shared>,
    stopping: CancellationToken,
}

#[derive(Debug)]
struct Shared {
    /// The server, as its metrics' `server` label says.
    server: &'static str,
    quiet: Vec<&'static str>,
    /// The paths this server answers, each with its labels made once
    /// (shared, so a call's series cost no allocation): any other path is
    /// counted as `unknown`, so a client making up paths cannot make up series.
    methods: HashMap<String, (SharedString, SharedString)>,
}

impl RpcTraceLayer {
    /// For `server`, answering `methods` (`/package.Service/Method`): calls
    /// to the `quiet` services are logged at debug level only; streams still
    /// open when `stopping` is cancelled end with UNAVAILABLE.
    pub fn new(
        server: &'static str,
        methods: HashSet<String>,
        quiet: Vec<&'static str>,
        stopping: CancellationToken,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                server,
                quiet,
                methods: methods
                    .into_iter()
                    .map(|path| {
                        let (service, method) = path
                            .trim_start_matches('/')
                            .split_once('/')
                            .unwrap_or(("unknown", "unknown"));
                        let shared = |text: &str| SharedString::from_shared(Arc::from(text));
                        let labels = (shared(service), shared(method));
                        (path, labels)
                    })
                    .collect(),
            }),
            stopping,
        }
    }
}

impl<S> Layer<S> for RpcTraceLayer {
    type Service = RpcTrace<S>;

    fn layer(&self, inner: S) -> RpcTrace<S> {
        RpcTrace {
            inner,
            shared: self.shared.clone(),
            stopping: self.stopping.clone(),
        }
    }
}

/// The service the layer makes.
#[derive(Clone, Debug)]
pub struct RpcTrace<S> {
    inner: S,
    shared: Arc<Shared>,
    stopping: CancellationToken,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Grpc,
    GrpcWeb,
}

fn protocol<B>(request: &Request<B>) -> Option<Protocol> {
    let content_type = request.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    if content_type.starts_with("application/grpc-web") {
        Some(Protocol::GrpcWeb)
    } else if content_type.starts_with("application/grpc") {
        Some(Protocol::Grpc)
    } else {
        None
    }
}

/// Whether `path` (`/package.Service/Method`) belongs to one of `services`.
pub(crate) fn is_quiet(path: &str, services: &[&str]) -> bool {
    let path = path.trim_start_matches('/');
    services.iter().any(|service| {
        path.strip_prefix(service)
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn make_span<B>(request: &Request<B>, server: &'static str, quiet: &[&str]) -> Span {
    let path = request.uri().path();
    let span = if is_quiet(path, quiet) {
        tracing::debug_span!(
            "rpc",
            otel.name = %path,
            otel.kind = "server",
            server,
            method = %path,
            trace_id = Empty,
            latency_ms = Empty,
        )
    } else {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let client = request
            .extensions()
            .get::<ClientAddress>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "rpc",
            otel.name = %path,
            otel.kind = "server",
            server,
            method = %path,
            request_id = %header("x-request-id"),
            client = %client,
            trace_id = Empty,
            user_id = Empty,
            latency_ms = Empty,
        )
    };
    join_trace(&span, request.headers());
    span
}

/// Makes `span` part of the trace named by the request's `traceparent`,
/// if any, and records the trace's id, which every log line of the call
/// then shows.
fn join_trace(span: &Span, headers: &HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    if span.set_parent(parent).is_err() {
        return;
    }
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// What a call's series are labelled with.
#[derive(Debug)]
struct Labels {
    server: &'static str,
    service: SharedString,
    method: SharedString,
}

impl Labels {
    fn new(shared: &Shared, path: &str) -> Self {
        const UNKNOWN: SharedString = SharedString::const_str("unknown");
        let (service, method) = shared
            .methods
            .get(path)
            .cloned()
            .unwrap_or((UNKNOWN, UNKNOWN));
        Self {
            server: shared.server,
            service,
            method,
        }
    }

    fn handling_time(&self, seconds: f64) {
        metrics::histogram!(
            "grpc_server_handling_seconds",
            "server" => self.server,
            "grpc_service" => self.service.clone(),
            "grpc_method" => self.method.clone(),
        )
        .record(seconds);
    }

    fn handled(&self, status: &str) {
        metrics::counter!(
            "grpc_server_handled_total",
            "server" => self.server,
            "grpc_service" => self.service.clone(),
            "grpc_method" => self.method.clone(),
            "grpc_code" => code_name(status),
        )
        .increment(1);
    }
}

/// Logs the end of a call at the level its span was made with, and counts it.
fn finished(span: &Span, labels: &Labels, status: &str, stream_ms: Option<u128>) {
    labels.handled(status);
    let _entered = span.enter();
    let quiet = span
        .metadata()
        .is_none_or(|metadata| *metadata.level() == tracing::Level::DEBUG);
    match (quiet, stream_ms) {
        (true, _) => tracing::debug!(grpc_status = status, "rpc finished"),
        (false, Some(stream_ms)) => tracing::info!(grpc_status = status, stream_ms, "rpc finished"),
        (false, None) => tracing::info!(grpc_status = status, "rpc finished"),
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RpcTrace<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Body<Data = Bytes> + Unpin,
{
    type Response = Response<RpcBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(protocol) = protocol(&request) else {
            let call = self.inner.call(request);
            return Box::pin(async move { Ok(call.await?.map(RpcBody::untraced)) });
        };
        let span = make_span(&request, self.shared.server, &self.shared.quiet);
        let labels = Labels::new(&self.shared, request.uri().path());
        let stopping = self.stopping.clone();
        let start = Instant::now();
        let call = span.in_scope(|| self.inner.call(request));
        Box::pin(async move {
            let response = call.instrument(span.clone()).await?;
            // The handler's time: a unary call's response headers follow its work.
            let elapsed = start.elapsed();
            span.record("latency_ms", elapsed.as_millis());
            labels.handling_time(elapsed.as_secs_f64());
            Ok(match grpc_status(response.headers()) {
                // "Trailers-only": an early error carries its status in the headers.
                Some(status) => {
                    finished(&span, &labels, status, None);
                    response.map(RpcBody::untraced)
                }
                None => response.map(|inner| RpcBody {
                    inner,
                    pending: Some(Pending {
                        span,
                        labels,
                        protocol,
                        stream_start: Instant::now(),
                        stopping: Box::pin(stopping.cancelled_owned()),
                    }),
                    ended: false,
                }),
            })
        })
    }
}

/// A call whose status is still to come.
#[derive(Debug)]
struct Pending {
    span: Span,
    labels: Labels,
    protocol: Protocol,
    stream_start: Instant,
    /// Resolves when the server begins to stop.
    stopping: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Pending {
    fn finish(self, status: &str) {
        finished(
            &self.span,
            &self.labels,
            status,
            Some(self.stream_start.elapsed().as_millis()),
        );
    }
}

/// A response body that logs its call's end when the status goes by, and
/// ends it with UNAVAILABLE if the server stops first.
#[derive(Debug)]
pub struct RpcBody<B> {
    inner: B,
    pending: Option<Pending>,
    /// The body was ended here, at a stop.
    ended: bool,
}

/// An empty body, untraced: what a layer outside this one answers a call
/// it refuses with.
impl<B: Default> Default for RpcBody<B> {
    fn default() -> Self {
        Self::untraced(B::default())
    }
}

impl<B> RpcBody<B> {
    fn untraced(inner: B) -> Self {
        Self {
            inner,
            pending: None,
            ended: false,
        }
    }
}

/// The last frame of a stream ended at a stop: trailers for gRPC, the
/// trailer frame in the body for grpc-web.
fn stop_frame(protocol: Protocol) -> Frame<Bytes> {
    match protocol {
        Protocol::Grpc => {
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static(UNAVAILABLE));
            trailers.insert(
                "grpc-message",
                http::HeaderValue::from_static(SHUTTING_DOWN),
            );
            Frame::trailers(trailers)
        }
        Protocol::GrpcWeb => {
            let text = format!("grpc-status:{UNAVAILABLE}\r\ngrpc-message:{SHUTTING_DOWN}\r\n");
            let mut frame = BytesMut::with_capacity(5 + text.len());
            frame.put_u8(0x80);
            frame.put_u32(u32::try_from(text.len()).unwrap_or(u32::MAX));
            frame.put_slice(text.as_bytes());
            Frame::data(frame.freeze())
        }
    }
}

/// The status in a grpc-web trailer frame (flag 0x80) within `chunk`, if the
/// chunk holds whole frames and one of them is the trailer frame.
fn grpc_web_status(mut chunk: &[u8]) -> Option<String> {
    while chunk.len() >= 5 {
        let flag = chunk[0];
        let length =
            usize::try_from(u32::from_be_bytes([chunk[1], chunk[2], chunk[3], chunk[4]])).ok()?;
        let frame = chunk.get(5..5 + length)?;
        if flag & 0x80 != 0 {
            return std::str::from_utf8(frame)
                .ok()?
                .split("\r\n")
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.trim()
                        .eq_ignore_ascii_case("grpc-status")
                        .then(|| value.trim().to_owned())
                });
        }
        chunk = &chunk[5 + length..];
    }
    None
}

impl<B> Body for RpcBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // Nothing to send right now: if the server is stopping, this is a
        // stream waiting between messages, and it ends here.
        if polled.is_pending()
            && let Some(pending) = &mut self.pending
            && pending.stopping.as_mut().poll(cx).is_ready()
            && let Some(pending) = self.pending.take()
        {
            let protocol = pending.protocol;
            pending.finish(UNAVAILABLE);
            self.ended = true;
            return Poll::Ready(Some(Ok(stop_frame(protocol))));
        }
        let status = match &polled {
            Poll::Ready(Some(Ok(frame))) => match (frame.trailers_ref(), frame.data_ref()) {
                (Some(trailers), _) => Some(grpc_status(trailers).unwrap_or("unknown").to_owned()),
                (None, Some(data))
                    if self
                        .pending
                        .as_ref()
                        .is_some_and(|pending| pending.protocol == Protocol::GrpcWeb) =>
                {
                    grpc_web_status(data.chunk())
                }
                _ => None,
            },
            Poll::Ready(Some(Err(_))) => Some("unknown".to_owned()),
            Poll::Ready(None) => Some("unknown".to_owned()),
            Poll::Pending => None,
        };
        if let Some(status) = status
            && let Some(pending) = self.pending.take()
        {
            pending.finish(&status);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for RpcBody<B> {
    fn drop(&mut self) {
        // The client went away (or the connection closed) before the status.
        if let Some(pending) = self.pending.take() {
            pending.finish(CANCELLED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_services_match_whole_names() {
        let quiet = ["todo.auth.v1.TokenService"];
        assert!(is_quiet("/todo.auth.v1.TokenService/ValidateToken", &quiet));
        assert!(!is_quiet(
            "/todo.auth.v1.TokenServiceX/ValidateToken",
            &quiet
        ));
        assert!(!is_quiet("/todo.auth.v1.AuthService/Login", &quiet));
    }

    #[test]
    fn reads_the_status_of_a_grpc_web_trailer_frame() {
        let message = [0u8, 0, 0, 0, 2, 8, 1];
        let trailer = b"grpc-status:16\r\ngrpc-message:no\r\n";
        let mut chunk = message.to_vec();
        chunk.push(0x80);
        chunk.extend_from_slice(&u32::try_from(trailer.len()).unwrap().to_be_bytes());
        chunk.extend_from_slice(trailer);
        assert_eq!(grpc_web_status(&chunk).as_deref(), Some("16"));
        assert_eq!(grpc_web_status(&message), None);
        assert_eq!(grpc_web_status(&chunk[..9]), None);
    }

    fn framed(flag: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![flag];
        frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        frame.extend_from_slice(payload);
        frame
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(chunk in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = grpc_web_status(&chunk);
        }

        #[test]
        fn the_trailer_after_any_messages_gives_its_status(
            messages in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..5),
            status in 0u32..17,
            message in "[ -~&&[^:\r\n]]{0,40}",
        ) {
            let mut chunk: Vec<u8> = messages.iter().flat_map(|m| framed(0, m)).collect();
            let trailer = format!("grpc-message:{message}\r\ngrpc-status:{status}\r\n");
            chunk.extend(framed(0x80, trailer.as_bytes()));
            proptest::prop_assert_eq!(grpc_web_status(&chunk), Some(status.to_string()));
            // Cut anywhere inside the trailer frame, no status is made up.
            let cut = chunk.len() - 1;
            proptest::prop_assert_eq!(grpc_web_status(&chunk[..cut]), None);
        }
    }
}
