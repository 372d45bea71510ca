//! The task service's configuration: one struct, every field a command-line
//! flag that can also be set through the environment.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use service_runtime::{
    config::{AdminAddr, ServerArgs, StorageArgs},
    mutual_tls::MutualTlsArgs,
};

/// Settings of the task service. `--help` lists them with their variables.
#[derive(Clone, Debug, Parser)]
#[command(name = "task-service", version, about = "Each user's tasks over gRPC")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "TASK_ADDR", default_value = "127.0.0.1:50052")]
    pub addr: SocketAddr,

    /// Where Prometheus scrapes the task service's metrics (`GET /metrics`), or `off`.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9462")]
    pub metrics_addr: AdminAddr,

    /// Where tasks are stored (`DATA_DIR/tasks.sqlite3` by default).
    #[command(flatten)]
    pub storage: StorageArgs,

    /// How the server bounds connections and calls, and how long a stop may take.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Where the auth service's replicas answer TokenService and account
    /// events (their internal listener, INTERNAL_ADDR): comma-separated
    /// URLs, or `dns:///host:port` (re-resolved every 5 s, e.g. a Kubernetes
    /// headless Service). `https://` URLs with mutual TLS, whose host (or
    /// the dns:/// name's) is the name checked in the auth service's certificate.
    #[arg(
        long,
        env = "AUTH_URL",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:50061"
    )]
    pub auth_url: Vec<String>,

    /// The certificate this service presents to the auth service, its key,
    /// and the CA that must have signed the auth service's. Unset: plaintext.
    #[command(flatten)]
    pub internal_tls: MutualTlsArgs,

    /// How long a validated token is trusted before the auth service is asked
    /// again; a logout takes effect here within this time.
    #[arg(long, env = "TOKEN_CACHE_TTL", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub token_cache_ttl: Duration,

    /// Most tasks one user may have; creating more is RESOURCE_EXHAUSTED.
    #[arg(long, env = "TASK_MAX_PER_USER", default_value_t = 10_000)]
    pub max_tasks_per_user: u64,

    /// Most WatchTasks streams one user may have open on this replica at once;
    /// the next is RESOURCE_EXHAUSTED.
    #[arg(long, env = "WATCH_MAX_STREAMS_PER_USER", default_value_t = 16)]
    pub max_watches_per_user: usize,
}
