//! Runs the task service alone: `cargo run -p task-service -- --help`.

use std::process::ExitCode;

use clap::Parser;
use task_service::Config;

fn main() -> ExitCode {
    let config = Config::parse();
    service_runtime::process::run(config.addr, config.metrics_addr, |listener, shutdown| {
        task_service::serve(config, listener, shutdown)
    })
}
