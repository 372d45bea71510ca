//! Passwords: the rules a new password must meet (`Password::parse`) and the
//! argon2id hashing. Hashes run on a small pool of their own threads at a
//! lower priority (nice 10), off the async runtime: a burst of logins then
//! yields the CPU to the RPCs of this process and of services sharing the
//! machine, yet still gets a share of it, so logins finish under any load.

use std::{
    cell::RefCell,
    collections::HashSet,
    sync::{Arc, LazyLock},
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use service_runtime::StartError;
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
    pub fn parse(raw: String, email: &Email, field: &'static str) -> Result<Self, Error> {
        let invalid = |rule: &'static str| Err(Error::invalid(field, rule));
        // Bytes first: no counting, lower-casing or list lookup of an unchecked string.
        if raw.len() > MAX_CHARS * 4 {
            return invalid("must be at most 128 characters");
        }
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
}

/// True when the password, ignoring case, is on the shipped list.
pub fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

/// When to retry a hash refused because the queue is full: a queue's worth
/// of hashes takes well under this.
const QUEUE_FULL_RETRY: Duration = Duration::from_secs(1);

/// Hashes and verifies passwords with argon2id (OWASP: m = 19456 KiB, t = 2, p = 1).
#[derive(Clone, Debug)]
pub struct Hasher {
    pool: Arc<rayon::ThreadPool>,
    /// Hashes running on the pool; more wait here, where a caller that
    /// gives up stops waiting without leaving work behind.
    permits: Arc<Semaphore>,
    /// Hashes running or waiting: the queue is bounded, and a hash that
    /// does not fit is refused at once rather than waiting behind a flood.
    queue: Arc<Semaphore>,
    /// Verified against when the account does not exist, so an unknown email
    /// costs as much time as a wrong password and timing reveals nothing.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Hasher {
    /// A pool of `threads` hashing threads (each hash uses 19 MiB and one core)
    /// with at most `max_queued` hashes waiting for them.
    /// Keeping the threads for good also keeps the memory bounded: each
    /// reuses its own 19 MiB instead of every short-lived thread keeping one.
    pub async fn new(threads: usize, max_queued: usize) -> Result<Self, StartError> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("argon2-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map_err(|error| StartError::other("cannot start the hashing threads", error))?;
        let mut hasher = Self {
            pool: Arc::new(pool),
            permits: Arc::new(Semaphore::new(threads)),
            queue: Arc::new(Semaphore::new(threads.saturating_add(max_queued))),
            dummy_hash: Arc::from(""),
        };
        let dummy = hasher
            .run(|| hash_blocking("not a real password, only for timing"))
            .await
            .map_err(|error| StartError::other("cannot hash with argon2", error))?;
        hasher.dummy_hash = dummy.into();
        Ok(hasher)
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
            .run(move || verify_blocking(password.expose_secret().as_bytes(), &phc))
            .await?;
        Ok(is_real && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _queued = self.queue.try_acquire().map_err(|_| {
            metrics::counter!("password_hash_rejected_total").increment(1);
            Error::HashingBusy {
                retry_after: QUEUE_FULL_RETRY,
            }
        })?;
        let waiting = Waiting::start();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|error| Error::internal(error.to_string()))?;
        drop(waiting);
        let (done, result) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            // The caller may have gone; its result is then not needed.
            let _ = done.send(work());
        });
        result
            .await
            .map_err(|_| Error::internal("a hashing thread stopped"))?
    }
}

/// A hash waiting for a thread: counted in the queue depth while it waits
/// (however the wait ends), its wait recorded once it has a thread.
struct Waiting(std::time::Instant);

impl Waiting {
    fn start() -> Self {
        metrics::gauge!("password_hash_queue_depth").increment(1.0);
        Self(std::time::Instant::now())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        metrics::gauge!("password_hash_queue_depth").decrement(1.0);
        metrics::histogram!("password_hash_wait_seconds").record(self.0.elapsed().as_secs_f64());
    }
}

