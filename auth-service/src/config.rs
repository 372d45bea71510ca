//! The auth service's configuration: one struct, every field a command-line
//! flag that can also be set through the environment.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};
use service_runtime::{
    StartError,
    config::{AdminAddr, ServerArgs, StorageArgs},
    mutual_tls::{AllowedClients, MutualTls, MutualTlsArgs},
};

/// Settings of the auth service. `--help` lists them with their variables.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "auth-service",
    version,
    about = "Accounts, sessions and tokens over gRPC"
)]
pub struct Config {
    /// Address of the public listener: AuthService (what the gateway
    /// routes), health and reflection.
    #[arg(long, env = "AUTH_ADDR", default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,

    /// Where Prometheus scrapes the auth service's metrics (`GET /metrics`), or `off`.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9461")]
    pub metrics_addr: AdminAddr,

    /// Address of the internal listener: TokenService and
    /// AccountEventService, which only the task service calls, with health
    /// and reflection of their own. Keep it off the public network, or
    /// require mutual TLS on it (INTERNAL_TLS_CERT, INTERNAL_TLS_KEY, INTERNAL_CA).
    #[arg(long, env = "INTERNAL_ADDR", default_value = "127.0.0.1:50061")]
    pub internal_addr: SocketAddr,

    /// The internal listener's certificate, key, and the CA its clients'
    /// certificates must be signed by. Unset: plaintext.
    #[command(flatten)]
    pub internal_tls: MutualTlsArgs,

    /// Under mutual TLS, the client identities served on the internal
    /// listener: DNS names or URIs of the clients' certificates (their
    /// subject alternative names), comma-separated (e.g. `tasks`). Other
    /// clients of the same CA get PERMISSION_DENIED.
    #[arg(long, env = "INTERNAL_ALLOWED_CLIENTS", value_delimiter = ',')]
    pub internal_allowed_clients: Vec<String>,

    /// Where accounts are stored (`DATA_DIR/auth.sqlite3` by default); the
    /// data directory also keeps the generated JWT secret.
    #[command(flatten)]
    pub storage: StorageArgs,

    /// How the server bounds connections and calls, and how long a stop may take.
    #[command(flatten)]
    pub server: ServerArgs,

    /// HS256 signing secret, at least 32 bytes. Unset: a random one is generated
    /// and kept in `DATA_DIR/jwt-secret` (fine for development only).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<SecretString>,

    /// The secret used before the current one; tokens it signed are still accepted,
    /// so the secret can be rotated without logging everybody out.
    #[arg(long, env = "JWT_SECRET_PREVIOUS", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret_previous: Option<SecretString>,

    /// Lifetime of an access token (e.g. `7d`, `15m`, `3600s`).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub access_token_ttl: Duration,

    /// How long a session lives without being refreshed.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: Duration,

    /// The `iss` claim written into and required of access tokens.
    #[arg(long, env = "JWT_ISSUER", default_value = "todo-auth")]
    pub jwt_issuer: String,

    /// The `aud` claim written into and required of access tokens.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "todo")]
    pub jwt_audience: String,

    /// Failed logins for one email from one address after which that address
    /// may not try that email again until the window ends. Also the limit of
    /// wrong current passwords per user in ChangePassword.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = 10)]
    pub login_max_failures: u32,

    /// The window over which failed logins are counted, and how long a refusal lasts.
    #[arg(long, env = "LOGIN_FAILURE_WINDOW", default_value = "15m", value_parser = humantime::parse_duration)]
    pub login_failure_window: Duration,

