//! The auth service: accounts, sessions and JWT access tokens over gRPC.
//! `serve` runs it on a listener the caller has bound, so tests and the
//! gateway's one-process stack start the real thing.

pub mod accounts;
pub mod config;
pub mod email;
pub mod error;
pub mod grpc;
pub mod password;
pub mod store;
pub mod token;

use std::{future::Future, sync::Arc};

use proto::auth::v1::{
    auth_service_server::AuthServiceServer, token_service_server::TokenServiceServer,
};
use service_runtime::database::{Database, Location, Migrations};
use tokio::net::TcpListener;

pub use config::Config;
pub use error::Error;

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
};

/// Runs the auth service on `listener` until `shutdown` resolves; calls in
/// flight then finish before this returns.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // The secret is checked first: a bad one stops the start before anything else happens.
    let keys = token::TokenKeys::from_config(&config)?;
    let url = Location {
        database_url: config.database_url.as_deref(),
        data_dir: &config.data_dir,
        sqlite_file: "auth.sqlite3",
    }
    .url()
    .map_err(|error| Error::Startup(error.to_string()))?;
    let database = Database::open(&url, &MIGRATIONS)
        .await
        .map_err(|error| Error::Startup(error.to_string()))?;
    let concurrency = config
        .password_hash_concurrency
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let hasher = password::Hasher::new(concurrency).await?;
    let accounts = Arc::new(accounts::Accounts::new(
        &config,
        store::Store::new(database.pool.clone()),
        hasher,
        keys,
    ));
    let api = grpc::AuthApi::new(accounts);

    let (reporter, health) = tonic_health::server::health_reporter();
    let health_watch = service_runtime::health::watch_database(
        reporter,
        &[proto::service_names::AUTH, proto::service_names::TOKEN],
        database.clone(),
    );
    let (reflection_v1, reflection_v1alpha) = service_runtime::reflection::services(
        proto::FILE_DESCRIPTOR_SET,
        &[proto::service_names::AUTH, proto::service_names::TOKEN],
    )
    .map_err(|error| Error::Startup(error.to_string()))?;

    tracing::info!(addr = %listener.local_addr().map_err(|e| Error::Startup(e.to_string()))?, "auth service listening");
    let served = tonic::transport::Server::builder()
        .layer(service_runtime::rpc_trace::layer())
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(AuthServiceServer::new(api.clone()))
        .add_service(TokenServiceServer::new(api))
        .serve_with_incoming_shutdown(service_runtime::incoming::incoming(listener), shutdown)
        .await;
    health_watch.abort();
    database.pool.close().await;
    served.map_err(|error| Error::Startup(error.to_string()))
}
