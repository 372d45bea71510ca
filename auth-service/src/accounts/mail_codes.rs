//! What the service does with emailed codes: password reset (ask for a code,
//! then set a new password with it) and email verification (a code mailed
//! at sign-up and on request). A code is one-time, expires after
//! `MAIL_CODE_TTL`, takes five tries, and a new one voids the previous one
//! (see `code.rs` for its format and hash). Mail is only ever written to the
//! outbox here; the sender delivers it.

use std::sync::Arc;

use tracing::Instrument;

use super::Accounts;
use crate::{
    accounts::Bearer,
    activity::{EventKind, Origin},
    code::{Code, Purpose, same_hash},
    email::Email,
    error::Error,
    password::Password,
    store::OutgoingMail,
    throttle::Counter,
    user::User,
};

/// Tries a code takes, right or wrong, before it stops working.
const MAX_CODE_ATTEMPTS: i64 = 5;

impl Accounts {
    /// Mails a password-reset code to `email` if it has an account. The
    /// answer is the same, in about the same time, whether or not it has:
    /// only the limits (counted for any email) are checked before it, and
    /// what depends on the account runs apart from the answer.
    pub async fn request_password_reset(
        self: &Arc<Self>,
        email: Email,
        origin: Origin,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        self.count_mail(&email, &origin, now).await?;
        let permit = Arc::clone(&self.reset_requests)
            .acquire_owned()
            .await
            .map_err(|_| Error::internal("the reset requests' semaphore is closed"))?;
        let accounts = Arc::clone(self);
        tokio::spawn(
            async move {
                let _permit = permit;
                if let Err(error) = accounts.send_reset_code(&email, &origin, now).await {
                    tracing::warn!(%error, "a password-reset code could not be queued");
                }
            }
            .instrument(tracing::Span::current()),
        );
        Ok(())
    }

    /// The part of a reset request that depends on the account.
    async fn send_reset_code(&self, email: &Email, origin: &Origin, now: i64) -> Result<(), Error> {
        let Some(user) = self.store.find_user(email.as_str()).await? else {
            tracing::info!("password reset asked for an email without an account; nothing sent");
            return Ok(());
        };
        self.send_code(&user, Purpose::ResetPassword, now).await?;
        self.store
            .record_event(&user.id, EventKind::PasswordResetRequested, now, origin)
            .await?;
        tracing::info!(user_id = %user.id, "password-reset code mailed");
        Ok(())
    }

    /// Sets a new password with an emailed code, marks the email verified
    /// and ends every session of the user. The code is used up only together
    /// with the password change, so a busy hasher leaves it working (less
    /// the try); the new password's rules were checked before anything.
    pub async fn reset_password(
        &self,
        email: &Email,
        code: &Code,
        new: Password,
        origin: &Origin,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let user = self
            .store
            .find_user(email.as_str())
            .await?
            .ok_or_else(|| self.wrong_code())?;
        let stored = self
            .check_code(&user, Purpose::ResetPassword, code, now)
            .await?;
        // Only a right code leads to hashing, so only it needs a slot.
        let _slot = self.slot(origin.address)?;
        let password_hash = self.hasher.hash(&new).await?;
        if !self
            .store
            .reset_password(&user.id, &stored, &password_hash)
            .await?
        {
            return Err(self.wrong_code());
        }
        // The one who read the mail may log in from here at once, even if
        // failed logins had locked this address out of this account.
        self.store
            .clear_hits(&Counter::LoginFrom(email, origin.address).key())
            .await?;
        self.store
            .record_event(&user.id, EventKind::PasswordReset, now, origin)
            .await?;
        tracing::info!(user_id = %user.id, "password reset with an emailed code; every session revoked");
        Ok(())
    }

    /// Mails the bearer a fresh verification code; the previous one stops working.
    pub async fn send_verification_email(
        &self,
        bearer: &Bearer,
        origin: &Origin,
    ) -> Result<(), Error> {
        if bearer.user.email_verified {
            return Err(Error::EmailAlreadyVerified);
        }
        let email = Email::parse(&bearer.user.email)?;
        let now = self.clock.now();
        self.count_mail(&email, origin, now).await?;
        self.send_code(&bearer.user, Purpose::VerifyEmail, now)
            .await?;
        tracing::info!(user_id = %bearer.user.id, "verification code mailed");
        Ok(())
    }

    /// Marks the email verified with an emailed code; no bearer needed.
    pub async fn verify_email(
        &self,
        email: &Email,
        code: &Code,
        origin: &Origin,
    ) -> Result<User, Error> {
        let now = self.clock.now();
        let mut user = self
            .store
            .find_user(email.as_str())
            .await?
            .ok_or_else(|| self.wrong_code())?;
        let stored = self
            .check_code(&user, Purpose::VerifyEmail, code, now)
            .await?;
        if !self.store.verify_email(&user.id, &stored).await? {
            return Err(self.wrong_code());
        }
        self.store
            .record_event(&user.id, EventKind::EmailVerified, now, origin)
            .await?;
        tracing::info!(user_id = %user.id, "email verified");
        user.email_verified = true;
        Ok(user)
    }

