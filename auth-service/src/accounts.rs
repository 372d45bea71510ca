//! What the auth service does, independent of gRPC: sign-up, login with
//! throttling, refresh-token rotation, logout, password changes and token
//! validation. `grpc.rs` translates requests into these calls.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::{
    clock::Clock,
    config::Config,
    email::Email,
    error::Error,
    password::{Hasher, Password},
    store::{Refreshed, Store},
    token::{AccessToken, Claims, TokenKeys},
    user::User,
};

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

/// The auth service's state and operations.
#[derive(Debug)]
pub struct Accounts {
    store: Store,
    hasher: Hasher,
    keys: TokenKeys,
    clock: Clock,
    refresh_ttl: i64,
    max_failures: i64,
    failure_window: i64,
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
        clock: Clock,
    ) -> Self {
        Self {
            store,
            hasher,
            keys,
            clock,
            refresh_ttl: seconds(config.refresh_token_ttl),
            max_failures: i64::from(config.login_max_failures),
            failure_window: seconds(config.login_failure_window).max(1),
        }
    }

    pub fn access_token_ttl(&self) -> Duration {
        self.keys.ttl()
    }

    pub async fn sign_up(&self, email: Email, password: Password) -> Result<User, Error> {
        let password_hash = self.hasher.hash(&password).await?;
        let user = User {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.as_str().to_owned(),
            create_time: self.clock.now(),
        };
        self.store.insert_user(&user, &password_hash).await?;
        tracing::info!(user_id = %user.id, "signed up");
        Ok(user)
    }

    /// Checks the credentials and starts a session. Each attempt is counted
    /// before the password is checked; past the limit no hash is computed.
    pub async fn login(&self, email: &str, password: SecretString) -> Result<Tokens, Error> {
        // A string that is no valid email cannot match an account; it still
        // takes the normal path so it costs the same time and gets the same answer.
        let email = Email::parse(email)
            .map_or_else(|_| email.trim().to_lowercase(), |e| e.as_str().to_owned());
        let now = self.clock.now();
        let (attempts, window_start) = self
            .store
            .count_login_attempt(&email, now, self.failure_window)
            .await?;
        if attempts > self.max_failures {
            let retry_after = (window_start + self.failure_window - now).max(1);
            return Err(Error::LoginThrottled {
                retry_after: Duration::from_secs(u64::try_from(retry_after).unwrap_or(1)),
            });
        }
        let found = self.store.find_credentials(&email).await?;
        let (user, hash) = match found {
            Some(found) => (Some(found.user), Some(found.password_hash)),
            None => (None, None),
        };
        if !self.hasher.verify(password, hash).await? {
            tracing::info!("login refused: bad credentials");
            return Err(Error::BadCredentials);
        }
        let Some(user) = user else {
            return Err(Error::BadCredentials);
        };
        self.store.clear_login_attempts(&email).await?;
        let session_id = uuid::Uuid::now_v7().to_string();
        let refresh_token = new_refresh_token();
        self.store
            .create_session(
                &session_id,
                &user.id,
                now,
                now + self.refresh_ttl,
                &hash_refresh_token(&refresh_token),
            )
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
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, Error> {
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
            Refreshed::Reused => {
                tracing::warn!("refresh token reused: session revoked");
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
        let user = self
            .store
            .live_session_user(&claims.sid, &claims.sub)
            .await?
            .ok_or(Error::unauthenticated("session has ended; log in again"))?;
        Ok(Bearer { claims, user })
    }

    pub async fn logout(&self, bearer: &Bearer) -> Result<(), Error> {
        self.store.revoke_session(&bearer.claims.sid).await?;
        tracing::info!(user_id = %bearer.user.id, session_id = %bearer.claims.sid, "logged out");
        Ok(())
    }

    /// Replaces the password and ends every other session of the user.
    pub async fn change_password(
        &self,
        bearer: &Bearer,
        current: SecretString,
        new: String,
    ) -> Result<(), Error> {
        let email = Email::parse(&bearer.user.email)?;
        let new = Password::parse(new, &email, "new_password")?;
        let hash = self.store.password_hash(&bearer.user.id).await?;
        if hash.is_none() || !self.hasher.verify(current, hash).await? {
            return Err(Error::invalid("current_password", "is incorrect"));
        }
        let hash = self.hasher.hash(&new).await?;
        self.store.update_password(&bearer.user.id, &hash).await?;
        self.store
            .revoke_other_sessions(&bearer.user.id, &bearer.claims.sid)
            .await?;
        tracing::info!(user_id = %bearer.user.id, "password changed; other sessions revoked");
        Ok(())
    }
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

    const EMAIL: &str = "ada@example.com";

    /// Accounts on a private database, with a clock the test moves.
    async fn accounts(max_failures: u32, window: Duration) -> (Accounts, Clock, TestDatabase) {
        let database = TestDatabase::create().await;
        let opened = Database::open(&database.url, &crate::MIGRATIONS)
            .await
            .unwrap();
        let mut config: Config = service_runtime::config::defaults();
        config.jwt_secret = Some("unit-test-secret-long-enough-0123456789".into());
        config.login_max_failures = max_failures;
        config.login_failure_window = window;
        let clock = Clock::manual(1_800_000_000);
        let accounts = Accounts::new(
            &config,
            Store::new(opened.pool),
            Hasher::new(1).await.unwrap(),
            TokenKeys::from_config(&config).unwrap(),
            clock.clone(),
        );
        let email = Email::parse(EMAIL).unwrap();
        let password = Password::parse(PASSWORD.into(), &email, "password").unwrap();
        accounts.sign_up(email, password).await.unwrap();
        (accounts, clock, database)
    }

    async fn login(accounts: &Accounts, password: &str) -> Result<Tokens, Error> {
        accounts.login(EMAIL, SecretString::from(password)).await
    }

    #[tokio::test]
    async fn a_throttled_email_is_refused_for_the_rest_of_the_window_then_let_in() {
        let (accounts, clock, _database) = accounts(2, Duration::from_secs(60)).await;
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
}
