//! The auth service's one error type for RPCs and its single mapping to gRPC
//! statuses. Messages shown to clients are short and safe; internal causes go
//! to the log. What can stop the service from starting is
//! `service_runtime::StartError`, not this.

use std::{borrow::Cow, time::Duration};

use service_runtime::{
    database::StoreError,
    status::{self, FieldViolation},
};
use tonic::{Code, Status};

/// Everything an auth RPC can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field breaks a rule: INVALID_ARGUMENT with `BadRequest` details.
    #[error("{0}")]
    InvalidArgument(FieldViolation),
    /// The email is taken: ALREADY_EXISTS.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Wrong credentials, or an unknown email; the same message for both so
    /// the answer never tells whether an account exists: UNAUTHENTICATED.
    #[error("incorrect email or password")]
    BadCredentials,
    /// A missing, malformed, forged, expired or revoked token: UNAUTHENTICATED.
    #[error("{0}")]
    Unauthenticated(Cow<'static, str>),
    /// Too many failed logins for this email: RESOURCE_EXHAUSTED with `RetryInfo`.
    #[error("too many failed logins for this email; try again in {}", status::minutes_and_seconds(*retry_after))]
    LoginThrottled { retry_after: Duration },
    /// The database failed: UNAVAILABLE or INTERNAL.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else that is our fault: INTERNAL.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// INVALID_ARGUMENT for `field` breaking the rule `description`.
    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::InvalidArgument(FieldViolation::new(field, description))
    }

    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Unauthenticated(message.into())
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violation) => status::invalid_argument(&violation),
            Error::EmailTaken => Status::already_exists(error.to_string()),
            Error::BadCredentials | Error::Unauthenticated(_) => {
                Status::unauthenticated(error.to_string())
            }
            Error::LoginThrottled { retry_after } => {
                status::retry_after(Code::ResourceExhausted, error.to_string(), retry_after)
            }
            Error::Store(error) => error.into_status("the account store"),
            Error::Internal(cause) => status::internal(&cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

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
        let retry = status.get_details_retry_info().expect("RetryInfo details");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(125)));
    }

    #[test]
    fn internal_causes_stay_out_of_the_message() {
        let status = Status::from(Error::Internal("secret detail".into()));
        assert_eq!(status.message(), "internal error");
    }
}
