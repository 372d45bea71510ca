//! `cargo run --release`: the gateway, and with no upstreams configured the
//! whole stack in this one process. `cargo run -p gateway -- --help` lists the settings.

use clap::Parser;
use gateway::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
    service_runtime::telemetry::init();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.addr))?;
    gateway::run(config, listener, service_runtime::shutdown::signal()).await?;
    Ok(())
}