    /// Failed logins from one address, across all emails, after which it may
    /// not log in until the window ends (stops password spraying).
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = 100)]
    pub login_max_failures_per_address: u32,

    /// Failed logins for one email, across all addresses, after which every
    /// further attempt is delayed (250 ms, doubling every 10 failures).
    #[arg(long, env = "LOGIN_SLOWDOWN_AFTER", default_value_t = 20)]
    pub login_slowdown_after: u32,

    /// The longest delay of a slowed-down login.
    #[arg(long, env = "LOGIN_SLOWDOWN_MAX", default_value = "5s", value_parser = humantime::parse_duration)]
    pub login_slowdown_max: Duration,

    /// Password hashes computed at once; unset means one per CPU core.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,

    /// Password checks (login, sign-up, ChangePassword) one address may have
    /// in flight; more are refused at once.
    #[arg(long, env = "HASH_MAX_CONCURRENT_PER_ADDRESS", default_value_t = 2)]
    pub hash_max_concurrent_per_address: usize,

    /// Hashes that may wait for a hashing thread; more are refused at once.
    #[arg(long, env = "HASH_MAX_QUEUED", default_value_t = 32)]
    pub hash_max_queued: usize,

    /// Sign-ups one address may make per window.
    #[arg(long, env = "SIGNUP_MAX_PER_ADDRESS", default_value_t = 30)]
    pub signup_max_per_address: u32,

    /// The window of `SIGNUP_MAX_PER_ADDRESS`.
    #[arg(long, env = "SIGNUP_WINDOW", default_value = "1h", value_parser = humantime::parse_duration)]
    pub signup_window: Duration,

    /// How often expired sessions, old refresh tokens and throttle rows are deleted.
    #[arg(long, env = "SWEEP_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub sweep_interval: Duration,

    /// How long expired sessions and used refresh tokens are kept (so a reused
    /// token is still recognised as reuse for that long).
    #[arg(long, env = "SWEEP_RETENTION", default_value = "7d", value_parser = humantime::parse_duration)]
    pub sweep_retention: Duration,

    /// How long security events (ListSecurityEvents) are kept.
    #[arg(long, env = "SECURITY_EVENT_RETENTION", default_value = "90d", value_parser = humantime::parse_duration)]
    pub security_event_retention: Duration,

    /// The SMTP server mail goes through: `smtp://host:port` (plain; add
    /// `?tls=required` for STARTTLS), `smtps://host:port` (TLS), with
    /// `user:password@` before the host when it wants a login. Unset: mail is
    /// written as `.eml` files to `DATA_DIR/mail/` instead (development).
    #[arg(long, env = "SMTP_URL", hide_env_values = true, value_parser = parse_secret)]
    pub smtp_url: Option<SecretString>,

    /// The sender of every mail, `Name <address>` or a bare address.
    #[arg(long, env = "MAIL_FROM", default_value = "Todo <no-reply@localhost>")]
    pub mail_from: String,

    /// The web app's address, for the links in mail (`APP_URL/#/reset?…`).
    #[arg(long, env = "APP_URL", default_value = "http://127.0.0.1:8080")]
    pub app_url: String,

    /// How long an emailed code (password reset, email verification) works.
    #[arg(long, env = "MAIL_CODE_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub mail_code_ttl: Duration,

    /// Mails one email may be sent per `MAIL_WINDOW` on request (password
    /// resets and verification emails; the one at sign-up does not count).
    /// Counted whether or not the email has an account.
    #[arg(long, env = "MAIL_MAX_PER_EMAIL", default_value_t = 5)]
    pub mail_max_per_email: u32,

    /// Mails one client address may ask for per `MAIL_WINDOW`, across all emails.
    #[arg(long, env = "MAIL_MAX_PER_ADDRESS", default_value_t = 20)]
    pub mail_max_per_address: u32,

    /// The window of `MAIL_MAX_PER_EMAIL` and `MAIL_MAX_PER_ADDRESS`.
    #[arg(long, env = "MAIL_WINDOW", default_value = "1h", value_parser = humantime::parse_duration)]
    pub mail_window: Duration,

    /// Refuse logins (FAILED_PRECONDITION, after the password is checked)
    /// of accounts whose email is not verified; such a login sends a new code.
    #[arg(long, env = "REQUIRE_VERIFIED_EMAIL")]
    pub require_verified_email: bool,
}

fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

impl Config {
    /// The internal listener's mutual TLS and the identities it serves, or
    /// `None` for plaintext. The certificate files and the allow-list go
    /// together: one without the other is an error saying what to set.
    pub fn internal_security(&self) -> Result<Option<(MutualTls, AllowedClients)>, StartError> {
        let tls = self.internal_tls.load()?;
        let allowed = AllowedClients::new(&self.internal_allowed_clients);
        match (tls, allowed) {
            (Some(tls), Some(allowed)) => Ok(Some((tls, allowed))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(StartError::Config(
                "INTERNAL_ALLOWED_CLIENTS is empty: with mutual TLS, name the client \
                 identities the internal listener serves (e.g. `tasks`)"
                    .into(),
            )),
            (None, Some(_)) => Err(StartError::Config(
                "INTERNAL_ALLOWED_CLIENTS needs mutual TLS: set INTERNAL_TLS_CERT, \
                 INTERNAL_TLS_KEY and INTERNAL_CA too"
                    .into(),
            )),
        }
    }

    /// Hashing threads: the configured number, or one per CPU core.
    pub fn hash_threads(&self) -> usize {
        self.password_hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// Where mail goes, for people to read at start-up: the SMTP server
    /// (without the credentials its URL may hold) or the directory of `.eml` files.
    pub fn mail_destination(&self) -> String {
        match self.smtp_url() {
            Some(url) => format!("sent through {}", without_credentials(url)),
            None => format!(
                "written as .eml files to {} (SMTP_URL is unset)",
                self.mail_dir().display()
            ),
        }
    }

    /// `SMTP_URL`, if it is set and not empty (an empty one reads as unset,
    /// as compose files tend to pass variables through).
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url
            .as_ref()
            .map(|url| url.expose_secret())
            .filter(|url| !url.trim().is_empty())
    }

    /// The directory mail is written to when `SMTP_URL` is unset.
    pub fn mail_dir(&self) -> PathBuf {
        self.storage.data_dir.join("mail")
    }
}

/// `url` without the `user:password@` part, and without its query (which
/// may hold settings nobody needs to read in a log).
fn without_credentials(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_mail_destination_never_shows_credentials() {
        let mut config: Config = service_runtime::config::defaults();
        config.storage.data_dir = PathBuf::from("/srv/todo");
        assert_eq!(
            config.mail_destination(),
            "written as .eml files to /srv/todo/mail (SMTP_URL is unset)"
        );
        config.smtp_url = Some("".into());
        assert!(
            config
                .mail_destination()
                .starts_with("written as .eml files")
        );
        for (url, shown) in [
            ("smtp://127.0.0.1:2525", "smtp://127.0.0.1:2525"),
            (
                "smtps://ada:p%40ss@mail.example.com:465/?x=y",
                "smtps://mail.example.com:465",
            ),
            (
                "smtp://u:p@mail.example.com:587?tls=required",
                "smtp://mail.example.com:587",
            ),
        ] {
            config.smtp_url = Some(url.into());
            assert_eq!(config.mail_destination(), format!("sent through {shown}"));
        }
    }

    #[test]
    fn verified_emails_are_required_only_when_asked() {
        let config: Config = service_runtime::config::defaults();
        assert!(!config.require_verified_email);
        let config = Config::try_parse_from(["auth-service", "--require-verified-email"]).unwrap();
        assert!(config.require_verified_email);
    }
}
