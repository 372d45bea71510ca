//! The task service's one error type and its single mapping to gRPC statuses.
//! Messages shown to clients are short and safe; internal causes go to the log.

use tonic::{Code, Status};

/// Everything that can go wrong in the task service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request breaks a rule: INVALID_ARGUMENT, naming the field and the limit.
    #[error("{0}")]
    InvalidArgument(String),
    /// No such task for this user (missing, malformed id, or someone else's): NOT_FOUND.
    #[error("task not found")]
    NotFound,
    /// The task changed since the client read it: ABORTED (AIP-154).
    #[error("the task was changed by someone else (etag mismatch); get it again and retry")]
    EtagMismatch,
    /// A watch stream could not keep up: ABORTED, so the client re-lists and watches again.
    #[error("this watch fell behind by {0} events; list the tasks again and start a new watch")]
    FellBehind(u64),
    /// No valid bearer token: UNAUTHENTICATED.
    #[error("{0}")]
    Unauthenticated(String),
    /// The auth service cannot be asked right now: UNAVAILABLE.
    #[error("the auth service is unavailable; retry shortly")]
    AuthUnavailable(String),
    /// The database cannot be reached right now: UNAVAILABLE.
    #[error("the task store is unavailable; retry shortly")]
    StoreUnavailable(#[source] sqlx::Error),
    /// A database error that is not the client's fault: INTERNAL.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// The service cannot start (never an RPC answer).
    #[error("{0}")]
    Startup(String),
    /// Anything else that is our fault: INTERNAL.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if service_runtime::database::is_unavailable(&error) {
            Self::StoreUnavailable(error)
        } else {
            Self::Database(error)
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::NotFound => Code::NotFound,
            Error::EtagMismatch | Error::FellBehind(_) => Code::Aborted,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::AuthUnavailable(_) | Error::StoreUnavailable(_) => Code::Unavailable,
            Error::Database(_) | Error::Startup(_) | Error::Internal(_) => Code::Internal,
        };
        match &error {
            Error::AuthUnavailable(cause) => {
                tracing::warn!(error = %cause, "auth service unavailable")
            }
            Error::StoreUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable")
            }
            Error::Database(cause) => tracing::error!(error = %cause, "database error"),
            Error::Startup(cause) | Error::Internal(cause) => {
                tracing::error!(error = %cause, "internal error")
            }
            _ => {}
        }
        let message = match &error {
            Error::Database(_) | Error::Startup(_) | Error::Internal(_) => {
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        Status::new(code, message)
    }
}
