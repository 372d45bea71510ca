//! The auth service's one error type and its single mapping to gRPC statuses.
//! Messages shown to clients are short and safe; internal causes go to the log.

use std::time::Duration;

use tonic::{Code, Status};

/// Everything that can go wrong in the auth service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: INVALID_ARGUMENT, naming the field and the rule.
    #[error("{0}")]
    InvalidArgument(String),
    /// The email is taken: ALREADY_EXISTS.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Wrong credentials, or an unknown email; the same message for both so
    /// the answer never tells whether an account exists: UNAUTHENTICATED.
    #[error("incorrect email or password")]
    BadCredentials,
    /// A missing, malformed, forged, expired or revoked token: UNAUTHENTICATED.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Too many failed logins for this email: RESOURCE_EXHAUSTED.
    #[error("too many failed logins for this email; try again in {}", minutes_and_seconds(*retry_after))]
    LoginThrottled { retry_after: Duration },
    /// The database cannot be reached right now: UNAVAILABLE.
    #[error("the account store is unavailable; retry shortly")]
    StoreUnavailable(#[source] sqlx::Error),
    /// A database error that is not the client's fault: INTERNAL.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// The service cannot start with this configuration (never an RPC answer).
    #[error("configuration: {0}")]
    Config(String),
    /// The service cannot bind, migrate or serve.
    #[error("{0}")]
    Startup(String),
    /// Anything else that is our fault: INTERNAL.
    #[error("internal error: {0}")]
    Internal(String),
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

fn minutes_and_seconds(wait: Duration) -> String {
    let seconds = wait.as_secs().max(1);
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::EmailTaken => Code::AlreadyExists,
            Error::BadCredentials | Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::LoginThrottled { .. } => Code::ResourceExhausted,
            Error::StoreUnavailable(_) => Code::Unavailable,
            Error::Database(_) | Error::Internal(_) | Error::Config(_) | Error::Startup(_) => {
                Code::Internal
            }
        };
        match &error {
            // Our failures are logged with their cause (inside the RPC's span);
            // the client gets the short message only.
            Error::StoreUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable")
            }
            Error::Database(cause) => tracing::error!(error = %cause, "database error"),
            Error::Internal(cause) | Error::Config(cause) | Error::Startup(cause) => {
                tracing::error!(error = %cause, "internal error");
            }
            _ => {}
        }
        let message = match &error {
            Error::Database(_) | Error::Internal(_) | Error::Config(_) | Error::Startup(_) => {
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        Status::new(code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_message_says_how_long_to_wait() {
        let status = Status::from(Error::LoginThrottled {
            retry_after: Duration::from_secs(125),
        });
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(
            status.message().contains("2 min 5 s"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn internal_causes_stay_out_of_the_message() {
        let status = Status::from(Error::Internal("secret detail".into()));
        assert_eq!(status.message(), "internal error");
    }
}
