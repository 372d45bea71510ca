//! What the auth service does, independent of gRPC: sign-up, login with
//! throttling, refresh-token rotation, logout, password changes, account
//! deletion, token validation and the sweep of what has expired; password
//! reset and email verification with emailed codes are in `mail_codes`.
//! `grpc.rs` translates requests into these calls.
//!
//! Throttles protect users instead of locking them out: failed logins are
//! refused per (email, client address) and per address, while failures for
//! an email from everywhere only slow its logins down, so a stranger can
//! never stop the owner from signing in from the owner's own address.

mod mail_codes;

use std::{
    net::IpAddr,
    sync::{Arc, Weak},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};

use crate::{
    account_events::AccountEvents,
    activity::{EventKind, Origin, SecurityEvent, SessionInfo},
    address_slots::{AddressSlots, Slot},
    clock::Clock,
    code::Purpose,
    config::Config,
    email::Email,
    error::Error,
    mail::Letters,
    password::{Hasher, Password},
    store::{Refreshed, Store},
    throttle::{Counter, Limit, Slowdown},
    token::{AccessToken, Claims, TokenKeys},
    user::User,
};

/// When to retry a password check refused because the address has its share
/// in flight: about one hash later.
const SLOT_RETRY: Duration = Duration::from_secs(1);

/// How stale a session's last use may get before a call records a new one:
/// one write per session every few minutes, not one per call.
const LAST_USE_PRECISION: i64 = 5 * 60;

/// Password-reset requests handled at once apart from their answers; more
/// wait for a turn (unknown emails alike, so waiting reveals nothing).
const RESET_REQUESTS_AT_ONCE: usize = 32;

/// Security events per page when the client does not say, and at most.
const EVENTS_PAGE_DEFAULT: i64 = 20;
const EVENTS_PAGE_MAX: i64 = 100;

/// A verified bearer: its token's claims and the live session's user.
#[derive(Debug)]
pub struct Bearer {
    pub claims: Claims,
    pub user: User,
}

/// The tokens of a session, as Login and Refresh return them.
#[derive(Debug)]
pub struct Tokens {
    pub access: AccessToken,
    pub refresh_token: String,
    pub user: User,
}

/// The limits `Accounts` enforces, from the configuration.
#[derive(Debug)]
struct Limits {
    login_from: Limit,
    login_address: Limit,
    login_slowdown: Slowdown,
    sign_up: Limit,
    password_check: Limit,
    mail_email: Limit,
    mail_address: Limit,
    /// Expired sessions and used refresh tokens are kept this long (seconds).
    retention: i64,
    /// Security events are kept this long (seconds).
    event_retention: i64,
    /// Throttle rows older than the longest window are of no use.
    longest_window: i64,
}

/// The auth service's state and operations.
#[derive(Debug)]
pub struct Accounts {
    store: Store,
    hasher: Hasher,
    keys: TokenKeys,
    clock: Clock,
    refresh_ttl: i64,
    limits: Limits,
    slots: AddressSlots,
    /// Writes the mail that codes travel in.
    letters: Letters,
    /// Wakes the outbox's sender when mail has been written.
    mail_written: Arc<Notify>,
    /// How long an emailed code works (seconds).
    code_ttl: i64,
    require_verified_email: bool,
    /// Password-reset requests handled apart from their answers, at most
    /// this many at once (see `request_password_reset`).
    reset_requests: Arc<Semaphore>,
    account_events: AccountEvents,
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 4)
}

impl Accounts {
    pub fn new(
        config: &Config,
        store: Store,
        hasher: Hasher,
        keys: TokenKeys,
        letters: Letters,
        mail_written: Arc<Notify>,
        clock: Clock,
    ) -> Self {
        let login_from = Limit::new(config.login_max_failures, config.login_failure_window);
        let sign_up = Limit::new(config.signup_max_per_address, config.signup_window);
        let mail_email = Limit::new(config.mail_max_per_email, config.mail_window);
        Self {
            hasher,
            keys,
            clock,
            refresh_ttl: seconds(config.refresh_token_ttl),
            limits: Limits {
                login_from,
                login_address: Limit::new(
                    config.login_max_failures_per_address,
                    config.login_failure_window,
                ),
                login_slowdown: Slowdown {
                    after: i64::from(config.login_slowdown_after),
                    max: config.login_slowdown_max,
                },
                sign_up,
                password_check: login_from,
                mail_email,
                mail_address: Limit::new(config.mail_max_per_address, config.mail_window),
                retention: seconds(config.sweep_retention),
                event_retention: seconds(config.security_event_retention),
                longest_window: login_from.window.max(sign_up.window).max(mail_email.window),
            },
            slots: AddressSlots::new(config.hash_max_concurrent_per_address),
            letters,
            mail_written,
            code_ttl: seconds(config.mail_code_ttl).max(1),
            require_verified_email: config.require_verified_email,
            reset_requests: Arc::new(Semaphore::new(RESET_REQUESTS_AT_ONCE)),
            account_events: AccountEvents::new(store.clone()),
            store,
        }
    }

