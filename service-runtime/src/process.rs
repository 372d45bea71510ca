//! The process around a service: `main` hands over its parsed config's address
//! and a `serve` function; this sets up logging and the runtime, binds the
//! listener, stops on SIGINT or SIGTERM, and turns a failure into a clear
//! message and a non-zero exit.

use std::{future::Future, net::SocketAddr, pin::Pin, process::ExitCode};

use tokio::net::TcpListener;

use crate::start::StartError;

/// The shutdown future every `serve` takes from `main`.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs `serve` on a listener bound to `addr` until the process is asked to stop.
pub fn run<F, Fut>(addr: SocketAddr, serve: F) -> ExitCode
where
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    crate::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return failed(&StartError::other("cannot start the async runtime", error)),
    };
    let outcome = runtime.block_on(async {
        let listener = bind(addr).await?;
        serve(listener, Box::pin(crate::shutdown::signal())).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => failed(&error),
    }
}

/// Binds `addr`, naming it in the error.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

fn failed(error: &StartError) -> ExitCode {
    tracing::error!(error = %error.chain(), "stopped");
    eprintln!("error: {}", error.chain());
    ExitCode::FAILURE
}
