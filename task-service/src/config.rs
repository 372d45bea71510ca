//! The task service's configuration: one struct, every field a command-line
//! flag that can also be set through the environment.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;

/// Settings of the task service. `--help` lists them with their variables.
#[derive(Clone, Debug, Parser)]
#[command(name = "task-service", version, about = "Each user's tasks over gRPC")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "TASK_ADDR", default_value = "127.0.0.1:50052")]
    pub addr: SocketAddr,

    /// Directory for the SQLite database.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite:…`) URL; unset means `DATA_DIR/tasks.sqlite3`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Where the auth service's TokenService answers.
    #[arg(long, env = "AUTH_URL", default_value = "http://127.0.0.1:50051")]
    pub auth_url: String,

    /// How long a validated token is trusted before the auth service is asked
    /// again; a logout takes effect here within this time.
    #[arg(long, env = "TOKEN_CACHE_TTL", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub token_cache_ttl: Duration,
}

impl Config {
    /// The defaults, with the given storage and auth service.
    pub fn new(data_dir: PathBuf, database_url: Option<String>, auth_url: String) -> Self {
        let mut config = Self::parse_from(["task-service"]);
        config.data_dir = data_dir;
        config.database_url = database_url;
        config.auth_url = auth_url;
        config
    }
}
