//! Service identities: mutual TLS between the services. The settings that
//! name a service's certificate, its key and the CA it trusts; the TLS
//! configurations a server and a client build from them; and the layer that
//! lets in only the clients whose certificate names an allowed identity (a
//! DNS or URI subject alternative name), so a certificate from the right CA
//! is not enough on its own. Used on the auth service's internal listener and
//! by the task service's calls to it.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use clap::Args;
use futures_core::future::BoxFuture;
use http::{Extensions, Request, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tonic::{
    Status,
    body::Body,
    transport::{
        Certificate, ClientTlsConfig, Identity, ServerTlsConfig,
        server::{TcpConnectInfo, TlsConnectInfo},
    },
};
use tower::{Layer, Service};
use x509_parser::extensions::GeneralName;

use crate::start::StartError;

/// How long a TLS handshake may take, on either side.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Makes ring rustls's crypto provider for the whole process. tonic's server
/// TLS asks rustls for the process default, which panics when rustls was
/// built with two providers and none was installed. Safe to call any number
/// of times: once one is installed, later calls change nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The certificate, key and CA of a service's identity on internal
/// connections. All three set: mutual TLS; none: plaintext.
#[derive(Clone, Debug, Default, Args)]
pub struct MutualTlsArgs {
    /// This service's certificate (PEM) on internal connections: the one the
    /// auth service's internal listener presents, or the one the task
    /// service presents to it. With INTERNAL_TLS_KEY and INTERNAL_CA, turns
    /// mutual TLS on.
    #[arg(long, env = "INTERNAL_TLS_CERT")]
    pub internal_tls_cert: Option<PathBuf>,

    /// The private key (PEM) of INTERNAL_TLS_CERT.
    #[arg(long, env = "INTERNAL_TLS_KEY")]
    pub internal_tls_key: Option<PathBuf>,

    /// The CA certificate (PEM) that must have signed the other side's
    /// certificate on internal connections.
    #[arg(long, env = "INTERNAL_CA")]
    pub internal_ca: Option<PathBuf>,
}

impl MutualTlsArgs {
    /// The identity the three files hold, read and checked now; `None` when
    /// none is set (compose files pass unset variables through as empty
    /// ones, which count as unset). Some but not all set is an error naming
    /// the missing ones, as is a file that cannot be read or holds no PEM
    /// certificate or key.
    pub fn load(&self) -> Result<Option<MutualTls>, StartError> {
        let given = |path: &Option<PathBuf>| {
            path.as_ref()
                .filter(|path| !path.as_os_str().is_empty())
                .cloned()
        };
        let settings = [
            ("INTERNAL_TLS_CERT", given(&self.internal_tls_cert)),
            ("INTERNAL_TLS_KEY", given(&self.internal_tls_key)),
            ("INTERNAL_CA", given(&self.internal_ca)),
        ];
        let missing: Vec<&str> = settings
            .iter()
            .filter(|(_, path)| path.is_none())
            .map(|(name, _)| *name)
            .collect();
        let [(_, Some(cert)), (_, Some(key)), (_, Some(ca))] = settings else {
            if missing.len() == settings.len() {
                return Ok(None);
            }
            return Err(StartError::Config(format!(
                "mutual TLS needs INTERNAL_TLS_CERT, INTERNAL_TLS_KEY and INTERNAL_CA together; \
                 {} not set (set all three, or none for plaintext)",
                missing.join(" and ")
            )));
        };
        install_crypto_provider();
        let certificate = read_pem("INTERNAL_TLS_CERT", &cert)?;
        let has_certificate = |pem: &[u8]| {
            CertificateDer::pem_slice_iter(pem)
                .next()
                .is_some_and(|cert| cert.is_ok())
        };
        if !has_certificate(&certificate) {
            return Err(no_pem("INTERNAL_TLS_CERT", &cert, "certificate"));
        }
        let key_pem = read_pem("INTERNAL_TLS_KEY", &key)?;
        if PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
            return Err(no_pem("INTERNAL_TLS_KEY", &key, "private key"));
        }
        let ca_pem = read_pem("INTERNAL_CA", &ca)?;
        if !has_certificate(&ca_pem) {
            return Err(no_pem("INTERNAL_CA", &ca, "certificate"));
        }
        Ok(Some(MutualTls {
            identity: Identity::from_pem(certificate, key_pem),
            ca: Certificate::from_pem(ca_pem),
            files: [cert, key, ca],
        }))
    }
}

fn read_pem(setting: &str, path: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|error| {
        StartError::other(format!("{setting}: cannot read {}", path.display()), error)
    })
}

fn no_pem(setting: &str, path: &Path, what: &str) -> StartError {
    StartError::Config(format!("{setting}: {} holds no PEM {what}", path.display()))
}

/// A service's identity on internal connections: its certificate and key,
/// and the CA the other side must be signed by.
#[derive(Clone)]
pub struct MutualTls {
    identity: Identity,
    ca: Certificate,
    /// Where they came from, for messages (never the key itself).
    files: [PathBuf; 3],
}

impl fmt::Debug for MutualTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [cert, key, ca] = &self.files;
        f.debug_struct("MutualTls")
            .field("cert", cert)
            .field("key", key)
            .field("ca", ca)
            .finish()
    }
}

