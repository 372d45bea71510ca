//! The gateway: the one door to the todo services. Browsers speak grpc-web to
//! it, gRPC clients native gRPC; it forwards each call by service path to the
//! auth or task service, serves reflection and health for the public API, and
//! serves the web app. `run` can also start both services in-process, which is
//! what `cargo run --release` does.

pub mod config;
pub mod cors;
pub mod error;
pub mod health;
pub mod proxy;
pub mod stack;
pub mod web;

use std::future::Future;

use proto::service_names::{AUTH, TASK};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic_web::GrpcWebLayer;
use tower::Layer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub use config::Config;
pub use error::Error;
pub use stack::run;

/// Serves the gateway on `listener`, forwarding to the configured upstreams,
/// until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let auth = proxy::channel(&config.auth_upstreams)?;
    let task = proxy::channel(&config.task_upstreams)?;
    let (reporter, health) = tonic_health::server::health_reporter();
    let health_watch =
        health::watch_upstreams(reporter, vec![(AUTH, auth.clone()), (TASK, task.clone())]);
    // Reflection lists the public services only: TokenService is internal.
    let (reflection_v1, reflection_v1alpha) =
        service_runtime::reflection::services(proto::FILE_DESCRIPTOR_SET, &[AUTH, TASK])
            .map_err(|error| Error::Serve(error.to_string()))?;
    // grpc-web is translated to gRPC on the forwarded routes only: tonic-web
    // answers other HTTP/1.1 requests with 400, and those are the web app's.
    let forward = |channel, name| {
        GrpcWebLayer::new().layer(proxy::Upstream::new(
            channel,
            name,
            config.call_timeout,
            config.max_request_bytes,
        ))
    };
    let router = Routes::new(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .into_axum_router()
        .route_service(
            "/todo.auth.v1.AuthService/{*method}",
            forward(auth, "the auth service"),
        )
        .route_service(
            "/todo.task.v1.TaskService/{*method}",
            forward(task, "the task service"),
        )
        .fallback_service(web::fallback(&config.web_dir));

    let addr = listener
        .local_addr()
        .map_err(|error| Error::Serve(error.to_string()))?;
    tracing::info!(%addr, auth = ?config.auth_upstreams, task = ?config.task_upstreams, "gateway listening");
    let served = tonic::transport::Server::builder()
        // grpc-web arrives over HTTP/1.1 too; native gRPC over h2c on the same port.
        .accept_http1(true)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(service_runtime::rpc_trace::layer())
        .layer(cors::layer(&config.allowed_origins, addr.port()))
        .add_routes(Routes::from(router))
        .serve_with_incoming_shutdown(service_runtime::incoming::incoming(listener), shutdown)
        .await;
    health_watch.abort();
    served.map_err(|error| Error::Serve(error.to_string()))
}
