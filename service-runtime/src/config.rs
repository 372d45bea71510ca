//! Configuration shared by the services: how a server bounds its connections,
//! calls and stop, and where a service keeps its data (each a set of flags,
//! flattened into each service's `Config`), and building a `Config` from its
//! defaults alone, untouched by the environment.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser};

use crate::{client_address::TrustedProxies, database, private_files};

/// How a server protects itself and stops. Every process takes these.
#[derive(Clone, Debug, Args)]
pub struct ServerArgs {
    /// How long a stop may take: in-flight calls get this long to finish
    /// (open streams end at once with UNAVAILABLE), then connections are dropped.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Calls handled at once; more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "MAX_CONCURRENT_CALLS", default_value_t = 1024)]
    pub max_concurrent_calls: usize,

    /// Calls per second one client address may make (bursts of twice that);
    /// more are refused at once with RESOURCE_EXHAUSTED. 0: no limit. Calls
    /// between services (token validation) and health checks do not count.
    #[arg(long, env = "MAX_CALLS_PER_SECOND_PER_ADDRESS", default_value_t = 200)]
    pub max_calls_per_second_per_address: u32,

    /// Open connections one client address may hold; more are closed at once.
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 128)]
    pub max_connections_per_address: usize,

    /// How long a new connection may stay silent before it is closed.
    #[arg(long, env = "FIRST_BYTE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub first_byte_timeout: Duration,

    /// Streams (calls) open at once on one HTTP/2 connection.
    #[arg(long, env = "MAX_STREAMS_PER_CONNECTION", default_value_t = 256)]
    pub max_streams_per_connection: u32,

    /// Proxies whose `x-forwarded-for` names the client and whose
    /// `x-request-id` is kept (comma-separated CIDRs, e.g. `10.0.0.0/8`: the
    /// gateway's addresses for a service, a load balancer's for the gateway).
    /// From anyone else the TCP peer is the client and the request id is new.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,
}

/// Where a service stores: PostgreSQL or SQLite by URL, or a SQLite file in the data directory.
#[derive(Clone, Debug, Args)]
pub struct StorageArgs {
    /// Directory for the SQLite database and other files the service keeps.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite:…`) URL; unset means a SQLite file in DATA_DIR.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StorageArgs {
    /// The URL to connect to: `DATABASE_URL`, or `sqlite_file` in the data
    /// directory. The directory (0700) and the file (0600) are created
    /// private before SQLite opens it; its journal files take the file's mode.
    pub fn url(&self, sqlite_file: &str) -> Result<String, database::Error> {
        if let Some(url) = self.database_url.as_deref().filter(|url| !url.is_empty()) {
            return Ok(url.to_owned());
        }
        let data_error = |source| database::Error::DataDir {
            path: self.data_dir.display().to_string(),
            source,
        };
        private_files::create_dir(&self.data_dir).map_err(data_error)?;
        let file = self.data_dir.join(sqlite_file);
        match private_files::create_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(data_error(error));
            }
            _ => {}
        }
        Ok(format!("sqlite://{}?mode=rwc", file.display()))
    }
}

/// Where an admin listener listens, or `off`: the value of `METRICS_ADDR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdminAddr(pub Option<SocketAddr>);

impl std::str::FromStr for AdminAddr {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim() {
            "" | "off" => Ok(Self(None)),
            addr => addr.parse().map(|addr| Self(Some(addr))).map_err(|_| {
                format!("`{addr}` is not an address such as 127.0.0.1:9460 (or `off`)")
            }),
        }
    }
}

/// `C` with every setting at its documented default, ignoring the process's
/// environment: what tests and embedding code start from before changing the
/// fields they care about.
pub fn defaults<C: Parser>() -> C {
    let command = C::command().mut_args(|arg| arg.env(None::<&str>));
    let name = command.get_name().to_owned();
    let matches = command
        .try_get_matches_from([name])
        .unwrap_or_else(|error| panic!("the defaults of a Config must parse: {error}"));
    C::from_arg_matches(&matches)
        .unwrap_or_else(|error| panic!("the defaults of a Config must parse: {error}"))
}

/// `C` from the environment alone (no command-line arguments), as a service
/// started by another process reads its settings.
pub fn from_env<C: Parser>() -> Result<C, clap::Error> {
    C::try_parse_from([C::command().get_name().to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    #[command(name = "example")]
    struct Example {
        #[command(flatten)]
        storage: StorageArgs,
    }

    #[test]
    fn admin_addresses_parse_or_are_off() {
        assert_eq!("off".parse(), Ok(AdminAddr(None)));
        assert_eq!("".parse(), Ok(AdminAddr(None)));
        assert_eq!(
            "0.0.0.0:9460".parse(),
            Ok(AdminAddr(Some("0.0.0.0:9460".parse().unwrap())))
        );
        assert!("9460".parse::<AdminAddr>().unwrap_err().contains("`9460`"));
    }

    #[test]
    fn defaults_ignore_the_environment() {
        let example: Example = defaults();
        assert_eq!(example.storage.data_dir, PathBuf::from("./data"));
        assert_eq!(example.storage.database_url, None);
    }

    #[test]
    fn an_explicit_url_wins_over_the_data_directory() {
        let storage = StorageArgs {
            data_dir: PathBuf::from("/nonexistent/never/created"),
            database_url: Some("postgres://db/x".into()),
        };
        assert_eq!(storage.url("x.sqlite3").unwrap(), "postgres://db/x");
    }

    #[cfg(unix)]
    #[test]
    fn the_sqlite_file_and_its_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let root = std::env::temp_dir().join(format!("storage-url-{}", std::process::id()));
        let storage = StorageArgs {
            data_dir: root.join("data"),
            database_url: None,
        };
        let url = storage.url("x.sqlite3").unwrap();
        assert!(url.ends_with("data/x.sqlite3?mode=rwc"), "{url}");
        assert_eq!(mode(&root.join("data")), 0o700);
        assert_eq!(mode(&root.join("data/x.sqlite3")), 0o600);
        // A second start finds both and keeps them.
        assert_eq!(storage.url("x.sqlite3").unwrap(), url);
        std::fs::remove_dir_all(root).unwrap();
    }
}
