//! Runs the gateway in front of auth and task service replicas:
//! `cargo run -p gateway -- --help`. (The whole stack in one process is the
//! `todo-stack` binary, which `cargo run --release` starts.)

use std::process::ExitCode;

use clap::Parser;
use gateway::Config;

fn main() -> ExitCode {
    let config = Config::parse();
    service_runtime::process::run(config.addr, config.metrics_addr, |listener, shutdown| {
        gateway::serve(config, listener, shutdown)
    })
}
