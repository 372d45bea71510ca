//! The plumbing the todo services share, so each service's own code is only its
//! domain: tracing set-up, shutdown signals, the database pool (SQLite or
//! PostgreSQL behind one code path), per-RPC tracing spans and health reporting.

pub mod database;
pub mod health;
pub mod incoming;
pub mod reflection;
pub mod rpc_trace;
pub mod shutdown;
pub mod telemetry;
pub mod test_database;
pub mod test_server;
