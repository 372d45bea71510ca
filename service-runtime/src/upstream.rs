//! Calls to another service's replicas: the one mechanism behind the
//! gateway's upstreams and the task service's auth service.
//!
//! A setting names the replicas as a comma-separated list of URLs
//! (`http://10.0.0.7:50051`) and `dns:///host:port` names, re-resolved every
//! few seconds (a Kubernetes headless Service answers with one address per
//! ready pod). Each replica is watched with `grpc.health.v1.Health/Watch` on
//! a connection of its own, pinged twice a second, so one that stops
//! answering, goes away or says NOT_SERVING (the first step of a graceful
//! stop) leaves the rotation within about a second and returns once it
//! answers SERVING. Calls go to the serving replicas in turn; when none is
//! serving, to all of them, so an outage shows the callee's own answer.
//!
//! With a client TLS configuration (mutual TLS between services), every URL
//! is `https://` and names resolved from `dns:///host:port` are dialled as
//! `https://address` but checked against `host`, the name in the replicas'
//! certificates.
//!
//! Retries are for calls that cannot have run twice: a call that never
//! reached a replica (connection refused, or refused by a replica that was
//! stopping) goes to another one; a call its caller marks idempotent also
//! after `UNAVAILABLE` or a connection lost mid-call. Retries are paid from a
//! budget (a fifth of recent calls, at least ten a second), so an outage
//! cannot multiply the load on what is left. Every RPC of these services has
//! a single request message, so request bodies are held until the answer
//! starts and can be sent again.