    /// A password-check slot for `client`, or a refusal at once.
    fn slot(&self, client: IpAddr) -> Result<Slot, Error> {
        self.slots.try_take(client).ok_or(Error::HashingBusy {
            retry_after: SLOT_RETRY,
        })
    }

    /// Counts a hit on `counter`; `refused` builds the error when it is over `limit`.
    async fn count(
        &self,
        counter: Counter<'_>,
        limit: Limit,
        now: i64,
        refused: fn(Duration) -> Error,
    ) -> Result<(), Error> {
        let (hits, window_start) = self
            .store
            .count_hit(&counter.key(), now, limit.window)
            .await?;
        match limit.exceeded(hits, window_start, now) {
            Some(retry_after) => Err(refused(retry_after)),
            None => Ok(()),
        }
    }

    pub fn access_token_ttl(&self) -> Duration {
        self.keys.ttl()
    }

    /// The account events other services follow.
    pub fn account_events(&self) -> &AccountEvents {
        &self.account_events
    }

    /// Checks `password` against the bearer's own, before a change only the
    /// owner may make: in one of the caller's address's hashing slots (held
    /// until the returned slot is dropped), and counted per user like failed
    /// logins, so a stolen access token cannot be used to guess the password.
    /// A wrong one is INVALID_ARGUMENT naming `field`.
    async fn check_own_password(
        &self,
        bearer: &Bearer,
        password: SecretString,
        field: &'static str,
        origin: &Origin,
    ) -> Result<Slot, Error> {
        let slot = self.slot(origin.address)?;
        let counter = Counter::PasswordCheck(&bearer.user.id);
        self.count(
            counter,
            self.limits.password_check,
            self.clock.now(),
            |retry_after| Error::PasswordCheckThrottled { retry_after },
        )
        .await?;
        let hash = self.store.password_hash(&bearer.user.id).await?;
        if hash.is_none() || !self.hasher.verify(password, hash).await? {
            return Err(Error::invalid(field, "is incorrect"));
        }
        self.store.clear_hits(&counter.key()).await?;
        Ok(slot)
    }

    /// Creates an account and mails it a verification code; each address
    /// may sign up `SIGNUP_MAX_PER_ADDRESS` times per window (attempts count,
    /// taken emails included), which also bounds the mail sign-ups send.
    pub async fn sign_up(
        &self,
        email: Email,
        password: Password,
        origin: &Origin,
    ) -> Result<User, Error> {
        let client = origin.address;
        let _slot = self.slot(client)?;
        let now = self.clock.now();
        self.count(
            Counter::SignUp(client),
            self.limits.sign_up,
            now,
            |retry_after| Error::SignUpThrottled { retry_after },
        )
        .await?;
        let password_hash = self.hasher.hash(&password).await?;
        let user = User {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.as_str().to_owned(),
            create_time: now,
            email_verified: false,
        };
        self.store.insert_user(&user, &password_hash).await?;
        self.store
            .record_event(&user.id, EventKind::SignUp, now, origin)
            .await?;
        tracing::info!(user_id = %user.id, "signed up");
        // The account exists now: a failure to queue its mail must not turn
        // the sign-up into an error (a retry would find the email taken).
        if let Err(error) = self.send_code(&user, Purpose::VerifyEmail, now).await {
            tracing::warn!(
                user_id = %user.id,
                %error,
                "the verification email could not be queued; SendVerificationEmail sends another"
            );
        }
        Ok(user)
    }

