//! The gRPC server every process runs, built one way: per-RPC logging,
//! metrics and trace spans with request ids, health, reflection of the services it chooses, bounded
//! connections (per address, silent ones closed, HTTP/2 keepalive) and calls
//! (per address per second, and load shedding), and a stop that always stops. A service adds its own
//! routes; with a database, health follows the database and the pool is
//! closed after the last call. With mutual TLS, only clients presenting a
//! certificate of the configured CA get in, and of those only the allowed
//! identities are served (`mutual_tls`).
//!
//! The stop, in order: health says NOT_SERVING for everything; open streams
//! end with UNAVAILABLE ("shutting down; reconnect"); no new connections are
//! taken; in-flight calls finish; and after `SHUTDOWN_GRACE`, whatever is
//! still open is dropped.

use std::{future::Future, time::Duration};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{service::Routes, transport::Server};
use tonic_health::{
    ServingStatus,
    pb::health_server::{self, HealthServer},
    server::{HealthReporter, HealthService},
};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::{
    client_address::ClientAddressLayer,
    config::ServerArgs,
    connections::{self, Bounds},
    database::Database,
    health,
    load::LoadLimitLayer,
    mutual_tls::{AllowedClients, ClientIdentityLayer, MutualTls},
    rate::CallRateLayer,
    reflection, rpc_trace,
    start::StartError,
};

/// How often an idle HTTP/2 connection is pinged, and how long the answer may take:
/// a peer that vanished without closing is noticed within about a minute.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(45);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(15);

/// A server being configured; `serve` runs it.
#[derive(Debug)]
pub struct GrpcServer {
    name: &'static str,
    reporter: HealthReporter,
    descriptors: &'static [u8],
    public: Vec<&'static str>,
    quiet: Vec<&'static str>,
    database: Option<Database>,
    /// Whether this server closes the database's pool once it has stopped.
    closes_database: bool,
    mutual_tls: Option<(MutualTls, AllowedClients)>,
    http1: bool,
    args: ServerArgs,
}

