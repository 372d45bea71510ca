//! The services under test run as child processes of the benchmark, so each
//! one's CPU time and memory can be read on its own. The children are this
//! same binary started with `BENCH_ROLE` set; each parses its service's own
//! flags and serves exactly as that service's `main` does.

use std::{io::Write, net::SocketAddr};

use clap::Parser;
use tokio::net::TcpListener;

/// The environment variable that turns this binary into one of the services.
pub const ROLE_VAR: &str = "BENCH_ROLE";
/// The line a child prints on stdout once it listens: `listening <addr>`.
pub const LISTENING: &str = "listening";

/// Which service this process is to run, if it is a child.
pub fn role() -> Option<String> {
    std::env::var(ROLE_VAR).ok()
}

/// Runs the service named by `role` until it is killed, or until its
/// stdin closes: the benchmark holds it open, so a child never outlives it.
pub fn run(role: &str) -> anyhow::Result<()> {
    if role == crate::postgres::REAPER_ROLE {
        return crate::postgres::reap();
    }
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        std::process::exit(0);
    });
    tokio::runtime::Runtime::new()?.block_on(async {
        service_runtime::telemetry::init();
        let shutdown = service_runtime::shutdown::signal();
        match role {
            "auth" => {
                let config = auth_service::Config::parse();
                metrics(config.metrics_addr).await?;
                // The parent picks the internal address (INTERNAL_ADDR) and
                // learns the public one from the line `listen` prints.
                let internal = TcpListener::bind(config.internal_addr).await?;
                let public = listen(config.addr).await?;
                let listeners = auth_service::Listeners { public, internal };
                auth_service::serve(config, listeners, shutdown).await?;
            }
            "tasks" => {
                let config = task_service::Config::parse();
                metrics(config.metrics_addr).await?;
                let listener = listen(config.addr).await?;
                task_service::serve(config, listener, shutdown).await?;
            }
            "gateway" => {
                let config = gateway::Config::parse();
                metrics(config.metrics_addr).await?;
                let listener = listen(config.addr).await?;
                gateway::serve(config, listener, shutdown).await?;
            }
            "floor" => {
                let listener = listen("127.0.0.1:0".parse()?).await?;
                crate::floor::serve(listener).await?;
            }
            other => anyhow::bail!("unknown {ROLE_VAR} {other:?}"),
        }
        Ok(())
    })
}

/// Serves the process's metrics as the service's `main` would (the
/// benchmark gives each child a port of its own; its log says which).
async fn metrics(addr: service_runtime::config::AdminAddr) -> anyhow::Result<()> {
    if let service_runtime::config::AdminAddr(Some(addr)) = addr {
        service_runtime::metrics::spawn(addr, std::future::pending()).await?;
    }
    Ok(())
}

/// Binds `addr` and tells the parent where it listens.
async fn listen(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{LISTENING} {}", listener.local_addr()?)?;
    stdout.flush()?;
    Ok(listener)
}
