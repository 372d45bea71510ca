//! `cargo run --release`: the whole todo system in one process.
//! `cargo run --release -- --help` lists the settings;
//! `cargo run --release -- certs --out DIR` writes development certificates
//! for mutual TLS between the services.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use todo_stack::{Config, certs};

/// The stack's settings, or a command instead of running it.
#[derive(Debug, Parser)]
#[command(
    name = "todo-stack",
    version,
    about = "The whole todo system in one process: auth and task services behind the gateway",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a development CA and the services' certificates (mutual TLS
    /// between the auth and task services), and print the settings to use them.
    Certs(certs::CertsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Certs(args)) => certs::run(&args),
        None => service_runtime::process::run(
            cli.config.gateway_addr,
            cli.config.metrics_addr,
            |listener, shutdown| todo_stack::run(cli.config, listener, shutdown),
        ),
    }
}
