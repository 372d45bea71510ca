//! What a user sees of their account's history and devices: where a request
//! came from (`Origin`: client address and user agent) and the security
//! events recorded for the account. The user agent is the client's own
//! claim, so it is bounded and cleaned before it is stored or shown.

use std::net::IpAddr;

use http::HeaderMap;

/// Longest user agent kept, in characters; the rest is cut off.
const USER_AGENT_MAX_CHARS: usize = 256;

/// Where a request came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub address: IpAddr,
    pub user_agent: String,
}

impl Origin {
    /// The origin of a request from `address` with `headers`: its
    /// `user-agent`, without control characters and cut to 256 characters
    /// (a client that sends a huge or binary one stores a harmless prefix).
    pub fn new(address: IpAddr, headers: &HeaderMap) -> Self {
        let user_agent = headers
            .get(http::header::USER_AGENT)
            .map(|value| {
                String::from_utf8_lossy(value.as_bytes())
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(USER_AGENT_MAX_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default();
        Self {
            address,
            user_agent,
        }
    }
}

/// What happened to an account; stored by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    SignUp,
    Login,
    LoginFailed,
    Logout,
    RefreshReuseDetected,
    PasswordChanged,
    SessionRevoked,
    PasswordResetRequested,
    PasswordReset,
    EmailVerified,
}

impl EventKind {
    const ALL: [Self; 10] = [
        Self::SignUp,
        Self::Login,
        Self::LoginFailed,
        Self::Logout,
        Self::RefreshReuseDetected,
        Self::PasswordChanged,
        Self::SessionRevoked,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::EmailVerified,
    ];

    /// The name kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::PasswordChanged => "password_changed",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailVerified => "email_verified",
        }
    }

    /// The kind stored as `name`; `None` for a name this version does not know.
    pub fn from_stored(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityEvent {
    pub id: String,
    pub kind: EventKind,
    /// Seconds since the Unix epoch.
    pub create_time: i64,
    pub client_address: String,
    pub user_agent: String,
}

/// A session as its user sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub create_time: i64,
    pub last_use_time: i64,
    pub client_address: String,
    pub user_agent: String,
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn origin(user_agent: &[u8]) -> Origin {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_bytes(user_agent).unwrap(),
        );
        Origin::new(IpAddr::from([127, 0, 0, 1]), &headers)
    }

    #[test]
    fn user_agents_are_cleaned_and_bounded() {
        assert_eq!(origin(b"Mozilla/5.0 (X11)").user_agent, "Mozilla/5.0 (X11)");
        assert_eq!(origin(b"a\tb\tc").user_agent, "abc");
        assert_eq!(origin(&[0xff, b'x']).user_agent, "\u{fffd}x");
        assert_eq!(origin(&[b'x'; 5000]).user_agent.chars().count(), 256);
        let none = Origin::new(IpAddr::from([127, 0, 0, 1]), &HeaderMap::new());
        assert_eq!(none.user_agent, "");
    }

    #[test]
    fn every_kind_is_read_back_from_its_stored_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_stored(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::from_stored("something_new"), None);
    }
}
