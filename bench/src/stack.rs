//! The stack under test: the auth service, the task service and the gateway
//! as separate processes talking gRPC over loopback, as in production, on
//! SQLite in a temporary directory or in fresh PostgreSQL databases.

use std::{
    net::SocketAddr,
    path::Path,
    process::{ExitStatus, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};
use testkit::TestDatabase;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, ChildStdin, Command},
};

use crate::child::{LISTENING, ROLE_VAR};

/// The signing secret of the benchmark's auth service (it never leaves this run).
pub(crate) const JWT_SECRET: &str = "bench-only-secret-0123456789abcdefghijklmnop";

/// One running service. Dropping it kills the process.
#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
    /// Held open for the child's life: a child whose stdin closes exits, so
    /// none outlives the benchmark, even one killed with SIGKILL.
    _stdin: ChildStdin,
}

impl Service {
    /// Starts this binary as `role` with the service's own `args`, logging to
    /// `log_dir` (appending, so a restarted service keeps its earlier log),
    /// and waits until it listens.
    pub async fn spawn(
        name: &'static str,
        role: &str,
        args: &[String],
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log_path = log_dir.join(format!("{name}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut command = Command::new(std::env::current_exe()?);
        // The services read their settings from the environment too; only the
        // flags given here may configure them.
        command.env_clear().env(ROLE_VAR, role).args(args);
        if matches!(role, "auth" | "tasks" | "gateway") {
            // Several children of one role run at once: each takes a free
            // port for its metrics, and its log names it.
            command.args(["--metrics-addr", "127.0.0.1:0"]);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        if let Ok(filter) = std::env::var("RUST_LOG") {
            command.env("RUST_LOG", filter);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let pid = child.id().context("the child has no pid")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .with_context(|| format!("{name} did not start within 2 minutes"))??;
        let Some(addr) = first
            .as_deref()
            .and_then(|line| line.strip_prefix(LISTENING))
            .and_then(|addr| addr.trim().parse().ok())
        else {
            bail!("{name} failed to start; see {}", log_path.display());
        };
        Ok(Self {
            name,
            addr,
            pid,
            child,
            _stdin: stdin,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the process with SIGKILL, as a crash would, and waits until it is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .await
            .with_context(|| format!("cannot kill {}", self.name))
    }

    /// Asks the process to stop with SIGTERM, as an orchestrator does, and
    /// waits up to `within` for it to exit.
    pub async fn terminate(&mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await
            .context("cannot run kill(1)")?;
        anyhow::ensure!(sent.success(), "kill -TERM {} failed", self.pid);
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.kill().await?;
                bail!("{} did not stop within {within:?} of SIGTERM", self.name)
            }
        }
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

/// Where the services keep their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

/// How the auth service treats abuse: the capacity scenarios raise its
/// per-address and per-email limits, because the benchmark logs in as the same
/// users from one address far more often than a person would; the hostile
/// scenarios keep every limit at its default, since the protections are what
/// they measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbuseLimits {
    Raised,
    Defaults,
}

impl AbuseLimits {
    /// Every server's flags: the capacity scenarios call far faster from one
    /// address than the per-address call rate allows.
    pub(crate) fn server_args(self) -> Vec<String> {
        match self {
            Self::Defaults => Vec::new(),
            Self::Raised => vec!["--max-calls-per-second-per-address".into(), "0".into()],
        }
    }

    pub(crate) fn auth_args(self) -> Vec<String> {
        match self {
            Self::Defaults => Vec::new(),
            Self::Raised => vec![
                "--login-max-failures".into(),
                u32::MAX.to_string(),
                "--login-max-failures-per-address".into(),
                u32::MAX.to_string(),
                "--hash-max-concurrent-per-address".into(),
                "100000".into(),
                "--hash-max-queued".into(),
                "100000".into(),
                "--signup-max-per-address".into(),
                u32::MAX.to_string(),
            ],
        }
    }
}

/// The three services, each in its own process.
#[derive(Debug)]
pub struct Stack {
    pub engine: Engine,
    pub auth: Service,
    pub tasks: Service,
    pub gateway: Service,
    /// The auth service's internal listener (TokenService).
    pub auth_internal: SocketAddr,
    databases: [TestDatabase; 2],
}

impl Stack {
    /// Starts the stack on SQLite files under `dir`, or on new databases of
    /// the PostgreSQL server at `postgres`, with the auth service's abuse
    /// limits as `limits` says.
    pub async fn start(
        postgres: Option<&str>,
        dir: &Path,
        limits: AbuseLimits,
    ) -> anyhow::Result<Self> {
        let auth_database = TestDatabase::create_on(postgres).await;
        let task_database = TestDatabase::create_on(postgres).await;
        let engine = if auth_database.is_postgres() {
            Engine::Postgres
        } else {
            Engine::Sqlite
        };
        let local = "127.0.0.1:0".to_owned();
        // The task service's way in (TokenService, account events).
        let auth_internal = SocketAddr::from(([127, 0, 0, 1], testkit::smtp::free_port()));
        let mut auth_args = vec![
            "--addr".into(),
            local.clone(),
            "--internal-addr".into(),
            auth_internal.to_string(),
            "--data-dir".into(),
            dir.join("auth").display().to_string(),
            "--database-url".into(),
            auth_database.url.clone(),
            "--jwt-secret".into(),
            JWT_SECRET.into(),
        ];
        // The services believe the gateway's x-forwarded-for (it runs on
        // loopback), as in production: each client is counted as itself.
        let behind_gateway = ["--trusted-proxies".to_owned(), "127.0.0.1/32".to_owned()];
        auth_args.extend(behind_gateway.clone());
        auth_args.extend(limits.auth_args());
        auth_args.extend(limits.server_args());
        let auth = Service::spawn("auth", "auth", &auth_args, dir).await?;
        let mut task_args = vec![
            "--addr".into(),
            local.clone(),
            "--data-dir".into(),
            dir.join("tasks").display().to_string(),
            "--database-url".into(),
            task_database.url.clone(),
            "--auth-url".into(),
            format!("http://{auth_internal}"),
        ];
        task_args.extend(behind_gateway);
        task_args.extend(limits.server_args());
        let tasks = Service::spawn("tasks", "tasks", &task_args, dir).await?;
        let mut gateway_args = vec![
            "--addr".into(),
            local,
            "--auth-upstreams".into(),
            auth.url(),
            "--task-upstreams".into(),
            tasks.url(),
            "--web-dir".into(),
            dir.join("no-web-app").display().to_string(),
        ];
        gateway_args.extend(limits.server_args());
        let gateway = Service::spawn("gateway", "gateway", &gateway_args, dir).await?;
        Ok(Self {
            engine,
            auth,
            auth_internal,
            tasks,
            gateway,
            databases: [auth_database, task_database],
        })
    }

    pub fn services(&self) -> [&Service; 3] {
        [&self.auth, &self.tasks, &self.gateway]
    }

    /// Kills the services and drops their PostgreSQL databases.
    pub async fn stop(self) -> anyhow::Result<()> {
        let Self {
            auth,
            tasks,
            gateway,
            databases,
            ..
        } = self;
        drop((gateway, tasks, auth));
        for database in databases {
            database.remove().await?;
        }
        Ok(())
    }
}
