//! The process around a service: `main` hands over its parsed config's address
//! and a `serve` function; this sets up logging and the runtime, binds the
//! listener, stops on SIGINT or SIGTERM, and turns a failure into a clear
//! message and a non-zero exit.

use std::{future::Future, net::SocketAddr, pin::Pin, process::ExitCode};

use tokio::net::TcpListener;

use crate::{config::AdminAddr, start::StartError};

/// The shutdown future every `serve` takes from `main`.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs `serve` on a listener bound to `addr` until the process is asked to
/// stop, with the process's metrics served on `metrics` unless it is off.
pub fn run<F, Fut>(addr: SocketAddr, metrics: AdminAddr, serve: F) -> ExitCode
where
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            crate::telemetry::init();
            return failed(&StartError::other("cannot start the async runtime", error));
        }
    };
    {
        // The trace exporter's connection is made on the runtime.
        let _runtime = runtime.enter();
        crate::telemetry::init();
    }
    let outcome = runtime.block_on(async {
        let listener = bind(addr).await?;
        if let AdminAddr(Some(metrics)) = metrics {
            // Ends with the runtime, after the service has stopped.
            crate::metrics::spawn(metrics, std::future::pending()).await?;
        }
        serve(listener, Box::pin(crate::shutdown::signal())).await
    });
    // Buffered spans go out before the process does.
    crate::telemetry::flush();
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
