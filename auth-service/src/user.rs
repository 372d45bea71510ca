//! `User`: an account as the service's callers see it (id, email, when it was
//! made). The password hash is not part of it: it stays between the store and
//! the password check, so nothing that answers a client can leak it.

/// An account, without its credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    /// Seconds since the Unix epoch.
    pub create_time: i64,
}
