//! ListTasks' page token: where the next page starts, as an opaque string.
//! A token is bound to the filters and order of the list that issued it, so
//! one reused with others is refused instead of silently skipping tasks.
//!
//! Tokens are encrypted (AES-256-GCM-SIV): under `order_by = "title"` the
//! cursor is a title, and a token travels in URLs that get copied and
//! logged. The key is made once and kept in the task database
//! (`Store::page_token_key`), so every replica shares it without a setting,
//! and whoever could read it could read the titles directly anyway. The
//! authentication also means a hand-made token never reaches the store.

use aes_gcm_siv::{
    Aes256GcmSiv, Nonce,
    aead::{Aead, KeyInit},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    error::Error,
    list_query::{Cursor, SortField, SortKey},
};

/// A short digest of a list's filters and order, computed once per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `query`: its JSON form, so equal queries (and only
    /// they) agree. Eight bytes of SHA-256 are plenty to tell queries apart;
    /// the token is not a secret and the digest guards against mistakes, not forgery.
    pub fn of(query: &impl Serialize) -> Self {
        let canonical = serde_json::to_vec(query).unwrap_or_default();
        Self(hex::encode(&Sha256::digest(canonical)[..8]))
    }
}

/// Longest token accepted, checked before any decoding. Issued tokens stay
/// well under it: the longest cursor is a 200-character title.
const TOKEN_MAX: usize = 4096;
const NONCE_LEN: usize = 12;

/// The key page tokens are sealed with. `Debug` does not show it.
#[derive(Clone)]
pub struct PageTokenKey(Aes256GcmSiv);

impl std::fmt::Debug for PageTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokenKey([redacted])")
    }
}

impl PageTokenKey {
    /// A new random key, as 64 hex digits to store.
    pub fn generate() -> String {
        let mut key = [0_u8; 32];
        rand::rng().fill_bytes(&mut key);
        hex::encode(key)
    }

    /// The key from its stored form; `None` when it is not 64 hex digits.
    pub fn from_hex(stored: &str) -> Option<Self> {
        let bytes = hex::decode(stored.trim()).ok()?;
        Aes256GcmSiv::new_from_slice(&bytes).ok().map(Self)
    }
}

/// What a token holds: JSON with one-letter keys (tokens travel in every
/// request for the next page, so they are kept short), sealed, in URL-safe
/// base64 (nonce, then ciphertext).
#[derive(Serialize, Deserialize)]
pub struct PageToken {
    /// The sort value of the last task returned.
    k: SortKey,
    /// The id of the last task returned.
    i: String,
    /// The fingerprint of the query the token belongs to.
    q: String,
}

impl PageToken {
    /// The token that continues `query` after `cursor`.
    pub fn encode(cursor: Cursor, query: &Fingerprint, key: &PageTokenKey) -> String {
        let token = Self {
            k: cursor.key,
            i: cursor.id,
            q: query.0.clone(),
        };
        let plain = serde_json::to_vec(&token).unwrap_or_default();
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption only fails for plaintexts of gigabytes.
        let sealed = key
            .0
            .encrypt(&Nonce::from(nonce), plain.as_slice())
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Where `token` says the page starts, for the query `query` ordered by
    /// `field`. Garbled, or made for another query: INVALID_ARGUMENT.
    pub fn decode(
        token: &str,
        query: &Fingerprint,
        field: SortField,
        key: &PageTokenKey,
    ) -> Result<Cursor, Error> {
        let garbled = || {
            Error::invalid(
                "page_token",
                "is not a token this service issued; start again without it",
            )
        };
        if token.len() > TOKEN_MAX {
            return Err(garbled());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| garbled())?;
        if bytes.len() < NONCE_LEN {
            return Err(garbled());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| garbled())?;
        let plain = key
            .0
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| garbled())?;
        let token: Self = serde_json::from_slice(&plain).map_err(|_| garbled())?;
        if token.q != query.0 {
            return Err(Error::invalid(
                "page_token",
                "belongs to a list with other filters or order; keep them the same or start again without a token",
            ));
        }
        // Only a hand-made token gets here with a key of the wrong kind.
        if !token.k.fits(field) {
            return Err(garbled());
        }
        Ok(Cursor {
            key: token.k,
            id: token.i,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn key() -> PageTokenKey {
        PageTokenKey::from_hex(&PageTokenKey::generate()).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let key = key();
        let query = Fingerprint::of(&"one query");
        let cursor = Cursor {
            key: SortKey::Number(42),
            id: "x".into(),
        };
        let token = PageToken::encode(cursor.clone(), &query, &key);
        assert_eq!(
            PageToken::decode(&token, &query, SortField::CreateTime, &key).unwrap(),
            cursor
        );
        let other = Fingerprint::of(&"another query");
        assert!(PageToken::decode(&token, &other, SortField::CreateTime, &key).is_err());
        assert!(PageToken::decode("garbage!", &query, SortField::CreateTime, &key).is_err());
        assert!(
            PageToken::decode(&token, &query, SortField::Title, &key).is_err(),
            "a number where a title is expected"
        );
        assert!(
            PageToken::decode(&token, &query, SortField::CreateTime, &self::key()).is_err(),
            "another key"
        );
    }

    #[test]
    fn tokens_do_not_show_the_title_they_hold() {
        let key = key();
        let cursor = Cursor {
            key: SortKey::Text("my secret plans".into()),
            id: "x".into(),
        };
        let token = PageToken::encode(cursor, &Fingerprint::of(&"q"), &key);
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let shown = String::from_utf8_lossy(&bytes);
        assert!(!shown.contains("secret"), "{shown}");
    }

    proptest! {
        #[test]
        fn any_string_is_a_cursor_or_invalid_argument(token in ".{0,300}|[A-Za-z0-9_-]{0,300}") {
            let key = key();
            match PageToken::decode(&token, &Fingerprint::of(&"q"), SortField::Title, &key) {
                Ok(_) | Err(Error::InvalidArgument(_)) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
