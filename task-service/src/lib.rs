//! The task service: each user's todo list over gRPC, every call checked with
//! the auth service. `serve` runs it on a listener the caller has bound, so
//! tests and the gateway's one-process stack start the real thing.

pub mod auth_layer;
pub mod config;
pub mod error;
pub mod events;
pub mod grpc;
pub mod list_query;
pub mod store;
pub mod task;

use std::future::Future;

use proto::task::v1::task_service_server::TaskServiceServer;
use service_runtime::database::{Database, Dialect, Location, Migrations};
use tokio::net::TcpListener;

pub use config::Config;
pub use error::Error;

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
};

/// Runs the task service on `listener` until `shutdown` resolves; calls in
/// flight then finish before this returns.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let validator = auth_layer::TokenValidator::new(&config.auth_url, config.token_cache_ttl)?;
    let url = Location {
        database_url: config.database_url.as_deref(),
        data_dir: &config.data_dir,
        sqlite_file: "tasks.sqlite3",
    }
    .url()
    .map_err(|error| Error::Startup(error.to_string()))?;
    let database = Database::open(&url, &MIGRATIONS)
        .await
        .map_err(|error| Error::Startup(error.to_string()))?;
    let store = store::Store::new(database.pool.clone());
    let events = match database.dialect {
        Dialect::Sqlite => events::Events::in_process(),
        Dialect::Postgres => events::Events::postgres(&url, store.clone())
            .await
            .map_err(|error| Error::Startup(format!("cannot LISTEN for task changes: {error}")))?,
    };
    let api = grpc::TaskApi::new(store, events.clone(), validator.clone());

    let (reporter, health) = tonic_health::server::health_reporter();
    let health_watch = service_runtime::health::watch_database(
        reporter,
        &[proto::service_names::TASK],
        database.clone(),
    );
    let (reflection_v1, reflection_v1alpha) = service_runtime::reflection::services(
        proto::FILE_DESCRIPTOR_SET,
        &[proto::service_names::TASK],
    )
    .map_err(|error| Error::Startup(error.to_string()))?;

    let addr = listener
        .local_addr()
        .map_err(|error| Error::Startup(error.to_string()))?;
    tracing::info!(%addr, auth_url = %config.auth_url, "task service listening");
    let served = tonic::transport::Server::builder()
        .layer(service_runtime::rpc_trace::layer())
        .layer(auth_layer::AuthLayer::new(
            validator,
            "/todo.task.v1.TaskService/",
        ))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(TaskServiceServer::new(api))
        .serve_with_incoming_shutdown(service_runtime::incoming::incoming(listener), shutdown)
        .await;
    health_watch.abort();
    events.stop();
    database.pool.close().await;
    served.map_err(|error| Error::Startup(error.to_string()))
}
