//! Bearer tokens in `authorization` metadata, both ways: reading the token a
//! caller sent (written once, for every service that checks tokens) and a
//! client interceptor that sends one.

use http::HeaderMap;
use tonic::{Request, Status, service::Interceptor};

/// Why a request carries no usable bearer token; the text tells the caller what to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    #[error("missing authorization metadata; send `authorization: Bearer <access_token>`")]
    Missing,
    #[error("authorization metadata must be `Bearer <access_token>`")]
    Malformed,
}

/// Longest `authorization` value read: access tokens are a few hundred bytes.
pub const MAX_HEADER_BYTES: usize = 4096;

/// The token of `authorization: Bearer <token>` (the scheme in any case,
/// surrounding spaces ignored). A value longer than [`MAX_HEADER_BYTES`] is
/// malformed, refused before it is looked at.
pub fn token(headers: &HeaderMap) -> Result<&str, BearerError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(BearerError::Missing)?;
    if value.len() > MAX_HEADER_BYTES {
        return Err(BearerError::Malformed);
    }
    value
        .to_str()
        .ok()
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .map(|(_, token)| token.trim())
        .ok_or(BearerError::Malformed)
}

/// A client interceptor that adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct BearerInterceptor(String);

impl BearerInterceptor {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

/// Tokens are secrets: a debug print shows that there is one, not what it is.
impl std::fmt::Debug for BearerInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerInterceptor([redacted])")
    }
}

impl Interceptor for BearerInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| Status::invalid_argument("the token is not a valid header value"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn reads_the_token_of_a_bearer_header() {
        assert_eq!(token(&headers("Bearer abc")), Ok("abc"));
        assert_eq!(token(&headers("bearer  abc ")), Ok("abc"));
        assert_eq!(token(&HeaderMap::new()), Err(BearerError::Missing));
        let huge = format!("Bearer {}", "x".repeat(MAX_HEADER_BYTES));
        for bad in ["abc", "Basic abc", "Bearer ", "Bearer", huge.as_str()] {
            assert_eq!(token(&headers(bad)), Err(BearerError::Malformed), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_header_value_is_a_token_or_refused(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            // Whatever bytes a client sends (as far as HTTP lets it), reading never panics,
            // and a token read is a non-empty, trimmed part of what was sent.
            if let Ok(value) = http::HeaderValue::from_bytes(&raw) {
                let mut headers = HeaderMap::new();
                headers.insert(http::header::AUTHORIZATION, value);
                if let Ok(token) = token(&headers) {
                    proptest::prop_assert!(!token.is_empty() && token == token.trim());
                    proptest::prop_assert!(raw.windows(token.len()).any(|w| w == token.as_bytes()));
                }
            }
        }

        #[test]
        fn a_bearer_header_gives_back_its_token(
            scheme in "(?i)bearer",
            token_text in "[A-Za-z0-9._~+/=-]{1,200}",
        ) {
            let headers = headers(&format!("{scheme} {token_text}"));
            proptest::prop_assert_eq!(token(&headers), Ok(token_text.as_str()));
        }
    }

    #[test]
    fn the_interceptor_never_shows_its_token() {
        let interceptor = BearerInterceptor::new("secret-token");
        assert!(!format!("{interceptor:?}").contains("secret"));
    }
}
