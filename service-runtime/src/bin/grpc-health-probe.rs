//! A container health check: asks `grpc.health.v1.Health/Check` at an address
//! and exits 0 only when the answer is SERVING.
//!
//!     grpc-health-probe 127.0.0.1:50051 [service]

use std::{process::ExitCode, time::Duration};

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("usage: grpc-health-probe HOST:PORT [SERVICE]");
        return ExitCode::from(2);
    };
    let service = args.next().unwrap_or_default();
    let endpoint = match tonic::transport::Endpoint::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(2)),
        Err(error) => {
            eprintln!("invalid address {addr}: {error}");
            return ExitCode::from(2);
        }
    };
    let answer = async {
        let mut client = HealthClient::new(endpoint.connect().await?);
        let response = client.check(HealthCheckRequest { service }).await?;
        Ok::<_, Box<dyn std::error::Error>>(response.into_inner().status())
    };
    match answer.await {
        Ok(ServingStatus::Serving) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("{addr}: {status:?}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{addr}: {error}");
            ExitCode::FAILURE
        }
    }
}
