//! The gateway's configuration: one struct, every field a command-line flag
//! that can also be set through the environment.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, builder::TypedValueParser};
use service_runtime::config::{AdminAddr, ServerArgs};

/// Settings of the gateway. `--help` lists them with their variables.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "gateway",
    version,
    about = "grpc-web and gRPC door to the todo services, and the web app"
)]
pub struct Config {
    /// Address to listen on (gRPC, grpc-web and the web app share it).
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Where Prometheus scrapes the gateway's metrics (`GET /metrics`), or `off`.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9460")]
    pub metrics_addr: AdminAddr,

    /// Auth service replicas, comma-separated URLs (required).
    #[arg(long, env = "AUTH_UPSTREAMS", value_delimiter = ',')]
    pub auth_upstreams: Vec<String>,

    /// Task service replicas, comma-separated URLs (required).
    #[arg(long, env = "TASK_UPSTREAMS", value_delimiter = ',')]
    pub task_upstreams: Vec<String>,

    #[command(flatten)]
    pub front: FrontArgs,

    /// How the server bounds connections and calls, and how long a stop may take.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// How the gateway faces browsers and clients; the one-process stack takes
/// the same flags.
#[derive(Clone, Debug, Args)]
pub struct FrontArgs {
    /// A built web app to serve at `/` instead of the one built into the
    /// binary (read at start-up); empty for the built-in one.
    #[arg(long, env = "WEB_DIR", default_value = "", value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from))]
    pub web_dir: PathBuf,

    /// Browser origins allowed to call the API (comma-separated), besides
    /// the gateway's own.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Longest a unary call may take upstream (WatchTasks streams are exempt).
    #[arg(long, env = "CALL_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub call_timeout: Duration,

    /// HTTP/2 connections to each upstream replica for unary calls, used in turn.
    #[arg(long, env = "UPSTREAM_CONNECTIONS", default_value_t = 4)]
    pub upstream_connections: usize,

    /// HTTP/2 connections to each task service replica for WatchTasks
    /// streams, apart from unary calls; each carries up to the service's
    /// MAX_STREAMS_PER_CONNECTION (256) streams.
    #[arg(long, env = "UPSTREAM_STREAM_CONNECTIONS", default_value_t = 8)]
    pub upstream_stream_connections: usize,

    /// Largest request body accepted, in bytes: the services' 64 KiB
    /// message limit plus room for gRPC framing (grpc-web-text bodies are
    /// counted after base64 decoding). Larger is RESOURCE_EXHAUSTED.
    #[arg(long, env = "MAX_REQUEST_BYTES", default_value_t = 64 * 1024 + 1024)]
    pub max_request_bytes: usize,
}
