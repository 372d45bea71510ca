//! One tracing span per RPC, carrying the method, the caller's request id and
//! address (as the gateway forwards them), the gRPC status and the latency.
//! Services may fill the span's `user_id` once they know who is calling.

use std::time::Duration;

use http::{HeaderMap, Request, Response};
use tower_http::{
    classify::{GrpcErrorsAsFailures, GrpcFailureClass, SharedClassifier},
    trace::{MakeSpan, OnEos, OnFailure, OnRequest, OnResponse, TraceLayer},
};
use tracing::{Span, field::Empty};

/// The tower layer to put in front of a tonic server.
pub type RpcTraceLayer =
    TraceLayer<SharedClassifier<GrpcErrorsAsFailures>, RpcSpan, Quiet, RpcEnd, (), RpcEnd, RpcEnd>;

/// Builds the per-RPC tracing layer.
pub fn layer() -> RpcTraceLayer {
    TraceLayer::new_for_grpc()
        .make_span_with(RpcSpan)
        .on_request(Quiet)
        .on_response(RpcEnd)
        .on_body_chunk(())
        .on_eos(RpcEnd)
        .on_failure(RpcEnd)
}

/// Calls logged at debug level only: health probes arrive every second or so,
/// and the task service asks TokenService about tokens all the time (the
/// calls it serves are logged there, with their caller). At info level they
/// would drown the log and, measured, cost a quarter of ValidateToken's CPU.
const QUIET: [&str; 2] = ["/grpc.health.", "/todo.auth.v1.TokenService/"];

/// Opens the `rpc` span for a request.
#[derive(Clone, Copy, Debug)]
pub struct RpcSpan;

impl<B> MakeSpan<B> for RpcSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let path = request.uri().path();
        if QUIET.iter().any(|prefix| path.starts_with(prefix)) {
            return tracing::debug_span!("rpc", method = %path, latency_ms = Empty);
        }
        tracing::info_span!(
            "rpc",
            method = %path,
            request_id = %header("x-request-id"),
            client = %header("x-forwarded-for"),
            user_id = Empty,
            latency_ms = Empty,
        )
    }
}

/// Says nothing when a request starts; the end of the call is what is logged.
#[derive(Clone, Copy, Debug)]
pub struct Quiet;

impl<B> OnRequest<B> for Quiet {
    fn on_request(&mut self, _request: &Request<B>, _span: &Span) {}
}

/// Logs the end of a call with its gRPC status and latency.
#[derive(Clone, Copy, Debug)]
pub struct RpcEnd;

/// Whether the call is one of those logged at debug level only.
fn is_quiet(span: &Span) -> bool {
    span.metadata()
        .is_none_or(|metadata| *metadata.level() == tracing::Level::DEBUG)
}

/// Logs the end of a call at the level its span was made with.
fn finished(span: &Span, status: &str, stream_ms: Option<u128>) {
    match (is_quiet(span), stream_ms) {
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

impl<B> OnResponse<B> for RpcEnd {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        // The handler's time: a unary call's response headers follow its work.
        span.record("latency_ms", latency.as_millis());
        // A "trailers-only" response (any early error) carries its status in
        // the headers; other calls report theirs at the end of the stream.
        if let Some(status) = grpc_status(response.headers()) {
            finished(span, status, None);
        }
    }
}

impl OnEos for RpcEnd {
    fn on_eos(self, trailers: Option<&HeaderMap>, stream_duration: Duration, span: &Span) {
        let status = trailers.and_then(grpc_status).unwrap_or("0");
        // For a stream, how long it ran after its headers were sent.
        finished(span, status, Some(stream_duration.as_millis()));
    }
}

impl OnFailure<GrpcFailureClass> for RpcEnd {
    fn on_failure(&mut self, failure: GrpcFailureClass, latency: Duration, _span: &Span) {
        // Error statuses are already logged with the response; only
        // transport-level failures need a line of their own.
        if let GrpcFailureClass::Error(error) = failure {
            tracing::warn!(%error, latency_ms = latency.as_millis(), "rpc failed");
        }
    }
}
