//! A development certificate authority and the certificates it issues to
//! services, for mutual TLS between them (`mutual_tls`): what
//! `todo-stack certs` writes, and what tests make for themselves. Keys are
//! ECDSA P-256, generated fresh each time; nothing here reads a file.
//! Production may use these, or certificates from its own CA: the services
//! only read PEM files.

use std::{fmt, net::IpAddr};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

pub use rcgen::Error;

/// How long issued certificates (and the CA) are valid: renewing is
/// running `todo-stack certs` again and restarting (see the README).
const VALIDITY: time::Duration = time::Duration::days(365);

/// A certificate and its private key, both PEM. `Debug` leaves the key out.
#[derive(Clone)]
pub struct Issued {
    pub certificate_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("certificate_pem", &self.certificate_pem)
            .finish_non_exhaustive()
    }
}

/// A CA that signs service certificates.
pub struct DevCa {
    issuer: Issuer<'static, KeyPair>,
    own: Issued,
}

impl fmt::Debug for DevCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevCa")
            .field("certificate_pem", &self.own.certificate_pem)
            .finish_non_exhaustive()
    }
}

impl DevCa {
    /// A new CA with a new key, named `name` (its common name).
    pub fn new(name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name.push(DnType::CommonName, name);
        valid_from_now(&mut params);
        let own = Issued {
            certificate_pem: params.self_signed(&key)?.pem(),
            key_pem: key.serialize_pem(),
        };
        Ok(Self {
            issuer: Issuer::new(params, key),
            own,
        })
    }

    /// The CA's own certificate and key.
    pub fn own(&self) -> &Issued {
        &self.own
    }

    /// A server certificate for `names`: host names, IP addresses (as
    /// text, e.g. `127.0.0.1`) or URIs (`spiffe://…`).
    pub fn server(&self, names: &[&str]) -> Result<Issued, Error> {
        self.issue(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate whose identities are `names` (DNS names or URIs),
    /// as a server's allow-list reads them.
    pub fn client(&self, names: &[&str]) -> Result<Issued, Error> {
        self.issue(names, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Result<Issued, Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.subject_alt_names = names
            .iter()
            .map(|name| san(name))
            .collect::<Result<_, _>>()?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        valid_from_now(&mut params);
        Ok(Issued {
            certificate_pem: params.signed_by(&key, &self.issuer)?.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// A subject alternative name: an IP address, a URI, or a DNS name.
fn san(name: &str) -> Result<SanType, Error> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let text = name.try_into()?;
    Ok(if name.contains("://") {
        SanType::URI(text)
    } else {
        SanType::DnsName(text)
    })
}

/// Valid from an hour ago (clocks of containers differ a little) for [`VALIDITY`].
fn valid_from_now(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + VALIDITY;
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    use super::*;

    #[test]
    fn issued_certificates_carry_their_names() {
        let ca = DevCa::new("test CA").unwrap();
        let client = ca.client(&["tasks", "spiffe://todo/tasks"]).unwrap();
        let der = CertificateDer::from_pem_slice(client.certificate_pem.as_bytes()).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        let names = parsed.subject_alternative_name().unwrap().unwrap();
        assert_eq!(names.value.general_names.len(), 2);
        assert!(!format!("{client:?}").contains("PRIVATE KEY"));
    }
}
