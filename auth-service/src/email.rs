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
    /// part, a dotted domain and at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, Error> {
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
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