    /// At a login refused for an unverified email (the password was right,
    /// so this is the owner): mails a fresh code if the mail limits allow.
    /// Says whether it did.
    pub(super) async fn send_code_at_login(
        &self,
        user: &User,
        email: &Email,
        origin: &Origin,
        now: i64,
    ) -> Result<bool, Error> {
        match self.count_mail(email, origin, now).await {
            Ok(()) => {
                self.send_code(user, Purpose::VerifyEmail, now).await?;
                Ok(true)
            }
            Err(Error::MailEmailThrottled { .. } | Error::MailAddressThrottled { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Counts a mail asked for, per client address first (so one address
    /// cannot make rows for endless emails) and then per email, whether or
    /// not it has an account.
    async fn count_mail(&self, email: &Email, origin: &Origin, now: i64) -> Result<(), Error> {
        self.count(
            Counter::MailAddress(origin.address),
            self.limits.mail_address,
            now,
            |retry_after| Error::MailAddressThrottled { retry_after },
        )
        .await?;
        self.count(
            Counter::MailEmail(email),
            self.limits.mail_email,
            now,
            |retry_after| Error::MailEmailThrottled { retry_after },
        )
        .await
    }

    /// Makes a fresh code for `purpose`, which voids the user's previous
    /// one, and writes it with its mail to the outbox.
    pub(super) async fn send_code(
        &self,
        user: &User,
        purpose: Purpose,
        now: i64,
    ) -> Result<(), Error> {
        let code = Code::generate();
        let id = uuid::Uuid::now_v7().to_string();
        let letter = self.letters.write(purpose, &user.email, &code, &id)?;
        let mail = OutgoingMail {
            id,
            user_id: user.id.clone(),
            recipient: letter.recipient,
            message: letter.message,
            create_time: now,
            expire_time: now + self.code_ttl,
        };
        let hash = self.keys.code_key().hash(purpose, &user.id, &code);
        self.store.issue_code(purpose, &hash, &mail).await?;
        self.mail_written.notify_one();
        Ok(())
    }

    /// Spends a try of the user's code for `purpose` and compares; the
    /// stored hash when `code` is it.
    async fn check_code(
        &self,
        user: &User,
        purpose: Purpose,
        code: &Code,
        now: i64,
    ) -> Result<String, Error> {
        let stored = self
            .store
            .try_code(&user.id, purpose, now, MAX_CODE_ATTEMPTS)
            .await?
            .ok_or_else(|| self.wrong_code())?;
        if !same_hash(&stored, &self.keys.code_key().hash(purpose, &user.id, code)) {
            tracing::info!(user_id = %user.id, purpose = purpose.as_str(), "wrong emailed code");
            return Err(self.wrong_code());
        }
        Ok(stored)
    }

    /// The one answer for a code that is wrong, used, expired or out of
    /// tries, and for an email without an account: which of them it was
    /// would tell a stranger whether the account exists.
    fn wrong_code(&self) -> Error {
        Error::invalid(
            "code",
            format!(
                "is not a code that works: a code works once, for {} minutes, and stops \
                 working after {MAX_CODE_ATTEMPTS} wrong tries or when a newer one is sent; \
                 ask for a new email",
                u64::try_from(self.code_ttl).unwrap_or(0).div_ceil(60)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{clock::Clock, store::Store};

    use super::super::tests::{EMAIL, accounts, home};
    use super::*;

    /// The code in the latest mail for `purpose` waiting in the outbox (the
    /// sender does not run in these tests). Claiming takes rows in order, so
    /// every row is claimed and the last one for the purpose kept.
    async fn mailed_code(store: &Store, clock: &Clock, purpose: Purpose) -> Code {
        let subject = match purpose {
            Purpose::ResetPassword => "Reset your Todo password",
            Purpose::VerifyEmail => "Verify your email",
        };
        let mut latest = None;
        while let Some(mail) = store
            .claim_mail(clock.now(), clock.now() + 1, "test")
            .await
            .unwrap()
        {
            if mail.message.contains(subject) {
                latest = Some(mail.message);
            }
        }
        let message = latest.expect("a mail for the purpose");
        let start = message.find("Code: ").expect("a Code: line") + "Code: ".len();
        Code::parse(&message[start..start + 9]).unwrap()
    }

    fn new_password() -> Password {
        let email = Email::parse(EMAIL).unwrap();
        Password::parse("a brand new passphrase".into(), &email, "new_password").unwrap()
    }

    fn is_wrong_code<T>(result: &Result<T, Error>) -> bool {
        matches!(result, Err(Error::InvalidArgument(violation)) if violation.field() == "code")
    }

    #[tokio::test]
    async fn a_code_works_until_it_expires_and_not_after() {
        let (accounts, clock, store, _database) =
            accounts(|config| config.mail_code_ttl = Duration::from_secs(600)).await;
        let email = Email::parse(EMAIL).unwrap();

        accounts
            .send_reset_code(&email, &home(), clock.now())
            .await
            .unwrap();
        let code = mailed_code(&store, &clock, Purpose::ResetPassword).await;
        clock.advance(600);
        let expired = accounts
            .reset_password(&email, &code, new_password(), &home())
            .await;
        assert!(is_wrong_code(&expired), "{expired:?}");

        accounts
            .send_reset_code(&email, &home(), clock.now())
            .await
            .unwrap();
        let code = mailed_code(&store, &clock, Purpose::ResetPassword).await;
        clock.advance(599);
        accounts
            .reset_password(&email, &code, new_password(), &home())
            .await
            .expect("a second before it expires, the code works");
    }

    #[tokio::test]
    async fn an_expired_verification_code_is_refused_and_the_sweep_removes_it() {
        let (accounts, clock, store, _database) =
            accounts(|config| config.mail_code_ttl = Duration::from_secs(60)).await;
        let email = Email::parse(EMAIL).unwrap();
        let code = mailed_code(&store, &clock, Purpose::VerifyEmail).await;
        clock.advance(60);
        let expired = accounts.verify_email(&email, &code, &home()).await;
        assert!(is_wrong_code(&expired), "{expired:?}");
        assert!(
            accounts.sweep().await.unwrap() >= 1,
            "the expired code is swept"
        );
    }

    /// Each try is counted in the statement that hands out the hash to
    /// compare, so tries at once get no more than five compared between them.
    #[tokio::test]
    async fn parallel_tries_get_five_comparisons_between_them() {
        let (accounts, clock, store, _database) = accounts(|_| {}).await;
        let email = Email::parse(EMAIL).unwrap();
        let user = store.find_user(email.as_str()).await.unwrap().unwrap();
        let tries = (0..30).map(|_| {
            store.try_code(
                &user.id,
                Purpose::VerifyEmail,
                clock.now(),
                MAX_CODE_ATTEMPTS,
            )
        });
        let compared = futures::future::join_all(tries)
            .await
            .into_iter()
            .map(Result::unwrap)
            .filter(Option::is_some)
            .count();
        assert_eq!(compared, 5);
        drop(accounts);
    }

    /// Senders of several replicas take from one outbox: each message is
    /// claimed by exactly one of them (on PostgreSQL the loser of a race
    /// gets nothing that round, and tries again at its next poll).
    #[tokio::test]
    async fn concurrent_senders_claim_each_message_once() {
        let (accounts, clock, store, _database) = accounts(|_| {}).await;
        for n in 0..7 {
            let email = Email::parse(&format!("user{n}@example.com")).unwrap();
            let password = Password::parse("correct horse battery".into(), &email, "p").unwrap();
            accounts.sign_up(email, password, &home()).await.unwrap();
        }
        let now = clock.now();
        let claim_all = |claim: &'static str| {
            let store = store.clone();
            async move {
                let mut ids = Vec::new();
                for _ in 0..20 {
                    if let Some(mail) = store.claim_mail(now, now + 60, claim).await.unwrap() {
                        ids.push(mail.id);
                    }
                }
                ids
            }
        };
        let (first, second, third) = tokio::join!(claim_all("a"), claim_all("b"), claim_all("c"));
        let mut claimed: Vec<String> = first.into_iter().chain(second).chain(third).collect();
        assert_eq!(claimed.len(), 8, "every sign-up's mail, once: {claimed:?}");
        claimed.sort();
        claimed.dedup();
        assert_eq!(claimed.len(), 8, "no message claimed twice");
        assert!(
            store
                .claim_mail(now, now + 60, "d")
                .await
                .unwrap()
                .is_none()
        );
        // A lease that ran out lets another sender take the message over.
        assert!(
            store
                .claim_mail(now + 60, now + 120, "d")
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn mail_whose_code_expired_undelivered_is_not_sent() {
        let (accounts, clock, store, _database) =
            accounts(|config| config.mail_code_ttl = Duration::from_secs(60)).await;
        clock.advance(60);
        let dir = tempfile::TempDir::new().unwrap();
        let sender = crate::outbox::Sender::new(
            store.clone(),
            crate::mail::Transport::Files(dir.path().to_owned()),
            clock.clone(),
        );
        assert!(
            sender.send_next().await.unwrap(),
            "the sign-up's mail is taken"
        );
        assert!(!sender.send_next().await.unwrap(), "and gone");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        drop(accounts);
    }
}
