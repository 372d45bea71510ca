//! The whole product in one process, for trying it and for development: the
//! auth and task services each on its own port, talking real gRPC over
//! loopback, storing in SQLite files under the data directory, behind the
//! gateway, which serves the web app. Production runs the three binaries
//! apart (see docker-compose.yml); this crate only wires them together, and
//! writes development certificates for them (`certs`).

pub mod certs;

use std::{future::Future, net::SocketAddr, path::PathBuf};

use clap::Parser;
use service_runtime::{
    StartError,
    config::{AdminAddr, ServerArgs, from_env},
    process::bind,
};
use tokio::{net::TcpListener, sync::watch};

/// Settings of the stack. Each service also reads its own variables
/// (`JWT_SECRET`, `ACCESS_TOKEN_TTL`, `TOKEN_CACHE_TTL`, …) as it would
/// alone; the stack decides only where they listen and store.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "todo-stack",
    version,
    about = "The whole todo system in one process: auth and task services behind the gateway"
)]
pub struct Config {
    /// Where the gateway listens: the web app, gRPC, grpc-web, reflection, health.
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:8080")]
    pub gateway_addr: SocketAddr,

    /// Where Prometheus scrapes the whole stack's (one endpoint for its three parts) metrics (`GET /metrics`), or `off`.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9460")]
    pub metrics_addr: AdminAddr,

    /// Where the auth service listens (AuthService, for the gateway).
    #[arg(long, env = "AUTH_ADDR", default_value = "127.0.0.1:50051")]
    pub auth_addr: SocketAddr,

    /// Where the auth service's internal listener (TokenService,
    /// AccountEventService) listens, for the task service only. Plaintext
    /// in the stack: keep it on loopback.
    #[arg(long, env = "INTERNAL_ADDR", default_value = "127.0.0.1:50061")]
    pub internal_addr: SocketAddr,

    /// Where the task service listens.
    #[arg(long, env = "TASK_ADDR", default_value = "127.0.0.1:50052")]
    pub task_addr: SocketAddr,

    /// Where both services keep their SQLite files (and the auth service its
    /// generated JWT secret, when JWT_SECRET is unset, and its mail, as
    /// `.eml` files in `mail/`, when SMTP_URL is unset).
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    #[command(flatten)]
    pub front: gateway::FrontArgs,

    /// How each server bounds connections and calls, and how long a stop may take.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs the stack with the gateway on `listener` (the services bind their own
/// addresses) until `shutdown` resolves and everything has stopped, or until
/// a part fails.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let config_error = |error: clap::Error| StartError::Config(error.to_string());
    let mut auth_config: auth_service::Config = from_env().map_err(config_error)?;
    let mut task_config: task_service::Config = from_env().map_err(config_error)?;
    let auth_listeners = auth_service::Listeners {
        public: bind(config.auth_addr).await?,
        internal: bind(config.internal_addr).await?,
    };
    let task_listener = bind(config.task_addr).await?;
    let addr = |listener: &TcpListener| {
        listener
            .local_addr()
            .map_err(|error| StartError::other("a listener has no address", error))
    };
    let auth_url = format!("http://{}", addr(&auth_listeners.public)?);
    let internal_url = format!("http://{}", addr(&auth_listeners.internal)?);
    let task_url = format!("http://{}", addr(&task_listener)?);
    let gateway_addr = addr(&listener)?;