impl MutualTls {
    /// A server presenting this identity and requiring every client to
    /// present a certificate signed by the CA; a client without one fails
    /// the handshake.
    pub fn server(&self) -> ServerTlsConfig {
        install_crypto_provider();
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// A client presenting this identity and accepting only servers whose
    /// certificate the CA signed, for the name it dials (the host of its
    /// URL, unless the caller sets `domain_name`).
    pub fn client(&self) -> ClientTlsConfig {
        install_crypto_provider();
        ClientTlsConfig::new()
            .identity(self.identity.clone())
            .ca_certificate(self.ca.clone())
            .timeout(HANDSHAKE_TIMEOUT)
    }
}

/// The client identities a server lets in: exact DNS names or URIs, as
/// written in the certificates' subject alternative names.
#[derive(Clone, Debug)]
pub struct AllowedClients(Arc<[String]>);

impl AllowedClients {
    /// `names` without blanks; `None` when none is left.
    pub fn new(names: &[String]) -> Option<Self> {
        let names: Vec<String> = names
            .iter()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect();
        (!names.is_empty()).then(|| Self(names.into()))
    }

    fn allows(&self, identities: &[String]) -> bool {
        identities
            .iter()
            .any(|identity| self.0.iter().any(|allowed| allowed == identity))
    }
}

/// The identities (DNS and URI subject alternative names) of the
/// certificate a TLS client presented on the connection a request came on;
/// empty without TLS, without a certificate, or when it cannot be parsed.
pub fn peer_identities(extensions: &Extensions) -> Vec<String> {
    let Some(certificates) = extensions
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(TlsConnectInfo::peer_certs)
    else {
        return Vec::new();
    };
    // The first certificate is the client's own; the rest is its chain.
    let Some(Ok((_, certificate))) = certificates
        .first()
        .map(|der| x509_parser::parse_x509_certificate(der.as_ref()))
    else {
        return Vec::new();
    };
    let Ok(Some(names)) = certificate.subject_alternative_name() else {
        return Vec::new();
    };
    names
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(name) | GeneralName::URI(name) => Some((*name).to_owned()),
            _ => None,
        })
        .collect()
}

/// Lets a call through only when its connection's client certificate names
/// an allowed identity; others are answered PERMISSION_DENIED, naming the
/// identity seen. Without an allow-list (no mutual TLS), lets everything through.
#[derive(Clone, Debug, Default)]
pub struct ClientIdentityLayer {
    allowed: Option<AllowedClients>,
}

impl ClientIdentityLayer {
    pub fn new(allowed: Option<AllowedClients>) -> Self {
        Self { allowed }
    }
}

impl<S> Layer<S> for ClientIdentityLayer {
    type Service = ClientIdentity<S>;

    fn layer(&self, inner: S) -> ClientIdentity<S> {
        ClientIdentity {
            inner,
            allowed: self.allowed.clone(),
        }
    }
}

/// The service the layer makes.
#[derive(Clone, Debug)]
pub struct ClientIdentity<S> {
    inner: S,
    allowed: Option<AllowedClients>,
}

impl<S, B> Service<Request<B>> for ClientIdentity<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(allowed) = &self.allowed {
            let identities = peer_identities(request.extensions());
            if !allowed.allows(&identities) {
                tracing::warn!(
                    ?identities,
                    path = request.uri().path(),
                    "call refused: the client's identity is not allowed here"
                );
                let seen = if identities.is_empty() {
                    "a certificate naming no DNS or URI identity".to_owned()
                } else {
                    format!("the identity {}", identities.join(", "))
                };
                let refused = Status::permission_denied(format!(
                    "this listener does not serve {seen}; its allowed clients are configured \
                     on the server (INTERNAL_ALLOWED_CLIENTS)"
                ));
                return Box::pin(async move { Ok(refused.into_http()) });
            }
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn some_settings_without_the_others_name_what_is_missing() {
        let args = MutualTlsArgs {
            internal_tls_cert: Some("/x/cert.pem".into()),
            internal_tls_key: Some("".into()),
            internal_ca: None,
        };
        let error = args.load().unwrap_err().to_string();
        assert!(
            error.contains("INTERNAL_TLS_KEY and INTERNAL_CA not set"),
            "{error}"
        );
        assert!(MutualTlsArgs::default().load().unwrap().is_none());
    }

    #[test]
    fn unreadable_files_are_named() {
        let args = MutualTlsArgs {
            internal_tls_cert: Some("/nonexistent/cert.pem".into()),
            internal_tls_key: Some("/nonexistent/key.pem".into()),
            internal_ca: Some("/nonexistent/ca.pem".into()),
        };
        let error = args.load().unwrap_err().chain();
        assert!(
            error.contains("INTERNAL_TLS_CERT: cannot read /nonexistent/cert.pem"),
            "{error}"
        );
    }

    #[test]
    fn only_listed_identities_are_allowed() {
        assert!(AllowedClients::new(&[" ".into(), String::new()]).is_none());
        let allowed = AllowedClients::new(&["tasks".into(), " spiffe://todo/tasks ".into()])
            .expect("two names");
        assert!(allowed.allows(&["other".into(), "tasks".into()]));
        assert!(allowed.allows(&["spiffe://todo/tasks".into()]));
        assert!(!allowed.allows(&["task".into()]));
        assert!(!allowed.allows(&[]));
    }
}