use std::{
    collections::HashMap,
    error::Error as StdError,
    fmt,
    net::SocketAddr,
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_core::future::BoxFuture;
use http::{Request, Response, request::Parts};
use http_body_util::{BodyExt, Full};
use opentelemetry_http::HeaderInjector;
use tonic::{
    Status,
    body::Body,
    transport::{Channel, ClientTlsConfig, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tower::{
    Service, ServiceExt,
    retry::budget::{Budget, TpsBudget},
};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::start::StartError;

/// How often `dns:///` names are resolved again.
const RESOLVE_INTERVAL: Duration = Duration::from_secs(5);
/// How often a replica's health connection is pinged, and how long the
/// answer may take: a replica that stopped answering leaves within about a second.
const HEALTH_PING_INTERVAL: Duration = Duration::from_millis(500);
const HEALTH_PING_TIMEOUT: Duration = Duration::from_millis(800);
/// Waits between attempts to watch a replica's health that could not start.
const HEALTH_RETRY_MIN: Duration = Duration::from_millis(100);
const HEALTH_RETRY_MAX: Duration = Duration::from_secs(1);
/// Attempts of one call, the first included, whatever the number of replicas.
const MAX_ATTEMPTS: usize = 3;
/// Flow-control window of each stream to a replica: HTTP/2's own default.
const STREAM_WINDOW: u32 = 64 * 1024;
/// Flow-control window of each connection to a replica: room for as many
/// full stream windows as the services' default `MAX_STREAMS_PER_CONNECTION`
/// (256), so streams that stop being read cannot use the connection's up.
const CONNECTION_WINDOW: u32 = 256 * STREAM_WINDOW;

/// What the caller knows of its calls, by gRPC path (`/package.Service/Method`).
#[derive(Clone, Copy, Debug)]
pub struct Calls {
    /// Server streams: they travel on connections of their own, so streams
    /// filling a connection's stream limit cannot hold up unary calls.
    pub streaming: fn(&str) -> bool,
    /// Calls that may run twice without harm, given their encoded request
    /// (gRPC framing included): retried after `UNAVAILABLE` or a lost
    /// connection too.
    pub idempotent: fn(&str, &[u8]) -> bool,
}

/// How many connections each replica gets.
#[derive(Clone, Copy, Debug)]
pub struct Connections {
    /// For unary calls, used in turn.
    pub unary: usize,
    /// For server streams, used in turn.
    pub streams: usize,
}

/// The replicas of one service, balanced, health-checked and retried as
/// the module says. Cheap to clone; its background tasks end when the
/// last clone is dropped.
#[derive(Clone)]
pub struct Upstream {
    shared: Arc<Shared>,
}

struct Shared {
    /// As people read it: "the auth service".
    name: &'static str,
    calls: Calls,
    connections: Connections,
    replicas: RwLock<Arc<[Arc<Replica>]>>,
    next: AtomicUsize,
    budget: TpsBudget,
    /// The replicas named by URL; those resolved from names join them.
    fixed: Vec<String>,
    /// How replicas are dialled over TLS, if they are.
    tls: Option<ClientTlsConfig>,
    resolver: std::sync::OnceLock<tokio::task::AbortHandle>,
}

/// How names become addresses: the system's resolver, except in tests.
type Lookup =
    Arc<dyn Fn(String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> + Send + Sync>;

fn system_lookup() -> Lookup {
    Arc::new(|name| Box::pin(async move { Ok(tokio::net::lookup_host(name).await?.collect()) }))
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let replicas = self.replicas();
        f.debug_struct("Upstream")
            .field("name", &self.shared.name)
            .field(
                "replicas",
                &replicas
                    .iter()
                    .map(|replica| (&replica.uri, replica.is_serving()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(resolver) = self.resolver.get() {
            resolver.abort();
        }
    }
}

/// One replica: its connections and whether its health watch says it serves.
struct Replica {
    uri: String,
    unary: Box<[Channel]>,
    streams: Box<[Channel]>,
    next: AtomicUsize,
    serving: Arc<AtomicBool>,
    watch: tokio::task::AbortHandle,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

impl Replica {
    /// `server_name`: the name TLS checks the replica's certificate for, when
    /// it is not the host of `uri` (a replica found through a DNS name).
    fn new(
        name: &'static str,
        uri: String,
        server_name: Option<&str>,
        connections: Connections,
        tls: Option<&ClientTlsConfig>,
    ) -> Result<Self, String> {
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|error| format!("{uri:?} is not a valid URL: {error}"))?;
        if let Some(tls) = tls {
            let tls = match server_name {
                Some(server_name) => tls.clone().domain_name(server_name),
                None => tls.clone(),
            };
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|error| format!("{uri:?}: cannot use TLS: {error}"))?;
        }
        let endpoint = endpoint
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            // A replica that vanished without closing is noticed, streams or not.
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true);
        let channels = |count: usize| {
            (0..count.max(1))
                .map(|_| endpoint.connect_lazy())
                .collect::<Box<[_]>>()
        };
        let health = endpoint
            .clone()
            .connect_timeout(HEALTH_RETRY_MAX)
            .http2_keep_alive_interval(HEALTH_PING_INTERVAL)
            .keep_alive_timeout(HEALTH_PING_TIMEOUT)
            .connect_lazy();
        let serving = Arc::new(AtomicBool::new(false));
        let watch = tokio::spawn(watch_health(
            name,
            uri.clone(),
            health,
            Arc::clone(&serving),
        ));
        Ok(Self {
            unary: channels(connections.unary),
            streams: channels(connections.streams),
            uri,
            next: AtomicUsize::new(0),
            serving,
            watch: watch.abort_handle(),
        })
    }

    fn is_serving(&self) -> bool {
        self.serving.load(Ordering::Relaxed)
    }

    fn channel(&self, streaming: bool) -> Channel {
        let channels = if streaming {
            &self.streams
        } else {
            &self.unary
        };
        channels[self.next.fetch_add(1, Ordering::Relaxed) % channels.len()].clone()
    }
}

/// Follows one replica's health until aborted: SERVING puts it in the
/// rotation, anything else (NOT_SERVING, the watch ending, the connection
/// failing or missing its pings) takes it out.
async fn watch_health(name: &'static str, uri: String, channel: Channel, serving: Arc<AtomicBool>) {
    let gauge = metrics::gauge!(
        "upstream_replica_serving",
        "upstream" => name,
        "replica" => uri.clone(),
    );
    gauge.set(0.0);
    let set = |now: bool| {
        gauge.set(if now { 1.0 } else { 0.0 });
        if serving.swap(now, Ordering::Relaxed) != now {
            if now {
                tracing::info!(upstream = name, replica = %uri, "replica serving: in the rotation");
            } else {
                tracing::warn!(upstream = name, replica = %uri, "replica not serving: out of the rotation");
            }
        }
    };
    let mut wait = HEALTH_RETRY_MIN;
    loop {
        let watched = HealthClient::new(channel.clone())
            .watch(HealthCheckRequest {
                service: String::new(),
            })
            .await;
        if let Ok(response) = watched {
            let mut updates = response.into_inner();
            while let Ok(Some(update)) = updates.message().await {
                set(update.status() == ServingStatus::Serving);
                wait = HEALTH_RETRY_MIN;
            }
        }
        set(false);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(HEALTH_RETRY_MAX);
    }
}

/// Where the replicas are: fixed URLs, and names to resolve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Targets {
    urls: Vec<String>,
    /// `host:port` of each `dns:///host:port`.
    names: Vec<String>,
}

impl Targets {
    /// The entries of `list`; URLs must be `https://` with `tls`, `http://` without.
    fn parse(setting: &str, list: &[String], tls: bool) -> Result<Self, StartError> {
        let mut targets = Self::default();
        for entry in list
            .iter()
            .map(|entry| entry.trim())
            .filter(|e| !e.is_empty())
        {
            if let Some(rest) = entry.strip_prefix("dns:") {
                // dns:///host:port, or dns://resolver/host:port (the system's resolver is used).
                let name = rest
                    .strip_prefix("//")
                    .and_then(|rest| rest.split_once('/'))
                    .map_or(rest, |(_, name)| name);
                let valid = name
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
                if !valid {
                    return Err(StartError::Config(format!(
                        "{setting}: {entry:?} names no host and port; write dns:///host:port"
                    )));
                }
                targets.names.push(name.to_owned());
            } else {
                Endpoint::from_shared(entry.to_owned()).map_err(|error| {
                    StartError::Config(format!("{setting}: {entry:?} is not a valid URL: {error}"))
                })?;
                let https = entry.starts_with("https://");
                if tls && !https {
                    return Err(StartError::Config(format!(
                        "{setting}: {entry:?} is not https://, but mutual TLS is configured \
                         (INTERNAL_TLS_CERT, INTERNAL_TLS_KEY, INTERNAL_CA)"
                    )));
                }
                if !tls && https {
                    return Err(StartError::Config(format!(
                        "{setting}: {entry:?} is https://, which needs INTERNAL_TLS_CERT, \
                         INTERNAL_TLS_KEY and INTERNAL_CA (mutual TLS)"
                    )));
                }
                targets.urls.push(entry.to_owned());
            }
        }
        if targets.urls.is_empty() && targets.names.is_empty() {
            return Err(StartError::Config(format!(
                "{setting} is not set: it takes the replicas' URLs, comma-separated \
                 (e.g. http://127.0.0.1:50051), or dns:///host:port"
            )));
        }
        Ok(targets)
    }
}

/// The URL of each address a name resolved to, `https://` with TLS.
fn resolved_urls(addresses: impl IntoIterator<Item = SocketAddr>, tls: bool) -> Vec<String> {
    let scheme = if tls { "https" } else { "http" };
    addresses
        .into_iter()
        .map(|address| format!("{scheme}://{address}"))
        .collect()
}

impl Upstream {
    /// The replicas `list` names (the value of the setting `setting`), for
    /// `name`, the service as people read it ("the auth service"). Must be
    /// called inside a tokio runtime: health watches and resolution start here.
    pub fn new(
        setting: &str,
        list: &[String],
        name: &'static str,
        calls: Calls,
        connections: Connections,
    ) -> Result<Self, StartError> {
        Self::with_tls(setting, list, name, calls, connections, None)
    }

    /// As [`new`](Self::new), dialling every replica over TLS when `tls`
    /// is given (and then only `https://` URLs are accepted).
    pub fn with_tls(
        setting: &str,
        list: &[String],
        name: &'static str,
        calls: Calls,
        connections: Connections,
        tls: Option<ClientTlsConfig>,
    ) -> Result<Self, StartError> {
        Self::resolving_with(
            setting,
            list,
            name,
            calls,
            connections,
            tls,
            system_lookup(),
            RESOLVE_INTERVAL,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn resolving_with(
        setting: &str,
        list: &[String],
        name: &'static str,
        calls: Calls,
        connections: Connections,
        tls: Option<ClientTlsConfig>,
        lookup: Lookup,
        every: Duration,
    ) -> Result<Self, StartError> {
        let targets = Targets::parse(setting, list, tls.is_some())?;
        let upstream = Self {
            shared: Arc::new(Shared {
                name,
                calls,
                connections,
                replicas: RwLock::new(Arc::from([])),
                next: AtomicUsize::new(0),
                budget: TpsBudget::new(Duration::from_secs(10), 10, 0.2),
                fixed: targets.urls,
                tls,
                resolver: std::sync::OnceLock::new(),
            }),
        };
        upstream.set_replicas(&[]);
        if !targets.names.is_empty() {
            let shared = Arc::downgrade(&upstream.shared);
            let tls = upstream.shared.tls.is_some();
            let resolver = tokio::spawn(resolve(shared, targets.names, tls, lookup, every));
            let _ = upstream.shared.resolver.set(resolver.abort_handle());
        }
        Ok(upstream)
    }

    /// Makes the replicas the fixed ones plus `resolved` (each URL with the
    /// name it was resolved from), keeping the connections and health of
    /// those already known.
    fn set_replicas(&self, resolved: &[(String, String)]) {
        let current = self.replicas();
        let known: HashMap<&str, &Arc<Replica>> = current
            .iter()
            .map(|replica| (replica.uri.as_str(), replica))
            .collect();
        let mut wanted: Vec<(String, Option<&str>)> = self
            .shared
            .fixed
            .iter()
            .map(|url| (url.clone(), None))
            .collect();
        wanted.extend(
            resolved
                .iter()
                .map(|(url, name)| (url.clone(), Some(name.as_str()))),
        );
        wanted.sort();
        wanted.dedup_by(|a, b| a.0 == b.0);
        let mut replicas = Vec::with_capacity(wanted.len());
        for (uri, server_name) in wanted {
            if let Some(replica) = known.get(uri.as_str()) {
                replicas.push(Arc::clone(replica));
                continue;
            }
            match Replica::new(
                self.shared.name,
                uri,
                server_name,
                self.shared.connections,
                self.shared.tls.as_ref(),
            ) {
                Ok(replica) => replicas.push(Arc::new(replica)),
                // Fixed URLs were checked at start; an address always makes a valid URL.
                Err(error) => {
                    tracing::warn!(upstream = self.shared.name, %error, "replica skipped")
                }
            }
        }
        let changed = replicas.len() != current.len()
            || replicas
                .iter()
                .zip(current.iter())
                .any(|(a, b)| a.uri != b.uri);
        if changed {
            tracing::info!(
                upstream = self.shared.name,
                replicas = ?replicas.iter().map(|replica| &replica.uri).collect::<Vec<_>>(),
                "replicas"
            );
        }
        *self
            .shared
            .replicas
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = Arc::from(replicas);
    }

    fn replicas(&self) -> Arc<[Arc<Replica>]> {
        Arc::clone(
            &self
                .shared
                .replicas
                .read()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    /// The replicas' URLs, each with whether it is in the rotation.
    pub fn replica_states(&self) -> Vec<(String, bool)> {
        self.replicas()
            .iter()
            .map(|replica| (replica.uri.clone(), replica.is_serving()))
            .collect()
    }

    /// The replica for the next attempt: the serving ones in turn, skipping
    /// those already `tried`; all of them in turn when none serves.
    fn pick(&self, tried: &[Arc<Replica>]) -> Option<Arc<Replica>> {
        let replicas = self.replicas();
        let untried =
            |replica: &&Arc<Replica>| !tried.iter().any(|seen| Arc::ptr_eq(seen, replica));
        // With none serving, every replica is a candidate.
        let any_serving = replicas.iter().any(|replica| replica.is_serving());
        let candidates: Vec<&Arc<Replica>> = replicas
            .iter()
            .filter(|replica| !any_serving || replica.is_serving())
            .filter(untried)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let turn = self.shared.next.fetch_add(1, Ordering::Relaxed);
        Some(Arc::clone(candidates[turn % candidates.len()]))
    }

    fn unavailable(&self) -> Status {
        Status::unavailable(format!(
            "{} is unavailable; retry shortly",
            self.shared.name
        ))
    }

    /// Sends the call (`parts` and its whole encoded `body`) to a replica,
    /// and to others as the module says, and returns the first answer that
    /// is not retried. The answer's body streams from the replica.
    pub async fn call(&self, mut parts: Parts, body: Bytes) -> Result<Response<Body>, Status> {
        let path = parts.uri.path().to_owned();
        let span = tracing::debug_span!(
            "upstream",
            otel.name = %path,
            otel.kind = "client",
            upstream = self.shared.name,
        );
        // The callee's span joins this call's trace (replacing whatever
        // `traceparent` the request came with: this span is its parent now).
        let context = span.context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut HeaderInjector(&mut parts.headers));
        });
        self.attempts(parts, body, &path).instrument(span).await
    }

    async fn attempts(
        &self,
        parts: Parts,
        body: Bytes,
        path: &str,
    ) -> Result<Response<Body>, Status> {
        let streaming = (self.shared.calls.streaming)(path);
        let idempotent = (self.shared.calls.idempotent)(path, &body);
        self.shared.budget.deposit();
        let Some(mut replica) = self.pick(&[]) else {
            tracing::warn!(upstream = self.shared.name, "no replica is known");
            return Err(self.unavailable());
        };
        let mut tried: Vec<Arc<Replica>> = Vec::new();
        loop {
            let request = Request::from_parts(parts.clone(), Body::new(Full::new(body.clone())));
            let answer = replica.channel(streaming).oneshot(request).await;
            tried.push(Arc::clone(&replica));
            let retry = match &answer {
                Ok(response) => idempotent && is_unavailable(response),
                Err(error) => idempotent || never_sent(error),
            };
            // Another replica must exist before the budget pays for it.
            let next = (retry && tried.len() < MAX_ATTEMPTS)
                .then(|| self.pick(&tried))
                .flatten()
                .filter(|_| self.shared.budget.withdraw());
            if let Some(next) = next {
                metrics::counter!("upstream_retries_total", "upstream" => self.shared.name)
                    .increment(1);
                tracing::debug!(upstream = self.shared.name, replica = %replica.uri, %path, "retrying on another replica");
                replica = next;
                continue;
            }
            let name = self.shared.name;
            return answer.map(|response| response.map(|body| Body::new(EndsWithStatus::new(body, name)))).map_err(|error| {
                tracing::warn!(upstream = self.shared.name, replica = %replica.uri, %path, error = %ErrorChain(&error), "replica unreachable");
                self.unavailable()
            });
        }
    }
}

/// An answer's body as it streams from a replica, except that a replica
/// lost mid-answer (killed, or its connection cut) ends it with UNAVAILABLE
/// trailers, which clients take as "reconnect", rather than a transport
/// error that reaches them as INTERNAL or UNKNOWN.
struct EndsWithStatus {
    inner: Body,
    name: &'static str,
    ended: bool,
}

impl EndsWithStatus {
    fn new(inner: Body, name: &'static str) -> Self {
        Self {
            inner,
            name,
            ended: false,
        }
    }
}

impl http_body::Body for EndsWithStatus {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(error))) => {
                tracing::debug!(upstream = self.name, %error, "replica lost mid-answer");
                self.ended = true;
                let status = Status::unavailable(format!(
                    "{} went away during the call; retry (a stream: reconnect)",
                    self.name
                ));
                let mut trailers = http::HeaderMap::new();
                status
                    .add_header(&mut trailers)
                    .map_or(Poll::Ready(Some(Err(status))), |()| {
                        Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
                    })
            }
            polled => polled,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A trailers-only answer of UNAVAILABLE: how a replica that cannot serve
/// (no database, stopping) refuses a call.
fn is_unavailable<B>(response: &Response<B>) -> bool {
    response
        .headers()
        .get("grpc-status")
        .is_some_and(|status| status.as_bytes() == b"14")
}

/// Whether a failed call certainly never ran: it was not sent (no
/// connection, or the connection was gone), or the replica refused the
/// stream unprocessed (REFUSED_STREAM, or beyond a graceful GOAWAY).
fn never_sent(error: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<tonic::ConnectError>() {
            return true;
        }
        if let Some(error) = error.downcast_ref::<hyper::Error>()
            && (error.is_canceled() || error.is_closed())
        {
            return true;
        }
        if let Some(error) = error.downcast_ref::<h2::Error>() {
            let reason = error.reason();
            if reason == Some(h2::Reason::REFUSED_STREAM)
                || (error.is_go_away() && error.is_remote() && reason == Some(h2::Reason::NO_ERROR))
            {
                return true;
            }
        }
        if let Some(error) = error.downcast_ref::<std::io::Error>()
            && error.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        cause = error.source();
    }
    false
}

/// An error with its causes, for the log.
struct ErrorChain<'a>(&'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// Resolves `names` now and `every` so often while the upstream lives;
/// the replicas are dialled over TLS when `tls` says so.
async fn resolve(
    shared: Weak<Shared>,
    names: Vec<String>,
    tls: bool,
    lookup: Lookup,
    every: Duration,
) {
    let mut last: Option<Vec<(String, String)>> = None;
    loop {
        let mut urls = Vec::new();
        let mut failed = false;
        for name in &names {
            match lookup(name.clone()).await {
                Ok(addresses) => {
                    // Certificates name the host, not the addresses it resolves to.
                    let host = name
                        .rsplit_once(':')
                        .map_or(name.as_str(), |(host, _)| host);
                    urls.extend(
                        resolved_urls(addresses, tls)
                            .into_iter()
                            .map(|url| (url, host.to_owned())),
                    );
                }
                Err(error) => {
                    failed = true;
                    tracing::warn!(%name, %error, "could not resolve; keeping the replicas known");
                }
            }
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        urls.sort();
        urls.dedup();
        // A failed lookup keeps what is known rather than dropping live replicas.
        if !failed && last.as_ref() != Some(&urls) {
            Upstream { shared }.set_replicas(&urls);
            last = Some(urls);
        }
        tokio::time::sleep(every).await;
    }
}

/// For generated clients (`TokenServiceClient::new(upstream)`): the same
/// calls, with the request body gathered first.
impl Service<Request<Body>> for Upstream {
    type Response = Response<Body>;
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = BoxFuture<'static, Result<Response<Body>, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let upstream = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok(upstream.call(parts, body).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const CALLS: Calls = Calls {
        streaming: |_| false,
        idempotent: |_, _| false,
    };
    const CONNECTIONS: Connections = Connections {
        unary: 1,
        streams: 1,
    };

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|entry| (*entry).to_owned()).collect()
    }

    #[tokio::test]
    async fn settings_name_urls_and_dns_names_or_are_refused() {
        let targets = Targets::parse(
            "X",
            &list(&[
                " http://10.0.0.1:1 ",
                "dns:///auth.todo.svc:50051",
                "",
                "dns://8.8.8.8/a:1",
            ]),
            false,
        )
        .unwrap();
        assert_eq!(targets.urls, list(&["http://10.0.0.1:1"]));
        assert_eq!(targets.names, list(&["auth.todo.svc:50051", "a:1"]));
        for (entry, message) in [
            ("dns:///auth", "X: \"dns:///auth\" names no host and port"),
            ("dns:///:50051", "names no host and port"),
            ("dns:///auth:port", "names no host and port"),
            ("not a url", "X: \"not a url\" is not a valid URL"),
        ] {
            let error = Targets::parse("X", &list(&[entry]), false)
                .unwrap_err()
                .to_string();
            assert!(error.contains(message), "{entry}: {error}");
        }
        let error = Targets::parse("AUTH_URL", &list(&[" ", ""]), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("AUTH_URL is not set"), "{error}");
        // With mutual TLS, URLs are https:// (names are resolved to https://
        // addresses); without it, https:// is a mistake named at start.
        let tls = Targets::parse("A", &list(&["https://a:1", "dns:///a:1"]), true).unwrap();
        assert_eq!(tls.urls, list(&["https://a:1"]));
        for (entry, tls, message) in [
            (
                "http://a:1",
                true,
                "is not https://, but mutual TLS is configured",
            ),
            (
                "https://a:1",
                false,
                "is https://, which needs INTERNAL_TLS_CERT",
            ),
        ] {
            let error = Targets::parse("A", &list(&[entry]), tls)
                .unwrap_err()
                .to_string();
            assert!(error.contains(message), "{entry}: {error}");
        }
    }

    /// Answers for a name that change as the test says, counting lookups.
    fn scripted(answers: Arc<Mutex<std::io::Result<Vec<SocketAddr>>>>) -> Lookup {
        Arc::new(move |_| {
            let answer = match &*answers.lock().unwrap() {
                Ok(addresses) => Ok(addresses.clone()),
                Err(error) => Err(std::io::Error::new(error.kind(), error.to_string())),
            };
            Box::pin(async move { answer })
        })
    }

    async fn eventually(upstream: &Upstream, want: &[&str]) {
        let want = list(want);
        for _ in 0..200 {
            let mut uris: Vec<String> = upstream
                .replica_states()
                .into_iter()
                .map(|(uri, _)| uri)
                .collect();
            uris.sort();
            if uris == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "replicas never became {want:?}: {:?}",
            upstream.replica_states()
        );
    }

    #[tokio::test]
    async fn names_are_resolved_again_and_the_replicas_follow() {
        let address = |last: u8| SocketAddr::from(([10, 0, 0, last], 50051));
        let answers = Arc::new(Mutex::new(Ok(vec![address(1), address(2)])));
        let upstream = Upstream::resolving_with(
            "AUTH_URL",
            &list(&["http://10.9.9.9:1", "dns:///auth:50051"]),
            "the auth service",
            CALLS,
            CONNECTIONS,
            None,
            scripted(Arc::clone(&answers)),
            Duration::from_millis(20),
        )
        .unwrap();
        eventually(
            &upstream,
            &[
                "http://10.0.0.1:50051",
                "http://10.0.0.2:50051",
                "http://10.9.9.9:1",
            ],
        )
        .await;
        let first = Arc::clone(&upstream.replicas()[0]);

        // A pod goes, another comes: the fixed URL stays, the kept replica
        // keeps its connections.
        const AFTER_THE_CHANGE: [&str; 3] = [
            "http://10.0.0.1:50051",
            "http://10.0.0.3:50051",
            "http://10.9.9.9:1",
        ];
        *answers.lock().unwrap() = Ok(vec![address(1), address(3)]);
        eventually(&upstream, &AFTER_THE_CHANGE).await;
        assert!(
            Arc::ptr_eq(&first, &upstream.replicas()[0]),
            "10.0.0.1 was kept, not rebuilt"
        );

        // A failed lookup drops nothing.
        *answers.lock().unwrap() = Err(std::io::ErrorKind::TimedOut.into());
        tokio::time::sleep(Duration::from_millis(100)).await;
        eventually(&upstream, &AFTER_THE_CHANGE).await;

        // Resolution stops with the upstream.
        let resolver = upstream.shared.resolver.get().unwrap().clone();
        drop(upstream);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(resolver.is_finished());
    }
}
