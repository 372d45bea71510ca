//! The task service: each user's todo list over gRPC, every call checked with
//! the auth service. `config` → `serve` → `auth_layer` (who is calling) →
//! `grpc` (translation) → `tasks` (what the service does, over the domain
//! types of `task`, `list_query` and `page_token`, and the change feed of
//! `events`) → `store` (all SQL). Beside the calls, `account_events` follows
//! the auth service's account events and purges deleted users' tasks.
//! `serve` runs it on a listener the caller has bound, so tests and the
//! one-process stack start the real thing.

mod account_events;
mod auth_layer;
pub mod config;
mod error;
mod events;
mod grpc;
mod list_query;
mod page_token;
mod store;
mod task;
mod tasks;
mod watch_slots;

use std::future::Future;

use proto::task::v1::task_service_server::{self, TaskServiceServer};
use service_runtime::{
    GrpcServer, StartError,
    database::{Database, Dialect, Migrations},
    limits::ContractStatusLayer,
    mutual_tls::MutualTls,
    upstream::{Calls, Connections, Upstream},
};
use tokio::{net::TcpListener, sync::oneshot};
use tonic::service::Routes;
use tower::Layer;

pub use config::Config;

static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
};

/// Largest request message decoded; bigger ones are RESOURCE_EXHAUSTED.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The auth service's replicas at `urls`, dialled over mutual TLS with
/// `tls`. Everything the task service asks of them (ValidateToken,
/// WatchAccountEvents) is a read, so may be retried.
fn auth_upstream(urls: &[String], tls: Option<&MutualTls>) -> Result<Upstream, StartError> {
    Upstream::with_tls(
        "AUTH_URL",
        urls,
        "the auth service",
        Calls {
            streaming: |path| path.ends_with("/WatchAccountEvents"),
            idempotent: |_, _| true,
        },
        Connections {
            unary: 2,
            streams: 1,
        },
        tls.map(MutualTls::client),
    )
}

/// Runs the task service on `listener` until `shutdown` resolves; calls in
/// flight then finish before this returns.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let tls = config.internal_tls.load()?;
    let auth = auth_upstream(&config.auth_url, tls.as_ref())?;
    let validator = auth_layer::TokenValidator::new(auth.clone(), config.token_cache_ttl);
    let url = config.storage.url("tasks.sqlite3")?;
    let database = Database::open(&url, &MIGRATIONS).await?;
    let store = store::Store::new(database.pool.clone());
    let events = match database.dialect {
        Dialect::Sqlite => events::Events::in_process(),
        Dialect::Postgres => events::Events::postgres(&url, store.clone())
            .await
            .map_err(|error| StartError::other("cannot LISTEN for task changes", error))?,
    };
    let page_token_key = store
        .page_token_key()
        .await
        .map_err(|error| StartError::other("cannot read the page token key", error))?;
    let limits = tasks::Limits {
        max_tasks_per_user: config.max_tasks_per_user,
        max_watches_per_user: config.max_watches_per_user,
    };
    let follower =
        account_events::Follower::new(auth, store.clone(), events.clone(), validator.clone());
    let api = grpc::TaskApi::new(tasks::Tasks::new(
        store,
        events.clone(),
        validator.clone(),
        limits,
        page_token_key,
    ));

    let server = GrpcServer::new(
        "task service",
        proto::FILE_DESCRIPTOR_SET,
        &[task_service_server::SERVICE_NAME],
        &config.server,
    )
    .database(database);
    tracing::info!(
        auth_url = ?config.auth_url,
        mutual_tls = tls.is_some(),
        "tasks are checked with the auth service"
    );
    // Every TaskService call is authenticated; health and reflection are not.
    // The decoding limit is set on the generated server, before wrapping;
    // the largest valid request is under 8 KiB.
    let tasks = TaskServiceServer::new(api).max_decoding_message_size(MAX_REQUEST_BYTES);
    let tasks = ContractStatusLayer.layer(auth_layer::AuthLayer::new(validator).layer(tasks));
    // The follower stops when the stop begins: a stopped replica acts on no
    // more events, and the next one to run resumes from the stored cursor.
    let (stop_following, stopped) = oneshot::channel::<()>();
    let following = tokio::spawn(async move {
        tokio::select! {
            _ = stopped => {}
            () = follower.run() => {}
        }
    });
    let shutdown = async move {
        shutdown.await;
        let _ = stop_following.send(());
    };
    let served = server.serve(listener, Routes::new(tasks), shutdown).await;
    // Also when serving failed before any stop was asked for.
    following.abort();
    events.stop();
    served
}
