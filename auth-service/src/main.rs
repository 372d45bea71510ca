//! Runs the auth service alone: `cargo run -p auth-service -- --help`.

use auth_service::Config;
use clap::Parser;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
    service_runtime::telemetry::init();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.addr))?;
    auth_service::serve(config, listener, service_runtime::shutdown::signal()).await?;
    Ok(())
}
