//! Runs the auth service alone: `cargo run -p auth-service -- --help`.

use std::process::ExitCode;

use auth_service::{Config, Listeners};
use clap::Parser;
use service_runtime::process;

fn main() -> ExitCode {
    let config = Config::parse();
    process::run(
        config.addr,
        config.metrics_addr,
        |public, shutdown| async move {
            let internal = process::bind(config.internal_addr).await?;
            auth_service::serve(config, Listeners { public, internal }, shutdown).await
        },
    )
}
