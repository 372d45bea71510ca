//! `cargo run --release`: the whole todo system in one process.
//! `cargo run --release -- --help` lists the settings.

use std::process::ExitCode;

use clap::Parser;
use todo_stack::Config;

fn main() -> ExitCode {
    let config = Config::parse();
    service_runtime::process::run(
        config.gateway_addr,
        config.metrics_addr,
        |listener, shutdown| todo_stack::run(config, listener, shutdown),
    )
}
