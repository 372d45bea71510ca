//! The gateway: the one door to the todo services. Browsers speak grpc-web to
//! it, gRPC clients native gRPC; it forwards each call by service path to the
//! auth or task service replicas (`proxy`), serves reflection and health for
//! the public API (`health` follows the upstreams), CORS for other origins
//! (`cors`), and the web app (`web`). It holds no state and no secrets.

pub mod config;
mod cors;
mod health;
mod proxy;
mod web;

use std::future::Future;

use proto::{auth::v1::auth_service_server, task::v1::task_service_server};
use service_runtime::{GrpcServer, StartError};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic_web::GrpcWebLayer;
use tower::Layer;

pub use config::{Config, FrontArgs};

/// Serves the gateway on `listener`, forwarding to the configured upstreams,
/// until `shutdown` resolves. Without upstreams it refuses to start: a
/// gateway with nothing behind it must not look healthy.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    const AUTH: &str = auth_service_server::SERVICE_NAME;
    const TASK: &str = task_service_server::SERVICE_NAME;
    let front = &config.front;
    let connections = service_runtime::upstream::Connections {
        unary: front.upstream_connections,
        streams: front.upstream_stream_connections,
    };
    let auth = proxy::upstream(
        "AUTH_UPSTREAMS",
        &config.auth_upstreams,
        "the auth service",
        connections,
    )?;
    let task = proxy::upstream(
        "TASK_UPSTREAMS",
        &config.task_upstreams,
        "the task service",
        connections,
    )?;
    let port = listener
        .local_addr()
        .map_err(|error| StartError::other("the listener has no address", error))?
        .port();
    // Reflection lists the public services only: TokenService is internal.
    let server = GrpcServer::new(
        "gateway",
        proto::FILE_DESCRIPTOR_SET,
        &[AUTH, TASK],
        &config.server,
    )
    .accept_http1();
    let health_watch = health::watch_upstreams(
        server.health(),
        vec![(AUTH, auth.clone()), (TASK, task.clone())],
    );
    // grpc-web is translated to gRPC on the forwarded routes only: tonic-web
    // answers other HTTP/1.1 requests with 400, and those are the web app's.
    let forward = |upstream, name| {
        GrpcWebLayer::new().layer(proxy::Forward::new(
            upstream,
            name,
            front.call_timeout,
            front.max_request_bytes,
            config.server.trusted_proxies.clone(),
        ))
    };
    let router = axum::Router::new()
        .route_service(
            &format!("/{AUTH}/{{*method}}"),
            forward(auth, "the auth service"),
        )
        .route_service(
            &format!("/{TASK}/{{*method}}"),
            forward(task, "the task service"),
        )
        .fallback_service(web::fallback(web::WebApp::load(&front.web_dir)?))
        .layer(cors::layer(&front.allowed_origins, port));
    tracing::info!(auth = ?config.auth_upstreams, task = ?config.task_upstreams, "forwarding");
    let served = server.serve(listener, Routes::from(router), shutdown).await;
    health_watch.abort();
    served
}
