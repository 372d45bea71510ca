//! Access tokens: HS256 JWTs carrying the user and the session, signed with
//! the current secret and verified with it or the previous one (`kid` says
//! which), so the secret can be rotated without logging everybody out.

use std::{fs, io::Write, path::Path, time::Duration};

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use service_runtime::StartError;

use crate::{code::CodeKey, config::Config, error::Error};

/// HS256 is only as strong as its key (RFC 8725 §3.5): refuse short ones.
const MIN_SECRET_BYTES: usize = 32;
const SECRET_FILE: &str = "jwt-secret";

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    pub email: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// The session the token belongs to; revoking it revokes the token.
    pub sid: String,
}

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKey {
    fn new(secret: &[u8]) -> Self {
        // The kid is a short digest of the secret: it tells keys apart without revealing them.
        let digest = Sha256::digest(secret);
        Self {
            kid: hex::encode(&digest[..8]),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

/// Issues and verifies access tokens.
pub struct TokenKeys {
    current: SigningKey,
    previous: Option<SigningKey>,
    issuer: String,
    audience: String,
    ttl: Duration,
    /// The key emailed codes are hashed under, derived from the current secret.
    code_key: CodeKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("kid", &self.current.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// A freshly issued access token.
#[derive(Debug)]
pub struct AccessToken {
    pub token: String,
}

impl TokenKeys {
    /// Builds the keys from the configured secrets, or from the secret kept in
    /// the data directory (made on first start) when `JWT_SECRET` is unset.
    pub fn from_config(config: &Config) -> Result<Self, StartError> {
        let current = match &config.jwt_secret {
            Some(secret) => checked("JWT_SECRET", secret)?.to_vec(),
            None => stored_secret(&config.storage.data_dir)?,
        };
        let previous = config
            .jwt_secret_previous
            .as_ref()
            .map(|secret| checked("JWT_SECRET_PREVIOUS", secret).map(SigningKey::new))
            .transpose()?;
        Ok(Self {
            current: SigningKey::new(&current),
            previous,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl: config.access_token_ttl,
            code_key: CodeKey::derive(&current),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn code_key(&self) -> &CodeKey {
        &self.code_key
    }

    /// Signs an access token for `user_id`'s session `session_id`, issued at `now`.
    pub fn issue(
        &self,
        user_id: &str,
        email: &str,
        session_id: &str,
        now: i64,
    ) -> Result<AccessToken, Error> {
        let exp = now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user_id.to_owned(),
            email: email.to_owned(),
            iat: now,
            exp,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sid: session_id.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.kid.clone());
        let token = encode(&header, &claims, &self.current.encoding)
            .map_err(|error| Error::internal(format!("cannot sign token: {error}")))?;
        Ok(AccessToken { token })
    }

    /// Checks the signature (HS256 only), `exp`, `iss` and `aud`. Whether the
    /// session is still live is the store's question, asked by the caller.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        const INVALID: Error =
            Error::Unauthenticated(std::borrow::Cow::Borrowed("invalid access token"));
        let header = decode_header(token).map_err(|_| INVALID)?;
        // The algorithm is pinned (RFC 8725 §3.1): `none`, HS384, RS256… are refused
        // here and again by `Validation`, whatever the token's header claims.
        if header.alg != Algorithm::HS256 {
            return Err(INVALID);
        }
        let key = match header.kid.as_deref() {
            Some(kid) if kid == self.current.kid => &self.current,
            Some(kid) => match &self.previous {
                Some(previous) if previous.kid == kid => previous,
                _ => return Err(INVALID),
            },
            None => return Err(INVALID),
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        decode::<Claims>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Error::unauthenticated("access token expired; refresh it or log in again")
                }
                _ => INVALID,
            })
    }
}

fn checked<'a>(name: &str, secret: &'a SecretString) -> Result<&'a [u8], StartError> {
    let bytes = secret.expose_secret().as_bytes();
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(StartError::Config(format!(
            "{name} must be at least {MIN_SECRET_BYTES} bytes (it has {}); generate one with `openssl rand -base64 48`",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Reads the secret kept in `data_dir`, making it (256 random bits, file mode
/// 0600) on first start, so tokens survive restarts in development.
fn stored_secret(data_dir: &Path) -> Result<Vec<u8>, StartError> {
    let path = data_dir.join(SECRET_FILE);
    let io_error = |action: &str, error: std::io::Error| {
        StartError::other(format!("cannot {action} {}", path.display()), error)
    };
    tracing::warn!(
        path = %path.display(),
        "JWT_SECRET is not set: using a generated secret kept in the data directory; production must set JWT_SECRET"
    );
    match fs::read_to_string(&path) {
        Ok(stored) => {
            let secret = stored.trim().as_bytes().to_vec();
            if secret.len() < MIN_SECRET_BYTES {
                return Err(StartError::Config(format!(
                    "{} holds fewer than {MIN_SECRET_BYTES} bytes; delete it to generate a new secret",
                    path.display()
                )));
            }
            Ok(secret)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            service_runtime::private_files::create_dir(data_dir)
                .map_err(|error| io_error("create the directory of", error))?;
            let mut random = [0_u8; 32];
            rand::rng().fill_bytes(&mut random);
            let secret = hex::encode(random);
            let mut file = service_runtime::private_files::create_file(&path)
                .map_err(|error| io_error("create", error))?;
            file.write_all(secret.as_bytes())
                .map_err(|error| io_error("write", error))?;
            Ok(secret.into_bytes())
        }
        Err(error) => Err(io_error("read", error)),
    }
}
