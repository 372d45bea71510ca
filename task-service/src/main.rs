//! Runs the task service alone: `cargo run -p task-service -- --help`.

use clap::Parser;
use task_service::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
    service_runtime::telemetry::init();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.addr))?;
    task_service::serve(config, listener, service_runtime::shutdown::signal()).await?;
    Ok(())
}
