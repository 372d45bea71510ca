//! Prometheus metrics. Every crate records through the `metrics` facade into
//! one recorder per process, which the admin listener (`METRICS_ADDR`)
//! renders at `GET /metrics`. The one-process stack therefore has a single
//! endpoint for its three parts; the series every server records carry a
//! `server` label saying which part answered.
//!
//! What is recorded where: RPCs in `rpc_trace` (requests by method and code,
//! handling time) and `rate` (calls refused before that), the database pool in `database`, replica health in
//! `upstream`, and each service's own (token cache, password hashing, watch
//! streams, mail outbox) beside the code it measures.

use std::{future::Future, net::SocketAddr, sync::OnceLock, time::Duration};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::start::StartError;

/// How often histograms drop samples that have aged out of their window.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Buckets of every `*_seconds` histogram: from a cached token check (well
/// under a millisecond) to a call that waited out its deadline.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed the first time this is called (the
/// stack's three parts and a test's many servers share it).
pub fn recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder was installed first; /metrics stays empty");
        }
        describe();
        handle
    })
}

/// The series this crate records, described once for the exposition's `# HELP`.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "grpc_server_handled_total",
        "RPCs finished, by server, gRPC service, method and status code"
    );
    describe_counter!(
        "grpc_server_refused_total",
        "Calls refused before any handling, by server and reason (call_rate: an address over MAX_CALLS_PER_SECOND_PER_ADDRESS)"
    );
    describe_histogram!(
        "grpc_server_handling_seconds",
        Unit::Seconds,
        "Time until an RPC's response began (a unary call's whole work; a stream's start)"
    );
    describe_gauge!(
        "db_pool_connections",
        "Database connections held by the pool, by state (idle, in_use) and limit (max)"
    );
    describe_histogram!(
        "db_pool_acquire_seconds",
        Unit::Seconds,
        "How long a probe waited for a pooled connection, sampled every few seconds"
    );
    describe_gauge!(
        "upstream_replica_serving",
        "1 while a replica of an upstream service is in the rotation, 0 while it is out"
    );
    describe_counter!(
        "upstream_retries_total",
        "Calls sent again to another replica (never sent, or idempotent after UNAVAILABLE)"
    );
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    use axum::{Router, routing::get};

    let handle = recorder();
    let addr = listener
        .local_addr()
        .map_err(|error| StartError::other("the metrics listener has no address", error))?;
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    let app = Router::new().route("/metrics", get(move || async move { handle.render() }));
    tracing::info!(%addr, "metrics at http://{addr}/metrics");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|error| StartError::other("the metrics listener failed", error));
    upkeep.abort();
    served
}

/// Binds `addr` and serves metrics there on a task of its own until
/// `shutdown` resolves; a failure is logged, as metrics are not worth
/// stopping a service for once it runs.
pub async fn spawn(
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let listener = crate::process::bind(addr).await?;
    tokio::spawn(async move {
        if let Err(error) = serve(listener, shutdown).await {
            tracing::warn!(error = %error.chain(), "metrics stopped");
        }
    });
    Ok(())
}

/// The canonical name of a gRPC status code, as the `code` label shows it.
pub(crate) fn code_name(code: &str) -> &'static str {
    match code {
        "0" => "OK",
        "1" => "CANCELLED",
        "2" => "UNKNOWN",
        "3" => "INVALID_ARGUMENT",
        "4" => "DEADLINE_EXCEEDED",
        "5" => "NOT_FOUND",
        "6" => "ALREADY_EXISTS",
        "7" => "PERMISSION_DENIED",
        "8" => "RESOURCE_EXHAUSTED",
        "9" => "FAILED_PRECONDITION",
        "10" => "ABORTED",
        "11" => "OUT_OF_RANGE",
        "12" => "UNIMPLEMENTED",
        "13" => "INTERNAL",
        "14" => "UNAVAILABLE",
        "15" => "DATA_LOSS",
        "16" => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}