impl GrpcServer {
    /// A server for `name` (as logged) whose reflection lists `public`, the
    /// services of `descriptors` it serves to outside callers, plus health and
    /// reflection themselves; bounded and stopped as `args` say.
    pub fn new(
        name: &'static str,
        descriptors: &'static [u8],
        public: &[&'static str],
        args: &ServerArgs,
    ) -> Self {
        Self {
            name,
            reporter: HealthReporter::new(),
            descriptors,
            public: public.to_vec(),
            // Probes and load balancers check health all the time: never
            // logged at info level, never counted against an address.
            quiet: vec![health_server::SERVICE_NAME],
            database: None,
            closes_database: false,
            mutual_tls: None,
            http1: false,
            args: args.clone(),
        }
    }

    /// Services whose calls are logged at debug level only: calls made by
    /// other services all the time, which at info level would drown the log.
    /// Health checks always are.
    #[must_use]
    pub fn quiet(mut self, services: &[&'static str]) -> Self {
        self.quiet.extend_from_slice(services);
        self
    }

    /// Reports the public services SERVING only while `database` answers, and
    /// closes its pool once the last call has finished.
    #[must_use]
    pub fn database(mut self, database: Database) -> Self {
        self.database = Some(database);
        self.closes_database = true;
        self
    }

    /// Reports health from `database` as [`database`](Self::database) does,
    /// but leaves its pool open: for a process serving one database on two
    /// servers, which closes the pool itself once both have stopped.
    #[must_use]
    pub fn database_health(mut self, database: Database) -> Self {
        self.database = Some(database);
        self.closes_database = false;
        self
    }

    /// Serves over mutual TLS: presents `tls`'s certificate, requires one
    /// signed by its CA from every client, and answers PERMISSION_DENIED to
    /// clients whose certificate names none of the `allowed` identities.
    #[must_use]
    pub fn mutual_tls(mut self, tls: MutualTls, allowed: AllowedClients) -> Self {
        self.mutual_tls = Some((tls, allowed));
        self
    }

    /// Also accepts HTTP/1.1 (grpc-web and plain web requests).
    #[must_use]
    pub fn accept_http1(mut self) -> Self {
        self.http1 = true;
        self
    }

    /// Where to report health from outside (the gateway reports its upstreams).
    pub fn health(&self) -> HealthReporter {
        self.reporter.clone()
    }

    /// Serves `routes` on `listener` until `shutdown` resolves, then stops as
    /// the module says, within the grace period.
    pub async fn serve(
        self,
        listener: TcpListener,
        routes: Routes,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let addr = listener
            .local_addr()
            .map_err(|error| StartError::other("the listener has no address", error))?;
        let (reflection_v1, reflection_v1alpha) =
            reflection::services(self.descriptors, &self.public)?;
        let methods = reflection::methods(self.descriptors, &self.public)?;
        let routes = routes
            .add_service(HealthServer::new(HealthService::from_health_reporter(
                self.reporter.clone(),
            )))
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        let health_watch = self.database.clone().map(|database| {
            health::watch_database(self.reporter.clone(), self.public.clone(), database)
        });
        // Sampled by the server that owns the pool, once per process's pool.
        let pool_metrics = self
            .database
            .clone()
            .filter(|_| self.closes_database)
            .map(|database| tokio::spawn(database.record_pool(self.name)));

        let health_abort = health_watch
            .as_ref()
            .map(tokio::task::JoinHandle::abort_handle);
        let stopping = CancellationToken::new();
        let begin_stop = {
            let stopping = stopping.clone();
            let reporter = self.reporter.clone();
            let names = self.public.clone();
            let name = self.name;
            async move {
                shutdown.await;
                tracing::info!("{name} stopping: NOT_SERVING, ending streams, finishing calls");
                if let Some(watch) = &health_abort {
                    watch.abort();
                }
                for service in names.into_iter().chain([""]) {
                    reporter
                        .set_service_status(service, ServingStatus::NotServing)
                        .await;
                }
                stopping.cancel();
            }
        };
        let bounds = Bounds {
            per_address: self.args.max_connections_per_address,
            first_byte: self.args.first_byte_timeout,
        };
        let (tls, allowed) = self.mutual_tls.map_or((None, None), |(tls, allowed)| {
            (Some(tls.server()), Some(allowed))
        });
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls)?;
        }
        tracing::info!(%addr, tls = allowed.is_some(), "{} listening", self.name);
        let served = builder
            .accept_http1(self.http1)
            .max_concurrent_streams(self.args.max_streams_per_connection)
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
            .layer(ClientAddressLayer::new(self.args.trusted_proxies.clone()))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            // Before the per-RPC log: a flood's refusals cost no log line each.
            .layer(CallRateLayer::new(
                self.name,
                self.args.max_calls_per_second_per_address,
                self.quiet.clone(),
            ))
            .layer(rpc_trace::RpcTraceLayer::new(
                self.name,
                methods,
                self.quiet,
                stopping.clone(),
            ))
            // After the per-RPC log, so refused identities show there too.
            .layer(ClientIdentityLayer::new(allowed))
            .layer(LoadLimitLayer::new(self.args.max_concurrent_calls))
            .add_routes(routes)
            .serve_with_incoming_shutdown(connections::incoming(listener, bounds), begin_stop);
        // The grace period runs from the start of the stop; what is still open then is dropped.
        let grace = self.args.shutdown_grace;
        let deadline = async {
            stopping.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        let outcome = tokio::select! {
            served = served => served.map_err(StartError::from),
            () = deadline => {
                tracing::warn!(?grace, "{} stop took longer than its grace period; dropping what is still open", self.name);
                Ok(())
            }
        };
        for task in health_watch.into_iter().chain(pool_metrics) {
            task.abort();
        }
        if let Some(database) = self.database.filter(|_| self.closes_database) {
            database.pool.close().await;
        }
        tracing::info!("{} stopped", self.name);
        outcome
    }
}
