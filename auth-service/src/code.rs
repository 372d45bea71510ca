//! One-time codes sent by mail (password reset, email verification): made at
//! random, short enough to type from a phone, and stored only as a keyed hash.
//!
//! A code is 8 characters of Crockford's base32 (digits and capitals without
//! I, L, O and U, so nothing reads as something else), shown as `ABCD-EFGH`.
//! That is 32^8 = 2^40 ≈ 1.1 × 10^12 codes. A code takes 5 tries, right or
//! wrong, and a fresh one needs a new email, of which one address gets
//! `MAIL_MAX_PER_EMAIL` (5) an hour: at most 25 guesses an hour against an
//! account, a chance of 25 / 2^40 ≈ 2.3 × 10^-11 an hour, about 2 × 10^-7
//! after a year of guessing without pause.
//!
//! Why a fast keyed hash (HMAC-SHA-256) and not argon2: slow hashing protects
//! passwords, which people choose from a small space, against guessing
//! offline; a random 40-bit code hashed under a key that is not in the
//! database cannot be guessed offline at all (without the key a leaked hash
//! is useless, and 2^40 plain SHA-256 hashes would be minutes of work, which
//! is why the hash is keyed). Online guessing is bounded by the tries above,
//! and a fast hash keeps checking a code from costing the server anything.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::Error;

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 8;
/// A typed code with spaces or dashes is far below this; longer input is
/// refused before it is read.
const MAX_INPUT_BYTES: usize = 64;

/// What a code is for; each user has at most one live code per purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    ResetPassword,
    VerifyEmail,
}

impl Purpose {
    /// The name kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResetPassword => "reset_password",
            Self::VerifyEmail => "verify_email",
        }
    }
}

/// A one-time code, in its canonical form (8 characters, no dash). It is
/// never logged: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code([redacted])")
    }
}

impl Code {
    /// A fresh random code. Each character takes 5 bits of a random byte:
    /// 256 is a multiple of 32, so every character is equally likely.
    pub fn generate() -> Self {
        let mut bytes = [0_u8; LENGTH];
        rand::rng().fill_bytes(&mut bytes);
        Self(
            bytes
                .iter()
                .map(|byte| char::from(ALPHABET[usize::from(byte & 31)]))
                .collect(),
        )
    }

    /// A code as a person typed it: case, spaces and dashes do not matter,
    /// and O, I and L are read as 0, 1 and 1, as Crockford's base32 says.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = || {
            Err(Error::invalid(
                "code",
                "must be the 8-character code from the email (like ABCD-1234)",
            ))
        };
        if raw.trim().is_empty() {
            return Err(Error::invalid(
                "code",
                "is required: the code from the email",
            ));
        }
        if raw.len() > MAX_INPUT_BYTES {
            return invalid();
        }
        let mut code = String::with_capacity(LENGTH);
        for c in raw.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return invalid();
            }
            code.push(c);
        }
        if code.len() != LENGTH {
            return invalid();
        }
        Ok(Self(code))
    }

    /// The code as a person reads it: `ABCD-EFGH`.
    pub fn display(&self) -> String {
        let (first, second) = self.0.split_at(LENGTH / 2);
        format!("{first}-{second}")
    }
}

/// The key codes are hashed under, derived from the JWT signing secret so
/// that it never lives in the database beside the hashes. Rotating that
/// secret voids the codes in flight (they live minutes; ask again).
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey([redacted])")
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length")
}

impl CodeKey {
    /// A key of its own for codes: HMAC of a fixed label under the secret, so
    /// a code hash and a token signature are never made with the same key.
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = mac(secret);
        mac.update(b"todo-auth one-time mail codes v1");
        Self(mac.finalize().into_bytes().into())
    }

    /// The stored form of `code`, bound to its user and purpose: a code can
    /// only ever be checked against the row it was made for.
    pub fn hash(&self, purpose: Purpose, user_id: &str, code: &Code) -> String {
        let mut mac = mac(&self.0);
        for part in [purpose.as_str(), user_id, &code.0] {
            // Length-prefixed, so no two (purpose, user, code) share an input.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Compares two hashes in time that depends on their length only.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |differ, (x, y)| differ | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_8_alphabet_characters_and_differ() {
        let codes: Vec<Code> = (0..100).map(|_| Code::generate()).collect();
        for code in &codes {
            assert_eq!(code.0.len(), LENGTH);
            assert!(code.0.bytes().all(|c| ALPHABET.contains(&c)), "{}", code.0);
            assert_eq!(Code::parse(&code.display()).unwrap(), *code);
        }
        let distinct: std::collections::HashSet<_> = codes.iter().map(|c| &c.0).collect();
        assert_eq!(distinct.len(), codes.len());
    }

    #[test]
    fn typed_codes_are_read_as_a_person_means_them() {
        let canonical = Code::parse("AB01-2345").unwrap();
        for typed in [
            "ab01-2345",
            " AB01 2345 ",
            "abo1-2345",
            "AB0I2345",
            "aboL-2345",
        ] {
            assert_eq!(Code::parse(typed).unwrap(), canonical, "{typed:?}");
        }
        assert_eq!(canonical.display(), "AB01-2345");
        for bad in [
            "",
            "   ",
            "ABC-1234",
            "ABCD-12345",
            "ABCU-1234",
            "ABCD-12\u{0}4",
            "ÄBCD-1234",
            &*"A".repeat(100),
        ] {
            let error = Code::parse(bad).unwrap_err();
            assert!(error.to_string().starts_with("code:"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn codes_never_show_in_debug_output() {
        let code = Code::parse("ABCD-EFGH").unwrap();
        assert_eq!(format!("{code:?}"), "Code([redacted])");
        let key = CodeKey::derive(b"a secret");
        assert!(!format!("{key:?}").contains(&hex::encode(key.0)));
    }

    #[test]
    fn a_hash_is_bound_to_its_key_user_and_purpose() {
        let key = CodeKey::derive(b"a secret");
        let code = Code::parse("ABCD-EFGH").unwrap();
        let hash = key.hash(Purpose::ResetPassword, "user-1", &code);
        assert!(same_hash(
            &hash,
            &key.hash(Purpose::ResetPassword, "user-1", &code)
        ));
        for other in [
            key.hash(Purpose::VerifyEmail, "user-1", &code),
            key.hash(Purpose::ResetPassword, "user-2", &code),
            key.hash(
                Purpose::ResetPassword,
                "user-1",
                &Code::parse("ABCD-EFGJ").unwrap(),
            ),
            CodeKey::derive(b"another secret").hash(Purpose::ResetPassword, "user-1", &code),
        ] {
            assert!(!same_hash(&hash, &other));
        }
        assert!(!same_hash(&hash, &hash[1..]));
    }
}
