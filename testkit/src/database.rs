//! A private database for each test, so tests run in parallel and never see
//! each other's rows: a fresh PostgreSQL database when `TEST_DATABASE_URL` is
//! set, otherwise a SQLite file in a fresh temporary directory.
//!
//! Tests that only make sense on PostgreSQL (LISTEN/NOTIFY, a database going
//! away) are `#[ignore = "needs TEST_DATABASE_URL"]` and start with
//! [`TestDatabase::postgres`], which fails loudly when it is not set: CI runs
//! them with `--include-ignored` in its PostgreSQL pass.

use sqlx::{AnyConnection, Connection, Executor};
use tempfile::TempDir;

/// A database made for one test. The SQLite directory is removed on drop;
/// PostgreSQL databases are named `todo_test_*` so CI can drop leftovers.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    /// Held for its drop, which removes the directory.
    _sqlite_dir: Option<TempDir>,
    /// The server's admin URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Makes a new, empty database. Panics (it is test set-up) when
    /// `TEST_DATABASE_URL` is set but PostgreSQL cannot be reached: in CI an
    /// unreachable PostgreSQL is a failure, never a silent skip.
    pub async fn create() -> Self {
        Self::create_on(std::env::var("TEST_DATABASE_URL").ok().as_deref()).await
    }

    /// Makes a new, empty database on the PostgreSQL server of `admin_url`,
    /// or a SQLite file when it is `None` or empty. The benchmark uses this.
    pub async fn create_on(admin_url: Option<&str>) -> Self {
        let name = format!("todo_test_{}", uuid::Uuid::new_v4().simple());
        match admin_url {
            Some(admin_url) if !admin_url.is_empty() => {
                sqlx::any::install_default_drivers();
                let mut admin = AnyConnection::connect(admin_url)
                    .await
                    .unwrap_or_else(|error| {
                        panic!("the PostgreSQL server is unreachable: {error}")
                    });
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .unwrap_or_else(|error| panic!("cannot create test database {name}: {error}"));
                let _ = admin.close().await;
                Self {
                    url: replace_database_name(admin_url, &name),
                    _sqlite_dir: None,
                    postgres: Some((admin_url.to_owned(), name)),
                }
            }
            _ => {
                let dir = tempfile::Builder::new()
                    .prefix(&name)
                    .tempdir()
                    .unwrap_or_else(|error| panic!("cannot create a temporary directory: {error}"));
                Self {
                    url: format!(
                        "sqlite://{}?mode=rwc",
                        dir.path().join("test.sqlite3").display()
                    ),
                    _sqlite_dir: Some(dir),
                    postgres: None,
                }
            }
        }
    }

    /// A new PostgreSQL database, for tests that need that engine. Panics
    /// when `TEST_DATABASE_URL` is unset: such a test must not pass vacuously.
    pub async fn postgres() -> Self {
        let url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty());
        let Some(url) = url else {
            panic!(
                "this test needs PostgreSQL: set TEST_DATABASE_URL (CI does, with --include-ignored)"
            );
        };
        Self::create_on(Some(&url)).await
    }

    /// True when this test runs against PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The number a test's query (`SELECT … AS n`, with `$1` bound to
    /// `value` when given) reads straight from the database, past the
    /// service under test: what it stored, not what it answers.
    pub async fn scalar(&self, query: &'static str, value: Option<&str>) -> i64 {
        use sqlx::Row;
        sqlx::any::install_default_drivers();
        let mut connection = AnyConnection::connect(&self.url).await.unwrap();
        let mut query = sqlx::query(query);
        if let Some(value) = value {
            query = query.bind(value.to_owned());
        }
        let n = query
            .fetch_one(&mut connection)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        let _ = connection.close().await;
        n
    }

    /// Drops the PostgreSQL database, closing what is still connected to it.
    /// Tests leave theirs for CI to drop; the benchmark, whose databases are
    /// large, calls this. A SQLite file's directory goes when the value is dropped.
    pub async fn remove(self) -> Result<(), sqlx::Error> {
        if let Some((admin_url, name)) = &self.postgres {
            let mut admin = AnyConnection::connect(admin_url).await?;
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await?;
            let _ = admin.close().await;
        }
        Ok(())
    }
}

/// `postgres://user@host:5432/test?x=y` with `name` → `postgres://user@host:5432/name?x=y`.
fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database_name;

    #[test]
    fn swaps_only_the_database_name() {
        assert_eq!(
            replace_database_name("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database_name("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            replace_database_name("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
