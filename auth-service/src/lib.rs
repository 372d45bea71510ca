//! The auth service: accounts, sessions and JWT access tokens over gRPC.
//! `config` → `serve` → `grpc` (translation) → `accounts` (what the service
//! does, over the domain types `email`, `password`, `code`, `token`, `user`)
//! → `store` (all SQL). Mail (`mail`) goes through an outbox table that the
//! sender task (`outbox`) delivers; `account_events` is the outbox of account
//! events other services follow. `serve` runs it on two listeners the
//! caller has bound, so tests and the one-process stack start the real
//! thing: the public one (AuthService, what the gateway routes) and the
//! internal one (TokenService and AccountEventService, for the task
//! service only, under mutual TLS when configured).

mod account_events;
mod accounts;
mod activity;
mod address_slots;
mod clock;
mod code;
pub mod config;
pub mod email;
mod error;
mod grpc;
mod mail;
mod outbox;
pub mod password;
mod store;
mod throttle;
mod token;
mod user;

use std::{future::Future, sync::Arc};

use proto::auth::v1::{
    account_event_service_server::{self, AccountEventServiceServer},
    auth_service_server::{self, AuthServiceServer},
    token_service_server::{self, TokenServiceServer},
};
use service_runtime::{
    GrpcServer, StartError,
    database::{Database, Migrations},
    limits::ContractStatus,
};
use tokio::{
    net::TcpListener,
    sync::{Notify, watch},
};
use tonic::service::Routes;

pub use config::Config;

// The schema is written once for both engines; a dialect gets a folder of
// its own when its SQL has to differ (see task-service).
static MIGRATIONS: Migrations = Migrations {
    sqlite: sqlx::migrate!("./migrations"),
    postgres: sqlx::migrate!("./migrations"),
};

/// Largest request message decoded; bigger ones are RESOURCE_EXHAUSTED.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Where the auth service listens, bound by the caller.
#[derive(Debug)]
pub struct Listeners {
    /// AuthService, health and reflection: what the gateway routes to.
    pub public: TcpListener,
    /// TokenService and AccountEventService (the task service's calls),
    /// health and reflection of those.
    pub internal: TcpListener,
}

/// Runs the auth service on both `listeners` until `shutdown` resolves (or
/// one of them fails, which stops the other); calls in flight then finish
/// before this returns.
pub async fn serve(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    // The secret and the internal listener's certificates are checked
    // first: a bad one stops the start before anything else happens.
    let keys = token::TokenKeys::from_config(&config)?;
    let internal_security = config.internal_security()?;
    if internal_security.is_none() {
        warn_if_exposed(&listeners.internal)?;
    }
    let database = Database::open(&config.storage.url("auth.sqlite3")?, &MIGRATIONS).await?;
    let hasher = password::Hasher::new(config.hash_threads(), config.hash_max_queued).await?;
    let store = store::Store::new(database.pool.clone());
    let letters = mail::Letters::from_config(&config)?;
    let transport = mail::Transport::from_config(&config, &letters)?;
    tracing::info!("mail is {}", config.mail_destination());
    let mail_written = Arc::new(Notify::new());
    let accounts = Arc::new(accounts::Accounts::new(
        &config,
        store.clone(),
        hasher,
        keys,
        letters,
        Arc::clone(&mail_written),
        clock::Clock::System,
    ));
    // The sweep ends by itself once the server has stopped and dropped the accounts.
    accounts::spawn_sweep(Arc::downgrade(&accounts), config.sweep_interval);
    // The sender ends once `sender` is dropped below, after the server.
    let sender = Arc::new(outbox::Sender::new(store, transport, clock::Clock::System));
    outbox::spawn(Arc::downgrade(&sender), Arc::clone(&mail_written));
    let api = grpc::AuthApi::new(accounts);

    // Both servers report health from the one database; its pool is closed
    // below, once both have stopped.
    let public = GrpcServer::new(
        "auth service",
        proto::FILE_DESCRIPTOR_SET,
        &[auth_service_server::SERVICE_NAME],
        &config.server,
    )
    .database_health(database.clone());
    let mut internal = GrpcServer::new(
        "auth service (internal)",
        proto::FILE_DESCRIPTOR_SET,
        &[
            token_service_server::SERVICE_NAME,
            account_event_service_server::SERVICE_NAME,
        ],
        &config.server,
    )
    // The task service asks TokenService about every token it has not seen
    // lately; its own log shows those calls with their caller. Each of its
    // replicas also holds an account-event watch open, reconnecting after
    // every restart.
    .quiet(&[
        token_service_server::SERVICE_NAME,
        account_event_service_server::SERVICE_NAME,
    ])
    .database_health(database.clone());
    if let Some((tls, allowed)) = internal_security {
        tracing::info!(?allowed, "the internal listener requires mutual TLS");
        internal = internal.mutual_tls(tls, allowed);
    }
    // Decoding limits on the generated servers; the largest valid request
    // (a sign-up with a 254-character email and a 128-character password)
    // is under 2 KiB.
    let auth = AuthServiceServer::new(api.clone()).max_decoding_message_size(MAX_REQUEST_BYTES);
    let token = TokenServiceServer::new(api.clone()).max_decoding_message_size(MAX_REQUEST_BYTES);
    let account_events =
        AccountEventServiceServer::new(api).max_decoding_message_size(MAX_REQUEST_BYTES);
    let public_routes = Routes::new(ContractStatus::new(auth));
    let internal_routes =
        Routes::new(ContractStatus::new(token)).add_service(ContractStatus::new(account_events));

    // One stop for both servers: the caller's shutdown, or either server
    // ending by itself (a failure), which must not leave the other running.
    // Each waits on a receiver made now, before anything runs, so none can
    // miss a stop sent while the others start.
    let stop = watch::Sender::new(());
    let stopped = || {
        let mut receiver = stop.subscribe();
        async move {
            let _ = receiver.changed().await;
        }
    };
    let (either_stopped, public_stopped, internal_stopped) = (stopped(), stopped(), stopped());
    let (_, public, internal) = tokio::join!(
        async {
            tokio::select! {
                () = shutdown => {}
                () = either_stopped => {}
            }
            stop.send_replace(());
        },
        async {
            let served = public
                .serve(listeners.public, public_routes, public_stopped)
                .await;
            stop.send_replace(());
            served
        },
        async {
            let served = internal
                .serve(listeners.internal, internal_routes, internal_stopped)
                .await;
            stop.send_replace(());
            served
        },
    );
    database.pool.close().await;
    drop(sender);
    mail_written.notify_one();
    public.and(internal)
}

/// Warns when the internal listener takes plaintext calls from beyond this
/// host: anyone who reaches it could validate stolen tokens or follow
/// account events.
fn warn_if_exposed(internal: &TcpListener) -> Result<(), StartError> {
    let addr = internal
        .local_addr()
        .map_err(|error| StartError::other("the internal listener has no address", error))?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the internal listener (TokenService, AccountEventService) takes plaintext calls \
             from the network: keep it unreachable from outside (a network policy), or set \
             INTERNAL_TLS_CERT, INTERNAL_TLS_KEY, INTERNAL_CA and INTERNAL_ALLOWED_CLIENTS"
        );
    }
    Ok(())
}
