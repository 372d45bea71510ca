//! The replicas under test, each a process of its own on a port chosen up
//! front, so a replica that is killed or stopped comes back on the same
//! address, as a pod behind a stable name would: 2 auth replicas and 3 task
//! replicas on the private PostgreSQL, and 2 gateways that each know all of
//! them.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use tokio::time::Instant;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    postgres::PrivatePostgres,
    stack::{AbuseLimits, JWT_SECRET, Service},
};

/// Longest a replica may take from start to SERVING (a debug build migrating
/// a fresh database included).
const START_LIMIT: Duration = Duration::from_secs(90);
/// Longest a replica may take to stop after SIGTERM: the services' default
/// grace period (10 s) and some.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// One replica: how it is started, and its process while it runs.
#[derive(Debug)]
pub struct Replica {
    pub name: &'static str,
    role: &'static str,
    pub addr: SocketAddr,
    args: Vec<String>,
    log_dir: PathBuf,
    process: Option<Service>,
}

impl Replica {
    fn new(
        name: &'static str,
        role: &'static str,
        addr: SocketAddr,
        mut args: Vec<String>,
        dir: &Path,
    ) -> Self {
        args.extend(["--addr".into(), addr.to_string()]);
        // Every caller is on loopback, so no per-address limit may apply to
        // the load; the load is not an attack.
        args.extend(AbuseLimits::Raised.server_args());
        Self {
            name,
            role,
            addr,
            args,
            log_dir: dir.to_owned(),
            process: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the process and waits until it listens (not yet until it serves).
    pub async fn start(&mut self) -> anyhow::Result<()> {
        let service = Service::spawn(self.name, self.role, &self.args, &self.log_dir).await?;
        anyhow::ensure!(
            service.addr == self.addr,
            "{} listens on {}, not {}",
            self.name,
            service.addr,
            self.addr
        );
        self.process = Some(service);
        Ok(())
    }

    fn process(&mut self) -> anyhow::Result<&mut Service> {
        self.process
            .as_mut()
            .with_context(|| format!("{} is not running", self.name))
    }

    /// SIGKILL, and waits until the process is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.process()?.kill().await?;
        self.process = None;
        Ok(())
    }

    /// SIGTERM, and waits until the process has exited; returns how long the stop took.
    pub async fn terminate(&mut self) -> anyhow::Result<Duration> {
        let began = Instant::now();
        let status = self.process()?.terminate(STOP_LIMIT).await?;
        self.process = None;
        anyhow::ensure!(
            status.success(),
            "{} exited with {status} after SIGTERM",
            self.name
        );
        Ok(began.elapsed())
    }

    /// Waits until `grpc.health.v1.Health/Check` says SERVING for the whole
    /// server; returns how long that took.
    pub async fn wait_serving(&self) -> anyhow::Result<Duration> {
        let began = Instant::now();
        let channel = Endpoint::from_shared(self.url())?
            .connect_timeout(Duration::from_millis(500))
            .timeout(Duration::from_secs(1))
            .connect_lazy();
        loop {
            if testkit::health(channel.clone(), "").await == ServingStatus::Serving {
                return Ok(began.elapsed());
            }
            anyhow::ensure!(
                began.elapsed() < START_LIMIT,
                "{} was not SERVING within {START_LIMIT:?}; see {}",
                self.name,
                self.log_dir.join(format!("{}.log", self.name)).display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the process, which should be running, has exited on its own.
    pub fn died(&mut self) -> Option<String> {
        let status = self.process.as_mut()?.exited()?;
        Some(format!("{} exited on its own ({status})", self.name))
    }
}

/// Every replica of the test.
#[derive(Debug)]
pub struct Cluster {
    pub auth: Vec<Replica>,
    pub tasks: Vec<Replica>,
    pub gateways: Vec<Replica>,
}

/// Names the processes' logs are kept under (`<name>.log` in the run's directory).
const AUTH: [&str; 2] = ["auth-1", "auth-2"];
const TASKS: [&str; 3] = ["tasks-1", "tasks-2", "tasks-3"];
const GATEWAYS: [&str; 2] = ["gateway-1", "gateway-2"];

impl Cluster {
    /// Picks every replica's address and settings; starts nothing.
    pub fn plan(postgres: &PrivatePostgres, dir: &Path) -> Self {
        let addr = || SocketAddr::from(([127, 0, 0, 1], testkit::smtp::free_port()));
        // The services believe the gateway's x-forwarded-for (it runs on
        // loopback), as in production.
        let behind_gateway = ["--trusted-proxies".to_owned(), "127.0.0.1/32".to_owned()];
        // What every replica of a service with a database takes: its own
        // data directory, the shared database, and belief in the gateway.
        let service_args = |name: &str, database: &str| {
            let mut args = vec![
                "--data-dir".into(),
                dir.join(name).display().to_string(),
                "--database-url".into(),
                postgres.url(database),
            ];
            args.extend(behind_gateway.clone());
            args
        };
        // Each auth replica's internal listener, where the task replicas call.
        let auth_internal: Vec<SocketAddr> = AUTH.iter().map(|_| addr()).collect();
        let auth_internal_urls = auth_internal
            .iter()
            .map(|addr| format!("http://{addr}"))
            .collect::<Vec<_>>()
            .join(",");
        let auth: Vec<Replica> = AUTH
            .iter()
            .zip(&auth_internal)
            .map(|(&name, internal)| {
                let mut args = service_args(name, "auth");
                args.extend(["--internal-addr".into(), internal.to_string()]);
                args.extend(["--jwt-secret".into(), JWT_SECRET.into()]);
                // The users log in again and again from one address.
                args.extend(AbuseLimits::Raised.auth_args());
                Replica::new(name, "auth", addr(), args, dir)
            })
            .collect();
        let auth_urls = urls(&auth);
        let tasks: Vec<Replica> = TASKS
            .iter()
            .map(|&name| {
                let mut args = service_args(name, "tasks");
                args.extend(["--auth-url".into(), auth_internal_urls.clone()]);
                Replica::new(name, "tasks", addr(), args, dir)
            })
            .collect();
        let task_urls = urls(&tasks);
        let gateways = GATEWAYS
            .iter()
            .map(|&name| {
                let args = vec![
                    "--auth-upstreams".into(),
                    auth_urls.clone(),
                    "--task-upstreams".into(),
                    task_urls.clone(),
                    "--web-dir".into(),
                    dir.join("no-web-app").display().to_string(),
                ];
                Replica::new(name, "gateway", addr(), args, dir)
            })
            .collect();
        Self {
            auth,
            tasks,
            gateways,
        }
    }

    /// Starts every auth and task replica at the same moment against the
    /// fresh databases (their migrations race, and must be safe to), waits
    /// until they serve, then starts the gateways; returns how long the
    /// replicas took to serve.
    pub async fn start(&mut self) -> anyhow::Result<Duration> {
        let began = Instant::now();
        let services = self.auth.iter_mut().chain(self.tasks.iter_mut());
        futures::future::try_join_all(services.map(|replica| replica.start())).await?;
        let replicas = self.auth.iter().chain(self.tasks.iter());
        futures::future::try_join_all(replicas.map(|replica| replica.wait_serving())).await?;
        let serving = began.elapsed();
        let gateways = self.gateways.iter_mut();
        futures::future::try_join_all(gateways.map(|gateway| gateway.start())).await?;
        let gateways = self.gateways.iter();
        futures::future::try_join_all(gateways.map(|gateway| gateway.wait_serving())).await?;
        Ok(serving)
    }

    /// Replicas that should be running but exited on their own.
    pub fn deaths(&mut self) -> Vec<String> {
        self.auth
            .iter_mut()
            .chain(self.tasks.iter_mut())
            .chain(self.gateways.iter_mut())
            .filter_map(Replica::died)
            .collect()
    }
}

/// The replicas' URLs as a setting takes them: comma-separated.
fn urls(replicas: &[Replica]) -> String {
    replicas
        .iter()
        .map(Replica::url)
        .collect::<Vec<_>>()
        .join(",")
}
