//! All SQL of the auth service: users, sessions, refresh tokens, throttle
//! counters, security events, emailed codes, the mail outbox and the
//! account-event outbox. Each query is written once and runs on SQLite and
//! PostgreSQL.

use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    account_events::{AccountEvent, AccountEventKind},
    activity::{EventKind, Origin, SecurityEvent, SessionInfo},
    code::Purpose,
    error::Error,
    user::User,
};

/// A user from a row with `id`, `email`, `create_time` and `email_verified`.
/// sqlx's `Any` driver cannot read a SQLite BOOLEAN column, so queries
/// select the flag as a number (`CASE WHEN u.email_verified THEN 1 ELSE 0 END`).
fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        create_time: row.try_get("create_time")?,
        email_verified: row.try_get::<i64, _>("email_verified")? != 0,
    })
}

/// A message for the outbox, with the code it carries already in its text.
#[derive(Clone)]
pub struct OutgoingMail {
    pub id: String,
    pub user_id: String,
    pub recipient: String,
    /// The whole RFC 5322 message.
    pub message: String,
    pub create_time: i64,
    /// When the code in it stops working: undelivered by then, it is dropped.
    pub expire_time: i64,
}

/// The message holds a code: `Debug` shows where it goes, never what it says.
impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("expire_time", &self.expire_time)
            .finish_non_exhaustive()
    }
}

/// A message a sender has claimed from the outbox, leased until it is
/// delivered, put off, or the lease runs out.
#[derive(Clone)]
pub struct ClaimedMail {
    pub id: String,
    pub recipient: String,
    pub message: String,
    pub expire_time: i64,
    /// Earlier attempts that failed.
    pub attempts: i64,
    /// This claim's own token: only it may delete or put off the row.
    pub claim: String,
}

impl std::fmt::Debug for ClaimedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedMail")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// An account with the hash its password is checked against.
#[derive(Debug)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Refreshed {
    /// The token was live: it is now used up and `new_hash` replaces it.
    Rotated { session_id: String, user: User },
    /// The token had been used before: its session (of `user_id`) is now revoked.
    Reused { session_id: String, user_id: String },
    /// No such token, or its session is over.
    Invalid,
}

