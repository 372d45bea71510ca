//! The auth service's one error type for RPCs and its single mapping to gRPC
//! statuses. Messages shown to clients are short and safe; internal causes go
//! to the log. What can stop the service from starting is
//! `service_runtime::StartError`, not this.

use std::{borrow::Cow, time::Duration};

use service_runtime::status::{self, Failure, FieldViolation};
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
    /// Too many failed logins for this email from the caller's address:
    /// RESOURCE_EXHAUSTED with `RetryInfo`, like every refusal below.
    #[error("too many failed logins for this email from your address; try again in {}", status::minutes_and_seconds(*retry_after))]
    LoginThrottled { retry_after: Duration },
    /// Too many failed logins from the caller's address, whatever the email.
    #[error("too many failed logins from your address; try again in {}", status::minutes_and_seconds(*retry_after))]
    AddressThrottled { retry_after: Duration },
    /// Too many sign-ups from the caller's address.
    #[error("too many sign-ups from your address; try again in {}", status::minutes_and_seconds(*retry_after))]
    SignUpThrottled { retry_after: Duration },
    /// Too many wrong current passwords given to ChangePassword.
    #[error("too many wrong current passwords; try again in {}", status::minutes_and_seconds(*retry_after))]
    PasswordCheckThrottled { retry_after: Duration },
    /// The caller's address already has its share of password checks in
    /// flight, or the hashing queue is full.
    #[error("too many password checks in progress; try again in {}", status::minutes_and_seconds(*retry_after))]
    HashingBusy { retry_after: Duration },
    /// As many account-event watches are open as this replica serves.
    #[error("too many account event watches are open; try again in {}", status::minutes_and_seconds(*retry_after))]
    TooManyWatchers { retry_after: Duration },
    /// The session named is not a live session of the caller's: NOT_FOUND.
    #[error("no live session of yours has this id; ListSessions shows them")]
    SessionNotFound,
    /// Our fault (the database, or anything else): UNAVAILABLE or INTERNAL.
    #[error(transparent)]
    Failed(#[from] Failure),
}

service_runtime::rpc_error_basics!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violation) => status::invalid_argument(&violation),
            Error::EmailTaken => Status::already_exists(error.to_string()),
            Error::SessionNotFound => Status::not_found(error.to_string()),
            Error::BadCredentials | Error::Unauthenticated(_) => {
                Status::unauthenticated(error.to_string())
            }
            Error::LoginThrottled { retry_after }
            | Error::AddressThrottled { retry_after }
            | Error::SignUpThrottled { retry_after }
            | Error::PasswordCheckThrottled { retry_after }
            | Error::HashingBusy { retry_after }
            | Error::TooManyWatchers { retry_after } => {
                status::retry_after(Code::ResourceExhausted, error.to_string(), retry_after)
            }
            Error::Failed(failure) => failure.into_status("the account store"),
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
        let status = Status::from(Error::internal("secret detail"));
        assert_eq!(status.message(), "internal error");
    }
}
