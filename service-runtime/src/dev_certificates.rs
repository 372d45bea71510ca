//! A development certificate authority and the certificates it issues to
//! services, for mutual TLS between them (`mutual_tls`): what
//! `todo-stack certs` writes, and what tests make for themselves. Keys are
//! ECDSA P-256, generated fresh each time; nothing here reads a file.
//! Production may use these, or certificates from its own CA: the services
//! only read PEM files.

use std::{
    fmt,
    io::{self, Write},
    net::IpAddr,
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

pub use rcgen::Error;

use crate::private_files;

/// The names the auth service's internal listener is reached by, all in its
/// certificate: this host, compose's service name, and the Kubernetes
/// Service `auth` in the namespace `todo` (deploy/k8s).
pub const AUTH_NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "auth",
    "auth.todo",
    "auth.todo.svc",
    "auth.todo.svc.cluster.local",
];

/// The task service's identity, as the auth service's
/// INTERNAL_ALLOWED_CLIENTS names it.
pub const TASKS_IDENTITY: &str = "tasks";

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

/// A development CA with the certificates of the services' identities:
/// the auth service's internal listener (a server certificate for
/// [`AUTH_NAMES`]) and the task service (a client certificate naming
/// [`TASKS_IDENTITY`]).
#[derive(Debug)]
pub struct ServiceCertificates {
    pub ca: DevCa,
    pub auth: Issued,
    pub tasks: Issued,
}

impl ServiceCertificates {
    /// A new CA and certificates, keys all fresh.
    pub fn generate() -> Result<Self, Error> {
        let ca = DevCa::new("todo development CA")?;
        let auth = ca.server(AUTH_NAMES)?;
        let tasks = ca.client(&[TASKS_IDENTITY])?;
        Ok(Self { ca, auth, tasks })
    }

    /// The files [`write_to`](Self::write_to) writes, as names in the directory.
    pub const FILES: [&str; 6] = [
        "ca.pem",
        "ca-key.pem",
        "auth.pem",
        "auth-key.pem",
        "tasks.pem",
        "tasks-key.pem",
    ];

    /// Writes [`FILES`](Self::FILES) into `dir` (created 0700 if missing),
    /// each private (0600), and returns their paths. Fails, writing
    /// nothing, if any of them exists: keys are never overwritten.
    pub fn write_to(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        private_files::create_dir(dir)?;
        let paths: Vec<PathBuf> = Self::FILES.iter().map(|name| dir.join(name)).collect();
        if let Some(existing) = paths.iter().find(|path| path.exists()) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", existing.display()),
            ));
        }
        let contents = [
            &self.ca.own.certificate_pem,
            &self.ca.own.key_pem,
            &self.auth.certificate_pem,
            &self.auth.key_pem,
            &self.tasks.certificate_pem,
            &self.tasks.key_pem,
        ];
        for (path, content) in paths.iter().zip(contents) {
            private_files::create_file(path)?.write_all(content.as_bytes())?;
        }
        Ok(paths)
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

    #[cfg(unix)]
    #[test]
    fn service_certificates_are_written_private_and_never_over_existing_ones() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("dev-certs-{}", std::process::id()));
        let certificates = ServiceCertificates::generate().unwrap();
        let written = certificates.write_to(&dir).unwrap();
        assert_eq!(written.len(), ServiceCertificates::FILES.len());
        for path in &written {
            let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        let before = std::fs::read(dir.join("ca-key.pem")).unwrap();
        let again = ServiceCertificates::generate().unwrap().write_to(&dir);
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(dir.join("ca-key.pem")).unwrap(), before);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