    /// Checks the credentials and starts a session. Every attempt is counted
    /// before the password is checked, one upsert per counter, so parallel
    /// attempts cannot slip past a limit; a success takes its count back.
    pub async fn login(
        &self,
        email: &Email,
        password: SecretString,
        origin: &Origin,
    ) -> Result<Tokens, Error> {
        let client = origin.address;
        // Held through the slow-down and the hash: one address cannot park
        // more than its share of attempts here.
        let _slot = self.slot(client)?;
        let now = self.clock.now();
        let limits = &self.limits;
        self.count(
            Counter::LoginFrom(email, client),
            limits.login_from,
            now,
            |retry_after| Error::LoginThrottled { retry_after },
        )
        .await?;
        self.count(
            Counter::LoginAddress(client),
            limits.login_address,
            now,
            |retry_after| Error::AddressThrottled { retry_after },
        )
        .await?;
        let email_key = Counter::LoginEmail(email).key();
        let (email_failures, _) = self
            .store
            .count_hit(&email_key, now, limits.login_from.window)
            .await?;
        let delay = limits.login_slowdown.delay(email_failures);
        if !delay.is_zero() {
            tracing::info!(
                delay_ms = delay.as_millis(),
                email_failures,
                "login slowed down: many failures for this email"
            );
            tokio::time::sleep(delay).await;
        }
        // An unknown email is checked against a dummy hash: same time, same answer.
        let found = self.store.find_credentials(email.as_str()).await?;
        let (user, hash) = match found {
            Some(found) => (Some(found.user), Some(found.password_hash)),
            None => (None, None),
        };
        if !self.hasher.verify(password, hash).await? {
            tracing::info!("login refused: bad credentials");
            if let Some(user) = &user {
                // The owner sees attempts on their account in its activity.
                self.store
                    .record_event(&user.id, EventKind::LoginFailed, now, origin)
                    .await?;
            }
            return Err(Error::BadCredentials);
        }
        let Some(user) = user else {
            return Err(Error::BadCredentials);
        };
        self.store
            .clear_hits(&Counter::LoginFrom(email, client).key())
            .await?;
        self.store
            .refund_hit(&Counter::LoginAddress(client).key())
            .await?;
        self.store.refund_hit(&email_key).await?;
        // Only now, after the password: a stranger learns nothing from it.
        if self.require_verified_email && !user.email_verified {
            let code_sent = self.send_code_at_login(&user, email, origin, now).await?;
            tracing::info!(user_id = %user.id, code_sent, "login refused: email not verified");
            return Err(Error::EmailNotVerified { code_sent });
        }
        let session_id = uuid::Uuid::now_v7().to_string();
        let refresh_token = new_refresh_token();
        self.store
            .create_session(
                &session_id,
                &user.id,
                now,
                now + self.refresh_ttl,
                &hash_refresh_token(&refresh_token),
                origin,
            )
            .await?;
        self.store
            .record_event(&user.id, EventKind::Login, now, origin)
            .await?;
        tracing::info!(user_id = %user.id, session_id = %session_id, "logged in");
        let access = self.keys.issue(&user.id, &user.email, &session_id, now)?;
        Ok(Tokens {
            access,
            refresh_token,
            user,
        })
    }

    /// Trades a refresh token for new tokens; a reused one ends its session.
    pub async fn refresh(&self, refresh_token: &str, origin: &Origin) -> Result<Tokens, Error> {
        if refresh_token.is_empty() {
            return Err(Error::invalid("refresh_token", "is required"));
        }
        let now = self.clock.now();
        let next = new_refresh_token();
        let outcome = self
            .store
            .rotate_refresh_token(
                &hash_refresh_token(refresh_token),
                &hash_refresh_token(&next),
                now,
                now + self.refresh_ttl,
                origin,
            )
            .await?;
        match outcome {
            Refreshed::Rotated { session_id, user } => {
                let access = self.keys.issue(&user.id, &user.email, &session_id, now)?;
                Ok(Tokens {
                    access,
                    refresh_token: next,
                    user,
                })
            }
            Refreshed::Reused {
                session_id,
                user_id,
            } => {
                tracing::warn!(%session_id, %user_id, "refresh token reused: session revoked");
                self.store
                    .record_event(&user_id, EventKind::RefreshReuseDetected, now, origin)
                    .await?;
                Err(Error::unauthenticated(
                    "refresh token already used; the session has been revoked, log in again",
                ))
            }
            Refreshed::Invalid => Err(Error::unauthenticated(
                "invalid or expired refresh token; log in again",
            )),
        }
    }

