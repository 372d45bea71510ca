//! `Email`: an address that has been trimmed, lower-cased and checked, so
//! nothing past the gRPC edge handles a raw, unchecked string.

use crate::error::Error;

/// Longest address accepted (RFC 5321's path limit).
const MAX_LEN: usize = 254;

/// A normalised email address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases `raw`, then requires one `@`, a non-empty local
    /// part, a dotted domain and at most 254 characters. Its length is
    /// checked first (`within_bounds`), before anything reads its contents.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        Self::within_bounds(raw)?;
        let email = raw.trim().to_lowercase();
        let invalid = |rule: &'static str| Err(Error::invalid("email", rule));
        if email.is_empty() {
            return invalid("is required");
        }
        if email.chars().count() > MAX_LEN {
            return invalid("must be at most 254 characters");
        }
        if email.chars().any(char::is_whitespace) {
            return invalid("must not contain spaces");
        }
        if email.chars().any(char::is_control) {
            return invalid("must not contain control characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("must look like name@example.com (no @ found)");
        };
        if domain.contains('@') {
            return invalid("must contain exactly one @");
        }
        if local.is_empty() {
            return invalid("must have a name before the @");
        }
        let labels_ok = domain.split('.').all(|label| !label.is_empty());
        if !domain.contains('.') || !labels_ok {
            return invalid("must have a dotted domain after the @, like example.com");
        }
        Ok(Self(email))
    }

    /// The checks that cost nothing, for a raw email about to be used for
    /// anything: at most 254 characters can be no more than 1016 bytes
    /// (four each), with a little room for surrounding spaces; and no NUL,
    /// which PostgreSQL cannot store.
    pub fn within_bounds(raw: &str) -> Result<(), Error> {
        if raw.len() > MAX_LEN * 4 + 16 {
            return Err(Error::invalid("email", "must be at most 254 characters"));
        }
        if raw.contains('\0') {
            return Err(Error::invalid(
                "email",
                "must not contain control characters",
            ));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a@b@example.com",
            "ada@example..com",
            "ada@.example.com",
            "ada@example.com.",
            "a da@example.com",
            "ada\0@example.com",
            "ada\u{7}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
        let huge = format!("{}@example.com", "a".repeat(1 << 20));
        assert!(Email::parse(&huge).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_string_is_an_email_or_invalid_argument(raw in "\\PC{0,300}|[a-z.@\\x00 ]{0,40}") {
            match Email::parse(&raw) {
                Ok(email) => {
                    proptest::prop_assert_eq!(email.as_str().matches('@').count(), 1);
                    proptest::prop_assert!(email.as_str().chars().count() <= MAX_LEN);
                }
                Err(Error::InvalidArgument(_)) => {}
                Err(other) => proptest::prop_assert!(false, "{other:?}"),
            }
        }
    }
}
