//! The auth service's one error type for RPCs and its single mapping to gRPC
//! statuses. Messages shown to clients are short and safe; internal causes go
//! to the log. What can stop the service from starting is
//! `service_runtime::StartError`, not this.

use std::{borrow::Cow, collections::HashMap, time::Duration};

use service_runtime::status::{self, Failure, FieldViolation};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo` of a login refused because the email is not verified, so
/// clients can tell it from other FAILED_PRECONDITION answers.
pub const EMAIL_NOT_VERIFIED: &str = "EMAIL_NOT_VERIFIED";
const ERROR_DOMAIN: &str = "auth.todo";

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
    /// Too much mail asked for one email (password resets, verification
    /// emails), whether or not it has an account.
    #[error("too many emails asked for this email; try again in {}", status::minutes_and_seconds(*retry_after))]
    MailEmailThrottled { retry_after: Duration },
    /// Too much mail asked for from the caller's address, whatever the email.
    #[error("too many emails asked for from your address; try again in {}", status::minutes_and_seconds(*retry_after))]
    MailAddressThrottled { retry_after: Duration },
    /// Login with the right password for an account whose email is not
    /// verified while `REQUIRE_VERIFIED_EMAIL` is on: FAILED_PRECONDITION with
    /// `ErrorInfo` reason `EMAIL_NOT_VERIFIED`. Only the owner gets this far,
    /// so it reveals nothing to a stranger.
    #[error("{}", if *code_sent {
        "your email address is not verified yet: we have emailed you a new code; verify the address with it (VerifyEmail), then log in"
    } else {
        "your email address is not verified yet: verify it with the code from the latest email we sent you (VerifyEmail), then log in"
    })]
    EmailNotVerified { code_sent: bool },
    /// SendVerificationEmail for an address that is verified already: FAILED_PRECONDITION.
    #[error("your email address is already verified")]
    EmailAlreadyVerified,
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
            | Error::MailEmailThrottled { retry_after }
            | Error::MailAddressThrottled { retry_after }
            | Error::TooManyWatchers { retry_after } => {
                status::retry_after(Code::ResourceExhausted, error.to_string(), retry_after)
            }
            Error::EmailNotVerified { .. } => Status::with_error_details(
                Code::FailedPrecondition,
                error.to_string(),
                ErrorDetails::with_error_info(
                    EMAIL_NOT_VERIFIED,
                    ERROR_DOMAIN,
                    HashMap::<String, String>::new(),
                ),
            ),
            Error::EmailAlreadyVerified => Status::failed_precondition(error.to_string()),
            Error::Failed(failure) => failure.into_status("the account store"),
        }
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
        let retry = status.get_details_retry_info().expect("RetryInfo details");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(125)));
    }

    #[test]
    fn internal_causes_stay_out_of_the_message() {
        let status = Status::from(Error::internal("secret detail"));
        assert_eq!(status.message(), "internal error");
    }
}