    /// Verifies an access token and that its session is live. No password
    /// work: a signature check and one primary-key lookup.
    pub async fn authenticate(&self, access_token: &str) -> Result<Bearer, Error> {
        let claims = self.keys.verify(access_token)?;
        let (user, last_use_time) = self
            .store
            .live_session_user(&claims.sid, &claims.sub)
            .await?
            .ok_or(Error::unauthenticated("session has ended; log in again"))?;
        let now = self.clock.now();
        if now - last_use_time >= LAST_USE_PRECISION {
            self.store.touch_session(&claims.sid, now).await?;
        }
        Ok(Bearer { claims, user })
    }

    pub async fn logout(&self, bearer: &Bearer, origin: &Origin) -> Result<(), Error> {
        self.store.revoke_session(&bearer.claims.sid).await?;
        self.store
            .record_event(&bearer.user.id, EventKind::Logout, self.clock.now(), origin)
            .await?;
        tracing::info!(user_id = %bearer.user.id, session_id = %bearer.claims.sid, "logged out");
        Ok(())
    }

    /// Replaces the password and ends every other session of the user.
    /// Wrong current passwords are limited per user like failed logins, so
    /// a stolen access token cannot be used to guess the password.
    pub async fn change_password(
        &self,
        bearer: &Bearer,
        current: SecretString,
        new: String,
        origin: &Origin,
    ) -> Result<(), Error> {
        let email = Email::parse(&bearer.user.email)?;
        let new = Password::parse(new, &email, "new_password")?;
        let _slot = self
            .check_own_password(bearer, current, "current_password", origin)
            .await?;
        let hash = self.hasher.hash(&new).await?;
        self.store.update_password(&bearer.user.id, &hash).await?;
        self.store
            .revoke_other_sessions(&bearer.user.id, &bearer.claims.sid)
            .await?;
        self.store
            .record_event(
                &bearer.user.id,
                EventKind::PasswordChanged,
                self.clock.now(),
                origin,
            )
            .await?;
        tracing::info!(user_id = %bearer.user.id, "password changed; other sessions revoked");
        Ok(())
    }

    /// Deletes the bearer's account once `password` is checked as a password
    /// change checks the current one: the user, their sessions, security
    /// events and throttle rows go, and the `account_deleted` event that the
    /// task service follows is appended, in one transaction. Every token of
    /// the user is refused from then on (their sessions are gone), and the
    /// email is free to sign up again.
    pub async fn delete_account(
        &self,
        bearer: &Bearer,
        password: SecretString,
        origin: &Origin,
    ) -> Result<(), Error> {
        let _slot = self
            .check_own_password(bearer, password, "password", origin)
            .await?;
        let user_id = &bearer.user.id;
        let throttles = [Counter::PasswordCheck(user_id).key()];
        let Some(event) = self
            .store
            .delete_account(user_id, &throttles, self.clock.now())
            .await?
        else {
            // A concurrent call deleted it first.
            return Err(Error::unauthenticated("session has ended; log in again"));
        };
        self.account_events.appended(event.sequence);
        tracing::info!(%user_id, sequence = event.sequence, "account deleted");
        Ok(())
    }

