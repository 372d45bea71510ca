//! The auth service's configuration: one struct, every field a command-line
//! flag that can also be set through the environment.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use secrecy::SecretString;
use service_runtime::config::StorageArgs;

/// Settings of the auth service. `--help` lists them with their variables.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "auth-service",
    version,
    about = "Accounts, sessions and tokens over gRPC"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "AUTH_ADDR", default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,

    /// Where accounts are stored (`DATA_DIR/auth.sqlite3` by default); the
    /// data directory also keeps the generated JWT secret.
    #[command(flatten)]
    pub storage: StorageArgs,

    /// HS256 signing secret, at least 32 bytes. Unset: a random one is generated
    /// and kept in `DATA_DIR/jwt-secret` (fine for development only).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<SecretString>,

    /// The secret used before the current one; tokens it signed are still accepted,
    /// so the secret can be rotated without logging everybody out.
    #[arg(long, env = "JWT_SECRET_PREVIOUS", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret_previous: Option<SecretString>,

    /// Lifetime of an access token (e.g. `7d`, `15m`, `3600s`).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub access_token_ttl: Duration,

    /// How long a session lives without being refreshed.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: Duration,

    /// The `iss` claim written into and required of access tokens.
    #[arg(long, env = "JWT_ISSUER", default_value = "todo-auth")]
    pub jwt_issuer: String,

    /// The `aud` claim written into and required of access tokens.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "todo")]
    pub jwt_audience: String,

    /// Failed logins for one email after which further attempts are refused.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = 10)]
    pub login_max_failures: u32,

    /// The window over which failed logins are counted, and how long the refusal lasts.
    #[arg(long, env = "LOGIN_FAILURE_WINDOW", default_value = "15m", value_parser = humantime::parse_duration)]
    pub login_failure_window: Duration,

    /// Password hashes computed at once; unset means one per CPU core.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,
}

fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

impl Config {
    /// Hashing threads: the configured number, or one per CPU core.
    pub fn hash_threads(&self) -> usize {
        self.password_hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
    }
}
