//! What the throttles count and how much they allow. Each counter is a fixed
//! window of hits under a key built only from parsed, bounded values (a
//! normalised email, an IP address, a user id), so no request can make a key
//! large or make two keys collide.

use std::{net::IpAddr, time::Duration};

use crate::email::Email;

/// One thing that is counted.
#[derive(Clone, Copy, Debug)]
pub enum Counter<'a> {
    /// Failed logins for one email from one address: past the limit that
    /// address may not try that email again for the rest of the window.
    LoginFrom(&'a Email, IpAddr),
    /// Failed logins from one address across all emails (password spraying).
    LoginAddress(IpAddr),
    /// Failed logins for one email from all addresses: they slow attempts
    /// down, they never refuse one.
    LoginEmail(&'a Email),
    /// Sign-ups from one address.
    SignUp(IpAddr),
    /// Wrong current passwords given to ChangePassword by one user.
    PasswordCheck(&'a str),
    /// Mail asked for to one email (password resets, verification emails),
    /// whether or not it has an account, so a refusal reveals nothing.
    MailEmail(&'a Email),
    /// Mail asked for from one address, across all emails.
    MailAddress(IpAddr),
}

impl Counter<'_> {
    /// The row key. An address is written in its canonical form, so
    /// `::ffff:1.2.3.4` and `1.2.3.4` count as one.
    pub fn key(&self) -> String {
        match self {
            Self::LoginFrom(email, address) => {
                format!("login:{} {}", address.to_canonical(), email.as_str())
            }
            Self::LoginAddress(address) => format!("login-address:{}", address.to_canonical()),
            Self::LoginEmail(email) => format!("login-email:{}", email.as_str()),
            Self::SignUp(address) => format!("sign-up:{}", address.to_canonical()),
            Self::PasswordCheck(user_id) => format!("password:{user_id}"),
            Self::MailEmail(email) => format!("mail-email:{}", email.as_str()),
            Self::MailAddress(address) => format!("mail-address:{}", address.to_canonical()),
        }
    }
}

/// At most `max` hits per window of `window` seconds.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub max: i64,
    pub window: i64,
}

impl Limit {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: i64::from(max),
            window: i64::try_from(window.as_secs())
                .unwrap_or(i64::MAX / 4)
                .max(1),
        }
    }

    /// `None` while `hits` is within the limit, else how long until the
    /// window that started at `window_start` ends.
    pub fn exceeded(&self, hits: i64, window_start: i64, now: i64) -> Option<Duration> {
        (hits > self.max).then(|| {
            let wait = (window_start + self.window - now).max(1);
            Duration::from_secs(u64::try_from(wait).unwrap_or(1))
        })
    }
}

/// The slow-down of an email that many addresses are failing against.
#[derive(Clone, Copy, Debug)]
pub struct Slowdown {
    /// Failures for the email (all addresses, one login window) before any delay.
    pub after: i64,
    /// The longest delay.
    pub max: Duration,
}

/// The first delay; it doubles every [`DOUBLING`] further failures.
const FIRST_DELAY: Duration = Duration::from_millis(250);
const DOUBLING: i64 = 10;

impl Slowdown {
    /// The delay before checking a password for an email that has `failures`
    /// in the current window (this attempt included). None up to `after`;
    /// then 250 ms, doubling every 10 failures, up to `max`. An owner who
    /// mistypes never meets it (one address alone is refused at
    /// `LOGIN_MAX_FAILURES` first); guessing spread over many addresses gets
    /// slower the more it guesses, while every attempt, the owner's too,
    /// still gets an answer within `max`.
    pub fn delay(&self, failures: i64) -> Duration {
        let excess = failures - self.after;
        if excess <= 0 {
            return Duration::ZERO;
        }
        let doublings = u32::try_from((excess - 1) / DOUBLING)
            .unwrap_or(u32::MAX)
            .min(16);
        FIRST_DELAY.saturating_mul(1_u32 << doublings).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_use_canonical_addresses() {
        let email = Email::parse("Ada@Example.com").unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let plain: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            Counter::LoginFrom(&email, mapped).key(),
            Counter::LoginFrom(&email, plain).key()
        );
        assert_eq!(
            Counter::LoginFrom(&email, plain).key(),
            "login:192.0.2.1 ada@example.com"
        );
    }

    #[test]
    fn a_limit_says_how_long_until_its_window_ends() {
        let limit = Limit::new(2, Duration::from_secs(60));
        assert_eq!(limit.exceeded(2, 1000, 1010), None);
        assert_eq!(limit.exceeded(3, 1000, 1010), Some(Duration::from_secs(50)));
        assert_eq!(limit.exceeded(3, 1000, 2000), Some(Duration::from_secs(1)));
    }

    #[test]
    fn the_slowdown_starts_after_the_threshold_doubles_and_is_capped() {
        let slowdown = Slowdown {
            after: 20,
            max: Duration::from_secs(5),
        };
        assert_eq!(slowdown.delay(20), Duration::ZERO);
        assert_eq!(slowdown.delay(21), Duration::from_millis(250));
        assert_eq!(slowdown.delay(30), Duration::from_millis(250));
        assert_eq!(slowdown.delay(31), Duration::from_millis(500));
        assert_eq!(slowdown.delay(41), Duration::from_secs(1));
        assert_eq!(slowdown.delay(61), Duration::from_secs(4));
        assert_eq!(slowdown.delay(71), Duration::from_secs(5));
        assert_eq!(slowdown.delay(i64::MAX), Duration::from_secs(5));
    }
}