    /// The bearer's live sessions, the most recently used first, each with
    /// whether it is the bearer's own.
    pub async fn sessions(&self, bearer: &Bearer) -> Result<Vec<(SessionInfo, bool)>, Error> {
        let sessions = self
            .store
            .live_sessions(&bearer.user.id, self.clock.now())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|session| {
                let current = session.id == bearer.claims.sid;
                (session, current)
            })
            .collect())
    }

    /// Ends one of the bearer's own live sessions.
    pub async fn revoke_session(
        &self,
        bearer: &Bearer,
        session_id: &str,
        origin: &Origin,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        if !self
            .store
            .revoke_user_session(&bearer.user.id, session_id, now)
            .await?
        {
            return Err(Error::SessionNotFound);
        }
        self.store
            .record_event(&bearer.user.id, EventKind::SessionRevoked, now, origin)
            .await?;
        tracing::info!(user_id = %bearer.user.id, %session_id, "session revoked");
        Ok(())
    }

    /// Ends every session of the bearer's but the bearer's own; returns how many.
    pub async fn revoke_other_sessions(
        &self,
        bearer: &Bearer,
        origin: &Origin,
    ) -> Result<u64, Error> {
        let revoked = self
            .store
            .revoke_other_sessions(&bearer.user.id, &bearer.claims.sid)
            .await?;
        if revoked > 0 {
            self.store
                .record_event(
                    &bearer.user.id,
                    EventKind::SessionRevoked,
                    self.clock.now(),
                    origin,
                )
                .await?;
        }
        tracing::info!(user_id = %bearer.user.id, revoked, "other sessions revoked");
        Ok(revoked)
    }

    /// One page of the bearer's security events, newest first, and the token
    /// of the next page (empty on the last). `page_token` is the previous
    /// page's; `page_size` 0 means the default, larger than the maximum the maximum.
    pub async fn security_events(
        &self,
        bearer: &Bearer,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<SecurityEvent>, String), Error> {
        let size = match i64::from(page_size) {
            0 => EVENTS_PAGE_DEFAULT,
            size if size < 0 => {
                return Err(Error::invalid("page_size", "must not be negative"));
            }
            size => size.min(EVENTS_PAGE_MAX),
        };
        // A token is the id of the last event of the previous page.
        let before = match page_token {
            "" => None,
            token if uuid::Uuid::try_parse(token).is_ok() => Some(token),
            _ => {
                return Err(Error::invalid(
                    "page_token",
                    "is not a next_page_token from ListSecurityEvents; leave it empty for the first page",
                ));
            }
        };
        let mut events = self.store.events(&bearer.user.id, before, size + 1).await?;
        let next = if events.len() > usize::try_from(size).unwrap_or(usize::MAX) {
            events.truncate(events.len() - 1);
            events
                .last()
                .map(|event| event.id.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((events, next))
    }
}

impl Accounts {
    /// Deletes expired sessions (with their refresh tokens) and used refresh
    /// tokens once they are older than the retention, and throttle rows whose
    /// window is over. Returns the rows deleted.
    pub async fn sweep(&self) -> Result<u64, Error> {
        let now = self.clock.now();
        let kept_since = now - self.limits.retention;
        self.store
            .sweep(
                kept_since,
                kept_since,
                now - self.limits.longest_window,
                now - self.limits.event_retention,
                now,
            )
            .await
    }
}

/// Runs [`Accounts::sweep`] every `interval` until the accounts are dropped
/// (the server has stopped). A failed sweep is logged and tried again later.
pub fn spawn_sweep(accounts: Weak<Accounts>, interval: Duration) -> tokio::task::JoinHandle<()> {
    let interval = interval.max(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(accounts) = accounts.upgrade() else {
                return;
            };
            match accounts.sweep().await {
                Ok(deleted) => tracing::debug!(deleted, "swept expired rows"),
                Err(error) => tracing::warn!(%error, "the sweep failed; retrying later"),
            }
        }
    })
}

