//! How errors reach clients, the same way from every service: a field error
//! carries a `google.rpc.BadRequest`, throttling a `google.rpc.RetryInfo`,
//! and the message stays a sentence a person can act on. Causes that are our
//! fault are logged with the call's span and never shown.

use std::{borrow::Cow, fmt, time::Duration};

use tonic::{Code, Status};

use crate::database::StoreError;
use tonic_types::{ErrorDetails, StatusExt};

/// One broken rule of one request field: `task.title` and "must be at most 200 characters".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    field: Cow<'static, str>,
    description: Cow<'static, str>,
}

impl FieldViolation {
    pub fn new(
        field: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// The request field, as a path (`task.title`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rule it broke, without the field's name.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// INVALID_ARGUMENT naming the field, in the message and as `BadRequest` details.
pub fn invalid_argument(violation: &FieldViolation) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        violation.to_string(),
        ErrorDetails::with_bad_request_violation(
            violation.field.as_ref(),
            violation.description.as_ref(),
        ),
    )
}

/// A refusal that passes with time: `code` and `message`, with `RetryInfo` saying when to retry.
pub fn retry_after(code: Code, message: impl Into<String>, wait: Duration) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_retry_info(Some(wait)))
}

/// A failure that is ours, not the caller's: the database (UNAVAILABLE while
/// it cannot be reached, INTERNAL otherwise) or anything else (INTERNAL).
/// Every service's RPC error enum carries it as one variant, so what is
/// logged and what the client sees is decided here, once.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure {
    /// The status for a client, with the cause logged; `store` names the
    /// service's database in the message ("the task store").
    pub fn into_status(self, store: &str) -> Status {
        match self {
            Self::Store(error) => error.into_status(store),
            Self::Internal(cause) => internal(&cause),
        }
    }
}

/// INTERNAL with a fixed message; the cause goes to the log only.
pub fn internal(cause: &dyn fmt::Display) -> Status {
    tracing::error!(error = %cause, "internal error");
    Status::internal("internal error")
}

/// A wait as a person reads it: `45 s`, `2 min`, `2 min 5 s`.
pub fn minutes_and_seconds(wait: Duration) -> String {
    let seconds = wait.as_secs().max(1);
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// What every service's RPC error enum shares, written once: `Error::invalid(field,
/// description)`, `Error::unauthenticated(message)`, `Error::internal(cause)`,
/// and `?` on a sqlx error (classified by [`StoreError`](crate::database::StoreError)).
/// The enum must have the variants `InvalidArgument(FieldViolation)`,
/// `Unauthenticated(Cow<'static, str>)` and `Failed(Failure)`.
#[macro_export]
macro_rules! rpc_error_basics {
    ($error:ty) => {
        impl $error {
            /// INVALID_ARGUMENT for `field` breaking the rule `description`.
            pub fn invalid(
                field: impl Into<::std::borrow::Cow<'static, str>>,
                description: impl Into<::std::borrow::Cow<'static, str>>,
            ) -> Self {
                Self::InvalidArgument($crate::status::FieldViolation::new(field, description))
            }

            /// UNAUTHENTICATED with `message`, which says what to do about it.
            pub fn unauthenticated(message: impl Into<::std::borrow::Cow<'static, str>>) -> Self {
                Self::Unauthenticated(message.into())
            }

            /// INTERNAL: our fault; `cause` is logged, never shown.
            pub fn internal(cause: impl Into<String>) -> Self {
                Self::Failed($crate::status::Failure::Internal(cause.into()))
            }
        }

        impl From<::sqlx::Error> for $error {
            fn from(error: ::sqlx::Error) -> Self {
                Self::Failed($crate::status::Failure::Store(error.into()))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_carry_bad_request_details() {
        let status = invalid_argument(&FieldViolation::new("task.title", "is required"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "task.title: is required");
        let details = status
            .get_details_bad_request()
            .expect("BadRequest details");
        assert_eq!(details.field_violations[0].field, "task.title");
        assert_eq!(details.field_violations[0].description, "is required");
    }

    #[test]
    fn throttling_says_when_to_retry() {
        let status = retry_after(
            Code::ResourceExhausted,
            "slow down",
            Duration::from_secs(125),
        );
        let retry = status.get_details_retry_info().expect("RetryInfo details");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(125)));
        assert_eq!(minutes_and_seconds(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(minutes_and_seconds(Duration::from_secs(120)), "2 min");
        assert_eq!(minutes_and_seconds(Duration::ZERO), "1 s");
    }

    #[test]
    fn internal_causes_stay_out_of_the_message() {
        assert_eq!(internal(&"secret detail").message(), "internal error");
    }
}
