//! The gateway's error type: what can stop it from starting or serving.

/// Why the gateway cannot start or serve.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid upstream URL {url:?}: {reason}")]
    Upstream { url: String, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("auth service: {0}")]
    Auth(#[from] auth_service::Error),
    #[error("task service: {0}")]
    Task(#[from] task_service::Error),
    #[error("{0}")]
    Serve(String),
}