/// 256 random bits, URL-safe base64.
fn new_refresh_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Only this digest is stored: a leaked database does not leak usable tokens.
fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use service_runtime::database::Database;
    use testkit::{TestDatabase, users::PASSWORD};

    use super::*;

    pub(super) const EMAIL: &str = "ada@example.com";
    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    pub(super) fn home() -> Origin {
        Origin {
            address: HOME,
            user_agent: "unit test".into(),
        }
    }

    /// Accounts on a private database, with a clock the test moves, and
    /// [`EMAIL`] signed up (its verification mail waits in the outbox).
    pub(super) async fn accounts(
        adjust: impl FnOnce(&mut Config),
    ) -> (Accounts, Clock, Store, TestDatabase) {
        let database = TestDatabase::create().await;
        let opened = Database::open(&database.url, &crate::MIGRATIONS)
            .await
            .unwrap();
        let mut config: Config = service_runtime::config::defaults();
        config.jwt_secret = Some("unit-test-secret-long-enough-0123456789".into());
        adjust(&mut config);
        let clock = Clock::manual(1_800_000_000);
        let store = Store::new(opened.pool);
        let accounts = Accounts::new(
            &config,
            store.clone(),
            Hasher::new(1, 4).await.unwrap(),
            TokenKeys::from_config(&config).unwrap(),
            Letters::from_config(&config).unwrap(),
            Arc::new(Notify::new()),
            clock.clone(),
        );
        let email = Email::parse(EMAIL).unwrap();
        let password = Password::parse(PASSWORD.into(), &email, "password").unwrap();
        accounts.sign_up(email, password, &home()).await.unwrap();
        (accounts, clock, store, database)
    }

    async fn login(accounts: &Accounts, password: &str) -> Result<Tokens, Error> {
        let email = Email::parse(EMAIL).unwrap();
        accounts
            .login(&email, SecretString::from(password), &home())
            .await
    }

    #[tokio::test]
    async fn a_throttled_email_is_refused_for_the_rest_of_the_window_then_let_in() {
        let (accounts, clock, _store, _database) = accounts(|config| {
            config.login_max_failures = 2;
            config.login_failure_window = Duration::from_secs(60);
        })
        .await;
        for _ in 0..2 {
            assert!(matches!(
                login(&accounts, "not the password").await,
                Err(Error::BadCredentials)
            ));
        }
        // Past the limit even the right password is refused, and told how long to wait.
        let refused = login(&accounts, PASSWORD).await;
        assert!(
            matches!(refused, Err(Error::LoginThrottled { retry_after }) if retry_after == Duration::from_secs(60)),
            "{refused:?}"
        );
        clock.advance(45);
        let refused = login(&accounts, PASSWORD).await;
        assert!(
            matches!(refused, Err(Error::LoginThrottled { retry_after }) if retry_after == Duration::from_secs(15)),
            "{refused:?}"
        );
        clock.advance(15);
        login(&accounts, PASSWORD)
            .await
            .expect("the window is over");
        // A successful login clears the count: the limit applies afresh.
        assert!(matches!(
            login(&accounts, "not the password").await,
            Err(Error::BadCredentials)
        ));
        login(&accounts, PASSWORD)
            .await
            .expect("within the limit again");
    }

    /// Rows that can no longer matter are deleted once the clock passes
    /// their expiry plus the retention; live ones stay.
    #[tokio::test]
    async fn the_sweep_deletes_expired_sessions_used_tokens_and_old_throttle_rows() {
        let (accounts, clock, _store, _database) = accounts(|config| {
            config.refresh_token_ttl = Duration::from_secs(3600);
            config.sweep_retention = Duration::from_secs(600);
            // The sign-up's verification code and mail outlive this test.
            config.mail_code_ttl = Duration::from_secs(86_400);
        })
        .await;
        let first = login(&accounts, PASSWORD).await.unwrap();
        let rotated = accounts
            .refresh(&first.refresh_token, &home())
            .await
            .unwrap();
        login(&accounts, "not the password").await.unwrap_err();
        assert_eq!(accounts.sweep().await.unwrap(), 0, "nothing is old yet");

        // The used token's retention is over.
        clock.advance(1000);
        let later = login(&accounts, PASSWORD).await.unwrap();
        assert_eq!(accounts.sweep().await.unwrap(), 1, "the used refresh token");

        // Past expiry plus retention the first session goes, with its live
        // refresh token, and the throttle rows (the longest window is 1 h)
        // go too; the later session stays.
        clock.advance(3600 + 600 - 1000 + 1);
        assert!(accounts.sweep().await.unwrap() >= 3);
        assert!(accounts.authenticate(&first.access.token).await.is_err());
        assert!(matches!(
            accounts.refresh(&rotated.refresh_token, &home()).await,
            Err(Error::Unauthenticated(_))
        ));
        accounts
            .authenticate(&later.access.token)
            .await
            .expect("the later session is live");
    }

    /// Security events are kept for their own retention, apart from sessions.
    #[tokio::test]
    async fn the_sweep_deletes_security_events_past_their_retention() {
        let (accounts, clock, store, _database) = accounts(|config| {
            config.security_event_retention = Duration::from_secs(100);
        })
        .await;
        let session = login(&accounts, PASSWORD).await.unwrap();
        let user_id = session.user.id.clone();
        assert_eq!(store.events(&user_id, None, 10).await.unwrap().len(), 2);
        clock.advance(101);
        login(&accounts, "not the password").await.unwrap_err();
        accounts.sweep().await.unwrap();
        let kept = store.events(&user_id, None, 10).await.unwrap();
        assert_eq!(
            kept.iter().map(|event| event.kind).collect::<Vec<_>>(),
            [EventKind::LoginFailed],
            "sign-up and login are past the retention; the failure is not"
        );
    }
}
