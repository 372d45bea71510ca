//! The gRPC server every process runs, built one way: per-RPC logging with
//! request ids, health, reflection of the services it chooses, a listener
//! with Nagle's algorithm off, and a graceful stop. A service adds its own
//! routes; with a database, health follows the database and the pool is
//! closed after the last call.

use std::future::Future;

use tokio::net::TcpListener;
use tonic::{
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::{database::Database, health, reflection, rpc_trace, start::StartError};

/// A server being configured; `serve` runs it.
#[derive(Debug)]
pub struct GrpcServer {
    name: &'static str,
    reporter: HealthReporter,
    descriptors: &'static [u8],
    public: Vec<&'static str>,
    quiet: Vec<&'static str>,
    database: Option<Database>,
    http1: bool,
}

impl GrpcServer {
    /// A server for `name` (as logged) whose reflection lists `public`, the
    /// services of `descriptors` it serves to outside callers, plus health and
    /// reflection themselves.
    pub fn new(name: &'static str, descriptors: &'static [u8], public: &[&'static str]) -> Self {
        Self {
            name,
            reporter: HealthReporter::new(),
            descriptors,
            public: public.to_vec(),
            quiet: Vec::new(),
            database: None,
            http1: false,
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

    /// Serves `routes` on `listener` until `shutdown` resolves; calls in flight finish first.
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
        let routes = routes
            .add_service(HealthServer::new(HealthService::from_health_reporter(
                self.reporter.clone(),
            )))
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        let health_watch = self.database.clone().map(|database| {
            health::watch_database(self.reporter.clone(), self.public.clone(), database)
        });
        tracing::info!(%addr, "{} listening", self.name);
        let served = Server::builder()
            .accept_http1(self.http1)
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(rpc_trace::RpcTraceLayer::new(self.quiet))
            .add_routes(routes)
            // gRPC writes small frames and waits for answers, which Nagle would delay.
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await;
        if let Some(watch) = health_watch {
            watch.abort();
        }
        if let Some(database) = self.database {
            database.pool.close().await;
        }
        tracing::info!("{} stopped", self.name);
        Ok(served?)
    }
}
