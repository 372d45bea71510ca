//! The whole product in one process: with no upstreams configured, the
//! gateway starts the auth and task services itself, each on its own port and
//! talking real gRPC over loopback, storing in SQLite under the data directory.

use std::future::Future;

use tokio::{net::TcpListener, sync::watch};

use crate::{Config, Error, serve};

async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// Runs the gateway; without AUTH_UPSTREAMS and TASK_UPSTREAMS, with both
/// services in-process. Returns when `shutdown` resolves and everything has
/// stopped, or as soon as a part fails.
pub async fn run(
    mut config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    match (
        config.auth_upstreams.is_empty(),
        config.task_upstreams.is_empty(),
    ) {
        (false, false) => return serve(config, listener, shutdown).await,
        (true, true) => {}
        _ => {
            return Err(Error::Upstream {
                url: String::new(),
                reason: "set both AUTH_UPSTREAMS and TASK_UPSTREAMS, or neither to run the services in-process"
                    .into(),
            });
        }
    }

    let auth_listener = bind(config.auth_addr).await?;
    let task_listener = bind(config.task_addr).await?;
    let auth_addr = auth_listener
        .local_addr()
        .map_err(|error| Error::Serve(error.to_string()))?;
    let task_addr = task_listener
        .local_addr()
        .map_err(|error| Error::Serve(error.to_string()))?;
    let gateway_addr = listener
        .local_addr()
        .map_err(|error| Error::Serve(error.to_string()))?;
    let auth_url = format!("http://{auth_addr}");
    let task_url = format!("http://{task_addr}");

    // Dropping the sender tells both services to stop.
    let (stop, stopped) = watch::channel(());
    let until_stopped = |mut stopped: watch::Receiver<()>| async move {
        let _ = stopped.changed().await;
    };
    let auth_config = auth_service::Config::new(config.data_dir.clone(), None);
    let task_config = task_service::Config::new(config.data_dir.clone(), None, auth_url.clone());
    let mut auth = tokio::spawn(auth_service::serve(
        auth_config,
        auth_listener,
        until_stopped(stopped.clone()),
    ));
    let mut tasks = tokio::spawn(task_service::serve(
        task_config,
        task_listener,
        until_stopped(stopped),
    ));

    config.auth_upstreams = vec![auth_url.clone()];
    config.task_upstreams = vec![task_url.clone()];
    println!("todo stack is up (data in {}):", config.data_dir.display());
    println!("  web app and API  http://{gateway_addr}   (gRPC, grpc-web, reflection, health)");
    println!("  auth-service     {auth_url}");
    println!("  task-service     {task_url}");
    println!("Ctrl-C stops everything.");

    let gateway = serve(config, listener, shutdown);
    let outcome = tokio::select! {
        result = gateway => result,
        result = &mut auth => Err(service_ended("auth service", result.map(|r| r.map_err(Error::from)))),
        result = &mut tasks => Err(service_ended("task service", result.map(|r| r.map_err(Error::from)))),
    };
    drop(stop);
    // Both finish their in-flight calls before we return.
    if !auth.is_finished() {
        let _ = auth.await;
    }
    if !tasks.is_finished() {
        let _ = tasks.await;
    }
    outcome
}

fn service_ended(name: &str, result: Result<Result<(), Error>, tokio::task::JoinError>) -> Error {
    match result {
        Ok(Err(error)) => error,
        Ok(Ok(())) => Error::Serve(format!("the {name} stopped unexpectedly")),
        Err(error) => Error::Serve(format!("the {name} crashed: {error}")),
    }
}
