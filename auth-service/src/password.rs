//! Passwords: the rules a new password must meet (`Password::parse`) and the
//! argon2id hashing, run off the async runtime with bounded concurrency so a
//! burst of logins cannot stall the process's other RPCs.

use std::{
    collections::HashSet,
    sync::{Arc, LazyLock},
};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::{email::Email, error::Error};

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;

/// The common-password list that ships with the service (see the file's header for its source).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
});

/// A password that meets the sign-up rules. It is never logged: `Debug` is redacted.
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Checks a new password: 8 to 128 characters, not the email, not a
    /// commonly used password. `field` names it in the error message.
    pub fn parse(raw: String, email: &Email, field: &str) -> Result<Self, Error> {
        let invalid = |rule: &str| Err(Error::InvalidArgument(format!("{field}: {rule}")));
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return invalid("must be at least 8 characters");
        }
        if chars > MAX_CHARS {
            return invalid("must be at most 128 characters");
        }
        if raw.trim().to_lowercase() == email.as_str() {
            return invalid("must not be the same as the email");
        }
        if is_common(&raw) {
            return invalid(
                "is too common (it is on a list of frequently used passwords); choose another",
            );
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// True when the password, ignoring case, is on the shipped list.
pub fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

/// Hashes and verifies passwords with argon2id (OWASP: m = 19456 KiB, t = 2, p = 1).
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so an unknown email
    /// costs as much time as a wrong password and timing reveals nothing.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Hasher {
    /// `concurrency` hashes may run at once (each uses 19 MiB and one core).
    pub async fn new(concurrency: usize) -> Result<Self, Error> {
        let dummy =
            tokio::task::spawn_blocking(|| hash_blocking("not a real password, only for timing"))
                .await
                .map_err(|error| Error::Internal(error.to_string()))??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy.into(),
        })
    }

    /// The PHC string of `password` with a fresh random salt.
    pub async fn hash(&self, password: &Password) -> Result<String, Error> {
        let password = password.0.clone();
        self.run(move || hash_blocking(password.expose_secret()))
            .await
    }

    /// Whether `password` matches `phc`; with `None`, checks against the dummy
    /// hash and answers false, taking the same time as a real check.
    pub async fn verify(&self, password: SecretString, phc: Option<String>) -> Result<bool, Error> {
        let is_real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self
            .run(move || {
                let parsed =
                    PasswordHash::new(&phc).map_err(|error| Error::Internal(error.to_string()))?;
                Ok(argon2()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(is_real && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|error| Error::Internal(error.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| Error::Internal(error.to_string()))?
    }
}

fn hash_blocking(password: &str) -> Result<String, Error> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| Error::Internal(format!("cannot hash password: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("ada@example.com").unwrap()
    }

    #[test]
    fn enforces_length_in_characters() {
        assert!(Password::parse("short".into(), &email(), "password").is_err());
        assert!(Password::parse("ünïcødé€".into(), &email(), "password").is_ok());
        assert!(Password::parse("x".repeat(129), &email(), "password").is_err());
        assert!(Password::parse("kx9!".repeat(32), &email(), "password").is_ok());
    }

    #[test]
    fn refuses_common_passwords_and_the_email() {
        let error = Password::parse("Password1".into(), &email(), "password").unwrap_err();
        assert!(error.to_string().contains("too common"), "{error}");
        assert!(Password::parse("Ada@Example.com".into(), &email(), "password").is_err());
        assert!(COMMON_PASSWORDS.len() >= 10_000);
    }

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let hasher = Hasher::new(1).await.unwrap();
        let password =
            Password::parse("correct horse battery".into(), &email(), "password").unwrap();
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            hasher
                .verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything at all".into(), None).await.unwrap());
    }
}