/// Hashing threads run at nice 10: a nice-0 thread outweighs one of them
/// about ten to one, so an RPC that wakes up preempts a hash at once, yet
/// hashes keep a share of a busy machine. The idle scheduling class
/// (`SCHED_IDLE`, tried before) weighs 1 to 340: while the cores were busy
/// answering a flood of refused calls, honest logins waited over a second
/// for their 20 ms of hashing. The thread-priority crate maps its 0..=99
/// onto the niceness range 19..=-20; 22 is nice 10 (a test checks).
const HASHING_PRIORITY: u8 = 22;

/// Lowers the calling thread's priority (see `HASHING_PRIORITY`). Best
/// effort: where it is refused, hashing runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        let result = ThreadPriorityValue::try_from(HASHING_PRIORITY)
            .map_err(|_| thread_priority::Error::Priority("outside 0..=99"))
            .and_then(|value| {
                set_thread_priority_and_policy(
                    thread_native_id(),
                    ThreadPriority::Crossplatform(value),
                    ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
                )
            });
        if let Err(error) = result {
            tracing::warn!(?error, "cannot lower the priority of the hashing threads");
        }
    }
}

thread_local! {
    /// A hashing thread's argon2 working memory (19 MiB), allocated on its
    /// first hash and reused by every later one. Allocating it per hash lets
    /// the allocator keep freed copies around: hundreds of MiB after a burst.
    static WORKING_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn internal(error: impl std::fmt::Display) -> Error {
    Error::internal(format!("password hashing failed: {error}"))
}

/// Runs `argon2` over `password` and `salt` into `out`, in this thread's working memory.
fn argon2_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    WORKING_MEMORY
        .with_borrow_mut(|memory| {
            let blocks = argon2.params().block_count();
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
            argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
        })
        .map_err(internal)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of `password`
/// with a fresh random 16-byte salt.
fn hash_blocking(password: &str) -> Result<String, Error> {
    let argon2 = argon2();
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    argon2_into(&argon2, password.as_bytes(), &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(internal)?,
        salt: Some(Salt::new(&salt).map_err(internal)?),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to the stored PHC string, with the algorithm,
/// version and costs recorded in it. The comparison takes constant time.
fn verify_blocking(password: &[u8], phc: &str) -> Result<bool, Error> {
    let parsed = PasswordHash::new(phc).map_err(internal)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(internal("the stored hash has no salt or no output"));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(internal)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(internal)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(internal)?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(
        &Argon2::new(algorithm, version, params),
        password,
        salt.as_ref(),
        &mut out,
    )?;
    // Output's equality is constant-time.
    Ok(Output::new(&out).map_err(internal)? == *expected)
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
        let hasher = Hasher::new(1, 4).await.unwrap();
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

    #[tokio::test]
    async fn verifies_hashes_made_with_other_costs_by_the_argon2_crate() {
        use argon2::password_hash::PasswordHasher;
        let hasher = Hasher::new(1, 4).await.unwrap();
        let params = Params::new(8_192, 3, 1, None).unwrap();
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"an older password")
            .unwrap()
            .to_string();
        assert!(phc.starts_with("$argon2id$v=19$m=8192,t=3,p=1$"), "{phc}");
        let verify = |password: &str| hasher.verify(password.into(), Some(phc.clone()));
        assert!(verify("an older password").await.unwrap());
        assert!(!verify("an older passwore").await.unwrap());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_at_a_lower_priority() {
        let hasher = Hasher::new(1, 4).await.unwrap();
        // Field 19 of the thread's stat line is its niceness; the command
        // name (field 2) may hold spaces, so count from its closing paren.
        let niceness = hasher
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat")
                    .map_err(|error| Error::internal(error.to_string()))?;
                let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
                Ok(after_name.split_whitespace().nth(16).map(str::to_owned))
            })
            .await
            .unwrap();
        assert_eq!(niceness.as_deref(), Some("10"));
    }
}
