//! Runs the auth service alone: `cargo run -p auth-service -- --help`.

use std::process::ExitCode;

use auth_service::Config;
use clap::Parser;

fn main() -> ExitCode {
    let config = Config::parse();
    service_runtime::process::run(config.addr, config.metrics_addr, |listener, shutdown| {
        auth_service::serve(config, listener, shutdown)
    })
}