/// The auth service's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Inserts a user; a taken email becomes `EmailTaken` through the unique
    /// constraint, so two sign-ups racing for one email cannot both win.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db insert_user", otel.kind = "client"))]
    pub async fn insert_user(&self, user: &User, password_hash: &str) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, create_time) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(password_hash)
        .bind(user.create_time)
        .execute(&self.pool)
        .await
        .map_err(|error| {
            if service_runtime::database::is_unique_violation(&error) {
                Error::EmailTaken
            } else {
                error.into()
            }
        })?;
        Ok(())
    }

    /// The account of `email` with its password hash, for a login.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db find_credentials", otel.kind = "client"))]
    pub async fn find_credentials(&self, email: &str) -> Result<Option<Credentials>, Error> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.create_time, u.password_hash,
                 CASE WHEN u.email_verified THEN 1 ELSE 0 END AS email_verified
             FROM users u WHERE u.email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            user: user_from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
        }))
    }

    /// The password hash of `user_id`, for a password change.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db password_hash", otel.kind = "client"))]
    pub async fn password_hash(&self, user_id: &str) -> Result<Option<String>, Error> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("password_hash")).transpose()?)
    }

    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db update_password", otel.kind = "client"))]
    pub async fn update_password(&self, user_id: &str, password_hash: &str) -> Result<(), Error> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts one hit on the throttle `key` and returns the hits in the
    /// current window and when that window started. One upsert, so parallel
    /// attempts each see a different count and cannot slip past a limit; a
    /// window that started `window_secs` or more before `now` restarts.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db count_hit", otel.kind = "client"))]
    pub async fn count_hit(
        &self,
        key: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<(i64, i64), Error> {
        let row = sqlx::query(
            "INSERT INTO throttles (throttle_key, window_start, hits) VALUES ($1, $2, 1)
             ON CONFLICT (throttle_key) DO UPDATE SET
                 hits = CASE WHEN throttles.window_start <= $3 THEN 1
                             ELSE throttles.hits + 1 END,
                 window_start = CASE WHEN throttles.window_start <= $3 THEN $2
                                     ELSE throttles.window_start END
             RETURNING hits, window_start",
        )
        .bind(key)
        .bind(now)
        .bind(now - window_secs)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("hits")?, row.try_get("window_start")?))
    }

    /// Takes back one hit on `key`: an attempt that turned out to succeed.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db refund_hit", otel.kind = "client"))]
    pub async fn refund_hit(&self, key: &str) -> Result<(), Error> {
        sqlx::query("UPDATE throttles SET hits = hits - 1 WHERE throttle_key = $1 AND hits > 0")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the throttle `key` (after a successful login, for example).
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db clear_hits", otel.kind = "client"))]
    pub async fn clear_hits(&self, key: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM throttles WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes what nobody can use any more: sessions that expired before
    /// `expired_before` (their refresh tokens go with them), refresh tokens
    /// used before `used_before`, throttle windows that started before
    /// `windows_before`, security events older than `events_before`, and
    /// emailed codes (with their undelivered mail) expired by `now`.
    /// Returns the rows deleted.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db sweep", otel.kind = "client"))]
    pub async fn sweep(
        &self,
        expired_before: i64,
        used_before: i64,
        windows_before: i64,
        events_before: i64,
        now: i64,
    ) -> Result<u64, Error> {
        let mut deleted = 0;
        // Codes that stopped working, and mail whose code has: nobody can use
        // them (a leased message is left to its sender, which drops it too).
        deleted += sqlx::query("DELETE FROM mail_codes WHERE expire_time <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        deleted +=
            sqlx::query("DELETE FROM mail_outbox WHERE expire_time <= $1 AND locked_until <= $1")
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        deleted += sqlx::query("DELETE FROM security_events WHERE create_time < $1")
            .bind(events_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        deleted += sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN
                 (SELECT id FROM sessions WHERE expire_time < $1)",
        )
        .bind(expired_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        deleted += sqlx::query("DELETE FROM sessions WHERE expire_time < $1")
            .bind(expired_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        deleted += sqlx::query("DELETE FROM refresh_tokens WHERE used = TRUE AND create_time < $1")
            .bind(used_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        deleted += sqlx::query("DELETE FROM throttles WHERE window_start < $1")
            .bind(windows_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }

    /// Starts a session with its first refresh token.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db create_session", otel.kind = "client"))]
    pub async fn create_session(
        &self,
        session_id: &str,
        user_id: &str,
        now: i64,
        expire_time: i64,
        refresh_hash: &str,
        origin: &Origin,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, create_time, expire_time, revoked, last_use_time, client_address, user_agent)
             VALUES ($1, $2, $3, $4, FALSE, $3, $5, $6)",
        )
        .bind(session_id)
        .bind(user_id)
        .bind(now)
        .bind(expire_time)
        .bind(origin.address.to_string())
        .bind(&origin.user_agent)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, used, create_time) VALUES ($1, $2, FALSE, $3)")
            .bind(refresh_hash)
            .bind(session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses up the refresh token with hash `old_hash` and, if its session is
    /// live, stores `new_hash` in its place and extends the session to
    /// `expire_time`. Marking the token used is one conditional UPDATE, so of
    /// two concurrent refreshes with the same token exactly one succeeds.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db rotate_refresh_token", otel.kind = "client"))]
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
        expire_time: i64,
        origin: &Origin,
    ) -> Result<Refreshed, Error> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET used = TRUE WHERE token_hash = $1 AND used = FALSE RETURNING session_id",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else {
            drop(tx);
            // Unknown, or used before: a used token presented again means it
            // leaked (OAuth 2.0 Security BCP), so its whole session ends.
            let reused = sqlx::query(
                "UPDATE sessions SET revoked = TRUE
                 WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
                 RETURNING id, user_id",
            )
            .bind(old_hash)
            .fetch_optional(&self.pool)
            .await?;
            return Ok(match reused {
                Some(row) => Refreshed::Reused {
                    session_id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                },
                None => Refreshed::Invalid,
            });
        };
        let session_id: String = claimed.try_get("session_id")?;
        let user = sqlx::query(
            "SELECT u.id, u.email, u.create_time,
                 CASE WHEN u.email_verified THEN 1 ELSE 0 END AS email_verified
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.revoked = FALSE AND s.expire_time > $2",
        )
        .bind(&session_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = user.as_ref().map(user_from_row).transpose()? else {
            tx.commit().await?;
            return Ok(Refreshed::Invalid);
        };
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, used, create_time) VALUES ($1, $2, FALSE, $3)")
            .bind(new_hash)
            .bind(&session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE sessions SET expire_time = $1, last_use_time = $2, client_address = $3, user_agent = $4
             WHERE id = $5",
        )
        .bind(expire_time)
        .bind(now)
        .bind(origin.address.to_string())
        .bind(&origin.user_agent)
        .bind(&session_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Refreshed::Rotated { session_id, user })
    }

    /// The user of session `session_id`, and when the session was last used,
    /// if the session is live and belongs to `user_id`: one primary-key lookup
    /// joined with the user.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db live_session_user", otel.kind = "client"))]
    pub async fn live_session_user(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> Result<Option<(User, i64)>, Error> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.create_time, s.last_use_time,
                 CASE WHEN u.email_verified THEN 1 ELSE 0 END AS email_verified
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.user_id = $2 AND s.revoked = FALSE",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((user_from_row(&row)?, row.try_get("last_use_time")?)))
    }

    /// Records that session `session_id` was used at `now`.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db touch_session", otel.kind = "client"))]
    pub async fn touch_session(&self, session_id: &str, now: i64) -> Result<(), Error> {
        sqlx::query("UPDATE sessions SET last_use_time = $1 WHERE id = $2 AND last_use_time < $1")
            .bind(now)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live sessions of `user_id` at `now`, the most recently used first.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db live_sessions", otel.kind = "client"))]
    pub async fn live_sessions(&self, user_id: &str, now: i64) -> Result<Vec<SessionInfo>, Error> {
        let rows = sqlx::query(
            "SELECT id, create_time, last_use_time, client_address, user_agent FROM sessions
             WHERE user_id = $1 AND revoked = FALSE AND expire_time > $2
             ORDER BY last_use_time DESC, id DESC",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SessionInfo {
                    id: row.try_get("id")?,
                    create_time: row.try_get("create_time")?,
                    last_use_time: row.try_get("last_use_time")?,
                    client_address: row.try_get("client_address")?,
                    user_agent: row.try_get("user_agent")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Error::from)
    }

    /// Revokes session `session_id` if it is a live session of `user_id`;
    /// says whether it was.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db revoke_user_session", otel.kind = "client"))]
    pub async fn revoke_user_session(
        &self,
        user_id: &str,
        session_id: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked = TRUE
             WHERE id = $1 AND user_id = $2 AND revoked = FALSE AND expire_time > $3",
        )
        .bind(session_id)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(revoked > 0)
    }

    /// Records `kind` for `user_id`.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db record_event", otel.kind = "client"))]
    pub async fn record_event(
        &self,
        user_id: &str,
        kind: EventKind,
        now: i64,
        origin: &Origin,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO security_events (id, user_id, kind, create_time, client_address, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user_id)
        .bind(kind.as_str())
        .bind(now)
        .bind(origin.address.to_string())
        .bind(&origin.user_agent)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` events of `user_id`, newest first, older than the event
    /// `before` when given. Kinds this version does not know are left out.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db events", otel.kind = "client"))]
    pub async fn events(
        &self,
        user_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SecurityEvent>, Error> {
        let rows = sqlx::query(
            "SELECT id, kind, create_time, client_address, user_agent FROM security_events
             WHERE user_id = $1 AND ($2 = '' OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(user_id)
        .bind(before.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            if let Some(kind) = EventKind::from_stored(&kind) {
                events.push(SecurityEvent {
                    id: row.try_get("id")?,
                    kind,
                    create_time: row.try_get("create_time")?,
                    client_address: row.try_get("client_address")?,
                    user_agent: row.try_get("user_agent")?,
                });
            }
        }
        Ok(events)
    }

    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db revoke_session", otel.kind = "client"))]
    pub async fn revoke_session(&self, session_id: &str) -> Result<(), Error> {
        sqlx::query("UPDATE sessions SET revoked = TRUE WHERE id = $1")
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes every live session of `user_id` except `keep`; returns how many.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db revoke_other_sessions", otel.kind = "client"))]
    pub async fn revoke_other_sessions(&self, user_id: &str, keep: &str) -> Result<u64, Error> {
        Ok(sqlx::query(
            "UPDATE sessions SET revoked = TRUE WHERE user_id = $1 AND id <> $2 AND revoked = FALSE",
        )
        .bind(user_id)
        .bind(keep)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
    /// The account of `email`, if there is one.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db find_user", otel.kind = "client"))]
    pub async fn find_user(&self, email: &str) -> Result<Option<User>, Error> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.create_time,
                 CASE WHEN u.email_verified THEN 1 ELSE 0 END AS email_verified
             FROM users u WHERE u.email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// Makes `code_hash` the user's only live code for `purpose` (a previous
    /// one stops working) and puts `mail`, which carries the code, in the
    /// outbox, in one transaction: no code without its mail, no mail without
    /// its code. Mail of the previous code not yet being sent is dropped.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db issue_code", otel.kind = "client"))]
    pub async fn issue_code(
        &self,
        purpose: Purpose,
        code_hash: &str,
        mail: &OutgoingMail,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO mail_codes (user_id, purpose, code_hash, expire_time, attempts)
             VALUES ($1, $2, $3, $4, 0)
             ON CONFLICT (user_id, purpose) DO UPDATE SET
                 code_hash = excluded.code_hash,
                 expire_time = excluded.expire_time,
                 attempts = 0",
        )
        .bind(&mail.user_id)
        .bind(purpose.as_str())
        .bind(code_hash)
        .bind(mail.expire_time)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM mail_outbox WHERE user_id = $1 AND purpose = $2 AND locked_until <= $3",
        )
        .bind(&mail.user_id)
        .bind(purpose.as_str())
        .bind(mail.create_time)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO mail_outbox
                 (id, user_id, purpose, recipient, message, create_time, expire_time, next_attempt_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
        )
        .bind(&mail.id)
        .bind(&mail.user_id)
        .bind(purpose.as_str())
        .bind(&mail.recipient)
        .bind(&mail.message)
        .bind(mail.create_time)
        .bind(mail.expire_time)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spends one try of the user's live code for `purpose` and returns its
    /// hash to compare with; `None` when there is no live code (never made,
    /// used, expired, or out of tries). The try is counted in the same
    /// statement that reads the hash, so parallel guesses cannot get more
    /// than `max_attempts` compared between them.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db try_code", otel.kind = "client"))]
    pub async fn try_code(
        &self,
        user_id: &str,
        purpose: Purpose,
        now: i64,
        max_attempts: i64,
    ) -> Result<Option<String>, Error> {
        let row = sqlx::query(
            "UPDATE mail_codes SET attempts = attempts + 1
             WHERE user_id = $1 AND purpose = $2 AND expire_time > $3 AND attempts < $4
             RETURNING code_hash",
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(now)
        .bind(max_attempts)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.try_get("code_hash")).transpose()?)
    }

    /// Uses up the verification code `code_hash` and marks the email
    /// verified; false when the code was used meanwhile (of two uses, one wins).
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db verify_email", otel.kind = "client"))]
    pub async fn verify_email(&self, user_id: &str, code_hash: &str) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        if !use_code(&mut tx, user_id, Purpose::VerifyEmail, code_hash).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET email_verified = TRUE WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Uses up the reset code `code_hash`, sets the new password hash, marks
    /// the email verified (the code came through it) and revokes every
    /// session of the user, in one transaction; false when the code was used
    /// meanwhile.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db reset_password", otel.kind = "client"))]
    pub async fn reset_password(
        &self,
        user_id: &str,
        code_hash: &str,
        password_hash: &str,
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        if !use_code(&mut tx, user_id, Purpose::ResetPassword, code_hash).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET password_hash = $1, email_verified = TRUE WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked = TRUE WHERE user_id = $1 AND revoked = FALSE")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // A verification code still out there has nothing left to verify.
        sqlx::query("DELETE FROM mail_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Claims the next message due at `now` for delivery until
    /// `locked_until`, under the token `claim`. One conditional UPDATE: of
    /// two senders picking the same row, the second finds it leased (on
    /// PostgreSQL it waits for the first and re-checks the lease) and gets
    /// nothing this time, so no message is sent twice at once.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db claim_mail", otel.kind = "client"))]
    pub async fn claim_mail(
        &self,
        now: i64,
        locked_until: i64,
        claim: &str,
    ) -> Result<Option<ClaimedMail>, Error> {
        let row = sqlx::query(
            "UPDATE mail_outbox SET locked_until = $1, claim = $2
             WHERE id = (SELECT id FROM mail_outbox
                         WHERE next_attempt_time <= $3 AND locked_until <= $3
                         ORDER BY next_attempt_time, id LIMIT 1)
               AND locked_until <= $3
             RETURNING id, recipient, message, expire_time, attempts, claim",
        )
        .bind(locked_until)
        .bind(claim)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClaimedMail {
            id: row.try_get("id")?,
            recipient: row.try_get("recipient")?,
            message: row.try_get("message")?,
            expire_time: row.try_get("expire_time")?,
            attempts: row.try_get("attempts")?,
            claim: row.try_get("claim")?,
        }))
    }

    /// Messages in the outbox, due or not: its backlog.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db mail_backlog", otel.kind = "client"))]
    pub async fn mail_backlog(&self) -> Result<i64, Error> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Deletes a claimed message (delivered, or undeliverable for good).
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db delete_mail", otel.kind = "client"))]
    pub async fn delete_mail(&self, mail: &ClaimedMail) -> Result<(), Error> {
        sqlx::query("DELETE FROM mail_outbox WHERE id = $1 AND claim = $2")
            .bind(&mail.id)
            .bind(&mail.claim)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Releases a claimed message to be tried again at `next_attempt_time`.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db postpone_mail", otel.kind = "client"))]
    pub async fn postpone_mail(
        &self,
        mail: &ClaimedMail,
        attempts: i64,
        next_attempt_time: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE mail_outbox SET attempts = $1, next_attempt_time = $2, locked_until = 0, claim = ''
             WHERE id = $3 AND claim = $4",
        )
        .bind(attempts)
        .bind(next_attempt_time)
        .bind(&mail.id)
        .bind(&mail.claim)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
    /// Deletes account `user_id` with everything kept for it (sessions and
    /// their refresh tokens, security events, emailed codes and the mail not
    /// yet sent, the throttle rows named in
    /// `throttle_keys`) and appends its `account_deleted` event, all in one
    /// transaction: the deletion and its event commit together or not at
    /// all. `None`: there was no such account (a concurrent call deleted it).
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db delete_account", otel.kind = "client"))]
    pub async fn delete_account(
        &self,
        user_id: &str,
        throttle_keys: &[String],
        now: i64,
    ) -> Result<Option<AccountEvent>, Error> {
        let mut tx = self.pool.begin().await?;
        // Children first, explicitly: the deletion must not depend on each
        // table's foreign key saying ON DELETE CASCADE.
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        for statement in [
            "DELETE FROM sessions WHERE user_id = $1",
            "DELETE FROM security_events WHERE user_id = $1",
            "DELETE FROM mail_codes WHERE user_id = $1",
            "DELETE FROM mail_outbox WHERE user_id = $1",
        ] {
            sqlx::query(statement)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        for key in throttle_keys {
            sqlx::query("DELETE FROM throttles WHERE throttle_key = $1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(None);
        }
        // Last, so the head row's lock (which orders appenders, see
        // migration 0005) is held only for the append and the commit.
        let sequence: i64 = sqlx::query_scalar(
            "UPDATE account_event_head SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence",
        )
        .fetch_one(&mut *tx)
        .await?;
        let kind = AccountEventKind::AccountDeleted;
        sqlx::query(
            "INSERT INTO account_events (sequence, kind, user_id, create_time) VALUES ($1, $2, $3, $4)",
        )
        .bind(sequence)
        .bind(kind.as_str())
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(AccountEvent {
            sequence,
            kind: Some(kind),
            user_id: user_id.to_owned(),
            create_time: now,
        }))
    }

    /// Up to `limit` account events after sequence `after`, oldest first.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db account_events_after", otel.kind = "client"))]
    pub async fn account_events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AccountEvent>, Error> {
        let rows = sqlx::query(
            "SELECT sequence, kind, user_id, create_time FROM account_events
             WHERE sequence > $1 ORDER BY sequence LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(AccountEvent {
                    sequence: row.try_get("sequence")?,
                    kind: AccountEventKind::from_stored(&kind),
                    user_id: row.try_get("user_id")?,
                    create_time: row.try_get("create_time")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Error::from)
    }
}

/// Deletes the code `code_hash` of `user_id` for `purpose` within `tx`;
/// whether it was there to delete (a code works once).
async fn use_code(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purpose: Purpose,
    code_hash: &str,
) -> Result<bool, Error> {
    let used = sqlx::query(
        "DELETE FROM mail_codes WHERE user_id = $1 AND purpose = $2 AND code_hash = $3",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(code_hash)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(used == 1)
}