    // The services store in SQLite files of their own: one database shared by
    // both would mix their migration histories.
    auth_config.storage.data_dir = config.data_dir.clone();
    auth_config.storage.database_url = None;
    task_config.storage.data_dir = config.data_dir.clone();
    task_config.storage.database_url = None;
    // The task service calls the internal listener, the gateway the public one.
    task_config.auth_url = vec![internal_url.clone()];
    // One process, over loopback: no mutual TLS. Its variables name one
    // service's certificate, and here both services would read the same ones.
    let tls = &auth_config.internal_tls;
    if tls.internal_tls_cert.is_some()
        || tls.internal_tls_key.is_some()
        || tls.internal_ca.is_some()
    {
        tracing::warn!(
            "the stack ignores INTERNAL_TLS_* and INTERNAL_ALLOWED_CLIENTS: its internal \
             listener is plaintext on loopback (run the services apart for mutual TLS)"
        );
    }
    auth_config.internal_tls = Default::default();
    auth_config.internal_allowed_clients = Vec::new();
    task_config.internal_tls = Default::default();
    // Links in mail lead to this stack's web app unless APP_URL says otherwise.
    if std::env::var_os("APP_URL").is_none() {
        auth_config.app_url = if gateway_addr.ip().is_unspecified() {
            format!("http://localhost:{}", gateway_addr.port())
        } else {
            format!("http://{gateway_addr}")
        };
    }
    let mail = auth_config.mail_destination();
    // The gateway reaches the services over loopback: they trust its
    // x-forwarded-for, so throttles and logs see each browser's own address,
    // and nothing else (TRUSTED_PROXIES is about what is in front of the gateway).
    let behind_gateway = ServerArgs {
        trusted_proxies: "127.0.0.1/32,::1/128"
            .parse()
            .map_err(|error| StartError::other("cannot trust the in-process gateway", error))?,
        ..config.server.clone()
    };
    auth_config.server = behind_gateway.clone();
    task_config.server = behind_gateway;
    let gateway_config = gateway::Config {
        addr: gateway_addr,
        // The stack's process serves one endpoint for all three.
        metrics_addr: AdminAddr(None),
        auth_upstreams: vec![auth_url.clone()],
        task_upstreams: vec![task_url.clone()],
        front: config.front,
        server: config.server,
    };

    // One stop for all three at once, so each ends its streams and finishes
    // its calls within its own grace period, in parallel: a stop requested
    // from outside, or dropping the sender when a part fails.
    let (stop, stopped) = watch::channel(());
    let until_stopped = |mut stopped: watch::Receiver<()>| async move {
        let _ = stopped.changed().await;
    };
    let mut auth = tokio::spawn(auth_service::serve(
        auth_config,
        auth_listeners,
        until_stopped(stopped.clone()),
    ));
    let mut tasks = tokio::spawn(task_service::serve(
        task_config,
        task_listener,
        until_stopped(stopped.clone()),
    ));
    let mut gateway = tokio::spawn(gateway::serve(
        gateway_config,
        listener,
        until_stopped(stopped),
    ));

    println!("todo stack is up (data in {}):", config.data_dir.display());
    println!("  web app and API  http://{gateway_addr}   (gRPC, grpc-web, reflection, health)");
    println!("  auth-service     {auth_url}   (internal: {internal_url}, for the task service)");
    println!("  task-service     {task_url}");
    println!("  mail             {mail}");
    if let AdminAddr(Some(metrics)) = config.metrics_addr {
        println!("  metrics          http://{metrics}/metrics");
    }
    println!("Ctrl-C stops everything.");

    // Run until asked to stop, or until a part ends by itself (a failure).
    let failed = tokio::select! {
        () = shutdown => None,
        result = &mut gateway => Some(ended("gateway", result)),
        result = &mut auth => Some(ended("auth service", result)),
        result = &mut tasks => Some(ended("task service", result)),
    };
    drop(stop);
    // The others finish their stop (each within its grace period) before we return.
    let mut outcome = failed.map_or(Ok(()), Err);
    for part in [gateway, auth, tasks] {
        if part.is_finished() && outcome.is_err() {
            continue;
        }
        if let Ok(Err(error)) = part.await
            && outcome.is_ok()
        {
            outcome = Err(error);
        }
    }
    outcome
}

/// What it means that a part of the stack ended without being asked to stop.
fn ended(name: &str, result: Result<Result<(), StartError>, tokio::task::JoinError>) -> StartError {
    match result {
        Ok(Err(error)) => StartError::other(format!("the {name} failed"), error),
        Ok(Ok(())) => StartError::other(
            format!("the {name} stopped"),
            "it returned without being asked to stop",
        ),
        Err(error) => StartError::other(format!("the {name} crashed"), error),
    }
}
