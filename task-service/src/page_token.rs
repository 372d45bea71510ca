//! ListTasks' page token: where the next page starts, as an opaque string.
//! A token is bound to the filters and order of the list that issued it, so
//! one reused with others is refused instead of silently skipping tasks.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
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

/// What a token holds: JSON with one-letter keys (tokens travel in every
/// request for the next page, so they are kept short), in URL-safe base64.
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
    pub fn encode(cursor: Cursor, query: &Fingerprint) -> String {
        let token = Self {
            k: cursor.key,
            i: cursor.id,
            q: query.0.clone(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
    }

    /// Where `token` says the page starts, for the query `query` ordered by
    /// `field`. Garbled, or made for another query: INVALID_ARGUMENT.
    pub fn decode(token: &str, query: &Fingerprint, field: SortField) -> Result<Cursor, Error> {
        let garbled = || {
            Error::invalid(
                "page_token",
                "is not a token this service issued; start again without it",
            )
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| garbled())?;
        let token: Self = serde_json::from_slice(&bytes).map_err(|_| garbled())?;
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

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let query = Fingerprint::of(&"one query");
        let cursor = Cursor {
            key: SortKey::Number(42),
            id: "x".into(),
        };
        let token = PageToken::encode(cursor.clone(), &query);
        assert_eq!(
            PageToken::decode(&token, &query, SortField::CreateTime).unwrap(),
            cursor
        );
        let other = Fingerprint::of(&"another query");
        assert!(PageToken::decode(&token, &other, SortField::CreateTime).is_err());
        assert!(PageToken::decode("garbage!", &query, SortField::CreateTime).is_err());
        assert!(
            PageToken::decode(&token, &query, SortField::Title).is_err(),
            "a number where a title is expected"
        );
    }
}
