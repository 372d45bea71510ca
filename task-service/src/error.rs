//! The task service's one error type for RPCs and its single mapping to gRPC
//! statuses. Messages shown to clients are short and safe; internal causes go
//! to the log. What can stop the service from starting is
//! `service_runtime::StartError`, not this.

use std::borrow::Cow;

use service_runtime::status::{self, Failure, FieldViolation};
use tonic::Status;

/// Everything a task RPC can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field breaks a rule: INVALID_ARGUMENT with `BadRequest` details.
    #[error("{0}")]
    InvalidArgument(FieldViolation),
    /// No such task for this user (missing, malformed id, or someone else's): NOT_FOUND.
    #[error("task not found")]
    NotFound,
    /// The task changed since the client read it: ABORTED (AIP-154).
    #[error("the task was changed by someone else (etag mismatch); get it again and retry")]
    EtagMismatch,
    /// A watch stream could not keep up: ABORTED, so the client re-lists and watches again.
    #[error("this watch fell behind by {0} events; list the tasks again and start a new watch")]
    FellBehind(u64),
    /// Changes may have gone unheard (the change listener lost its
    /// connection): UNAVAILABLE, so the client watches again and re-lists.
    #[error(
        "this watch may have missed changes while the database was away; start a new watch and list the tasks again"
    )]
    ChangesMissed,
    /// The user has as many tasks as allowed: RESOURCE_EXHAUSTED.
    #[error("you have reached the limit of {0} tasks; delete some to make new ones")]
    TooManyTasks(u64),
    /// The user has as many watch streams open here as allowed: RESOURCE_EXHAUSTED.
    #[error(
        "you have {0} task watches open, the most allowed; close one (another tab or device) first"
    )]
    TooManyWatches(usize),
    /// No valid bearer token: UNAUTHENTICATED.
    #[error("{0}")]
    Unauthenticated(Cow<'static, str>),
    /// The auth service cannot be asked right now: UNAVAILABLE.
    #[error("the auth service is unavailable; retry shortly")]
    AuthUnavailable(String),
    /// Our fault (the database, or anything else): UNAVAILABLE or INTERNAL.
    #[error(transparent)]
    Failed(#[from] Failure),
}

service_runtime::rpc_error_basics!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violation) => status::invalid_argument(&violation),
            Error::NotFound => Status::not_found(error.to_string()),
            Error::TooManyTasks(_) | Error::TooManyWatches(_) => {
                Status::resource_exhausted(error.to_string())
            }
            Error::EtagMismatch | Error::FellBehind(_) => Status::aborted(error.to_string()),
            Error::Unauthenticated(_) => Status::unauthenticated(error.to_string()),
            Error::ChangesMissed => Status::unavailable(error.to_string()),
            Error::AuthUnavailable(ref cause) => {
                tracing::warn!(error = %cause, "auth service unavailable");
                Status::unavailable(error.to_string())
            }
            Error::Failed(failure) => failure.into_status("the task store"),
        }
    }
}
