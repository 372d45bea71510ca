//! `User`: an account as the service's callers see it (id, email, when it was
//! made, whether the email is verified). The password hash is not part of it:
//! it stays between the store and the password check, so nothing that answers
//! a client can leak it.

/// An account, without its credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    /// Seconds since the Unix epoch.
    pub create_time: i64,
    /// Whether the owner has proved the email is theirs (with an emailed code).
    pub email_verified: bool,
}
