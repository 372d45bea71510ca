//! One database handle for both engines: an embedded SQLite file by default,
//! PostgreSQL when a `postgres://` URL is given. Stores write their SQL once,
//! against sqlx's `Any` driver, with `$1`-style placeholders (both engines
//! accept them); only migrations differ per dialect.

use std::{str::FromStr, time::Duration};

use sqlx::{
    AnyPool, Executor,
    any::{AnyPoolOptions, install_default_drivers},
    migrate::Migrator,
};

/// Which engine a [`Database`] talks to, for the few statements whose syntax differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl FromStr for Dialect {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(Error::UnsupportedUrl)
        }
    }
}

/// The migrations of one service, one folder per dialect, embedded with `sqlx::migrate!`.
#[derive(Debug)]
pub struct Migrations {
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")]
    UnsupportedUrl,
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A connection pool plus the dialect it speaks.
#[derive(Clone, Debug)]
pub struct Database {
    pub pool: AnyPool,
    pub dialect: Dialect,
}

impl Database {
    /// Connects and runs the pending migrations of `migrations` for the URL's dialect.
    pub async fn open(url: &str, migrations: &Migrations) -> Result<Self, Error> {
        install_default_drivers();
        let dialect: Dialect = url.parse()?;
        let options = AnyPoolOptions::new()
            // Fail a call quickly when the database is gone (UNAVAILABLE), instead of hanging.
            .acquire_timeout(Duration::from_secs(3))
            .max_connections(match dialect {
                // SQLite has one writer at a time; a few readers beside it are plenty.
                Dialect::Sqlite => 4,
                // Small per replica, so several replicas stay under PostgreSQL's connection limit.
                Dialect::Postgres => 10,
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the writer; the busy timeout makes a
                        // second writer wait for the lock instead of failing at once.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await.map_err(Error::Connect)?;
        let migrator = match dialect {
            Dialect::Sqlite => &migrations.sqlite,
            Dialect::Postgres => &migrations.postgres,
        };
        migrator.run(&pool).await.map_err(Error::Migrate)?;
        Ok(Self { pool, dialect })
    }

    /// Whether the database answers a trivial query right now.
    pub async fn is_reachable(&self) -> bool {
        tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("SELECT 1").execute(&self.pool),
        )
        .await
        .is_ok_and(|result| result.is_ok())
    }
}

/// How often the pool's gauges are sampled.
const POOL_SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

impl Database {
    /// Samples the pool for `server`'s metrics until the pool closes:
    /// connections idle, in use and the limit, and how long taking one
    /// waits (a probe that takes a connection and gives it straight back;
    /// sqlx keeps no wait times of its own).
    pub async fn record_pool(self, server: &'static str) {
        let max = f64::from(self.pool.options().get_max_connections());
        let gauge = |state: &'static str| metrics::gauge!("db_pool_connections", "server" => server, "state" => state);
        let acquire = metrics::histogram!("db_pool_acquire_seconds", "server" => server);
        let mut every = tokio::time::interval(POOL_SAMPLE_INTERVAL);
        while !self.pool.is_closed() {
            every.tick().await;
            let idle = self.pool.num_idle();
            let size = self.pool.size();
            gauge("max").set(max);
            gauge("idle").set(idle as f64);
            gauge("in_use").set(f64::from(size).max(idle as f64) - idle as f64);
            let start = std::time::Instant::now();
            if let Ok(Ok(connection)) =
                tokio::time::timeout(POOL_SAMPLE_INTERVAL, self.pool.acquire()).await
            {
                acquire.record(start.elapsed().as_secs_f64());
                drop(connection);
            }
        }
    }
}

/// True when an error means the database could not be reached (rather than a
/// bad query), so callers can answer UNAVAILABLE and retry later.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's own words for "not now": connection exceptions (class
        // 08), shutting down or starting up (57P01-57P03), too many clients
        // (53300), a database closed to connections for maintenance (55000,
        // which this store's queries cannot otherwise cause); SQLite's busy
        // and locked after the busy timeout.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "53300" | "55000" | "5" | "6" | "261" | "517"
                )
        }),
        _ => false,
    }
}

/// True when an error is a unique-constraint violation, so an insert can turn
/// a duplicate into a client error without a check-then-insert race.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

/// A failed database call, classified once for every service: the database
/// could not be reached (UNAVAILABLE, worth a retry) or the call failed
/// (INTERNAL, our fault). Either way the cause is logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Failed(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Failed(error)
        }
    }
}

impl StoreError {
    /// The status for a client of `store` (for example "the task store"), with the cause logged.
    pub fn into_status(self, store: &str) -> tonic::Status {
        match self {
            Self::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                tonic::Status::unavailable(format!("{store} is unavailable; retry shortly"))
            }
            Self::Failed(cause) => crate::status::internal(&cause),
        }
    }
}
