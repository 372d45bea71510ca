//! What every process of the todo system runs on, so each service's own code
//! is only its domain: the process around `serve` (logging, signals, exit
//! codes), the shared configuration flags, the gRPC server (per-RPC logging,
//! health, reflection, graceful stop), the database for both engines, how
//! errors reach clients, bearer tokens, and calls to
//! another service's replicas (`upstream`), mutual TLS between services
//! (`mutual_tls`), metrics and traces. Also `grpc-health-probe`, a
//! container health check.

pub mod bearer;
pub mod client_address;
pub mod config;
pub mod connections;
pub mod database;
#[cfg(feature = "dev-certificates")]
pub mod dev_certificates;
pub mod health;
pub mod limits;
pub mod load;
pub mod metrics;
pub mod mutual_tls;
pub mod private_files;
pub mod process;
pub mod rate;
pub mod reflection;
pub mod rpc_trace;
pub mod server;
pub mod shutdown;
pub mod start;
pub mod status;
pub mod telemetry;
pub mod upstream;

pub use server::GrpcServer;
pub use start::StartError;
