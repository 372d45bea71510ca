//! `cargo run --release -p bench -- --help`. The same binary also runs each
//! service of the stack it measures, as a child process (see `child`).

use clap::Parser;

fn main() -> anyhow::Result<()> {
    if let Some(role) = bench::child::role() {
        return bench::child::run(&role);
    }
    let args = bench::cli::Args::parse();
    tokio::runtime::Runtime::new()?.block_on(bench::run(args))
}
