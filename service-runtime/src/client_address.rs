//! Who is calling: the client's IP address, which logs and throttles key on.
//! A client can write any `x-forwarded-for` it likes, so the header is
//! believed only when the direct peer is a proxy we trust (`TRUSTED_PROXIES`);
//! otherwise the TCP peer address is the client. The gateway uses the same
//! rules to write the header it forwards.
//!
//! Every server resolves the address once, in `ClientAddressLayer`, before
//! anything logs or counts: the result travels with the request as a
//! `ClientAddress` extension, and an `x-request-id` from an untrusted peer is
//! dropped there, so the server makes its own.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    str::FromStr,
    task::{Context, Poll},
};

use http::{Extensions, HeaderMap, HeaderValue, Request};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

const FORWARDED_FOR: &str = "x-forwarded-for";
const REQUEST_ID: &str = "x-request-id";

/// The resolved address of a request's client, as a request extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// The client of a request that passed through `ClientAddressLayer`. One
    /// that did not (no TCP connection behind it) counts as `0.0.0.0`, so all
    /// such requests share one budget rather than escaping the limits.
    pub fn of(extensions: &Extensions) -> IpAddr {
        extensions.get::<Self>().map_or_else(
            || {
                tracing::warn!("a request without a client address; counted as 0.0.0.0");
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            },
            |client| client.0,
        )
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Resolves each request's `ClientAddress` and drops an `x-request-id` that
/// an untrusted peer sent.
#[derive(Clone, Debug)]
pub struct ClientAddressLayer {
    trusted: TrustedProxies,
}

impl ClientAddressLayer {
    pub fn new(trusted: TrustedProxies) -> Self {
        Self { trusted }
    }
}

impl<S> Layer<S> for ClientAddressLayer {
    type Service = ResolveClient<S>;

    fn layer(&self, inner: S) -> ResolveClient<S> {
        ResolveClient {
            inner,
            trusted: self.trusted.clone(),
        }
    }
}

/// The service `ClientAddressLayer` makes.
#[derive(Clone, Debug)]
pub struct ResolveClient<S> {
    inner: S,
    trusted: TrustedProxies,
}

impl<S, B> Service<Request<B>> for ResolveClient<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        // Over TLS, the TCP details are inside the TLS connection's.
        let extensions = request.extensions();
        let peer = extensions
            .get::<TcpConnectInfo>()
            .or_else(|| {
                extensions
                    .get::<TlsConnectInfo<TcpConnectInfo>>()
                    .map(TlsConnectInfo::get_ref)
            })
            .and_then(TcpConnectInfo::remote_addr);
        let client = peer.map(|peer| self.trusted.client(peer.ip(), request.headers()));
        if !peer.is_some_and(|peer| self.trusted.contains(peer.ip())) {
            request.headers_mut().remove(REQUEST_ID);
        }
        if let Some(client) = client {
            request.extensions_mut().insert(ClientAddress(client));
        }
        self.inner.call(request)
    }
}

/// An IP network such as `10.0.0.0/8`, `127.0.0.1/32` or `fd00::/8`; a bare
/// address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (address, prefix) = raw
            .split_once('/')
            .map_or((raw, None), |(a, p)| (a, Some(p)));
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("{raw:?} is not an IP address or CIDR (like 10.0.0.0/8)"))?
            .to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| format!("{raw:?}: the prefix length must be 0 to {bits}"))?,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// Whether `address` lies in this network.
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose `x-forwarded-for` is believed. Empty (the default):
/// nobody's, every client is its TCP peer.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn new(networks: impl IntoIterator<Item = Cidr>) -> Self {
        Self(networks.into_iter().collect())
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// The client of a request that came from `peer` with `headers`: the last
    /// `x-forwarded-for` entry when `peer` is trusted (the entry our proxy
    /// wrote; earlier ones are whatever the client claimed), else `peer`.
    /// A trusted peer that sends no usable header is itself the client.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        last_forwarded(headers).unwrap_or(peer)
    }

    /// The `x-forwarded-for` a proxy passes on for a request from `peer`:
    /// the client's list with `peer` appended when `peer` is trusted,
    /// otherwise `peer` alone, replacing whatever the client claimed.
    pub fn forwarded_for(&self, peer: IpAddr, headers: &HeaderMap) -> HeaderValue {
        let peer = peer.to_canonical();
        let earlier = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let value = if self.contains(peer) && !earlier.trim().is_empty() {
            format!("{earlier}, {peer}")
        } else {
            peer.to_string()
        };
        HeaderValue::from_str(&value).unwrap_or_else(|_| ip_header(peer))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated networks; an empty string trusts nobody.
    fn from_str(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .filter(|network| !network.trim().is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

fn ip_header(address: IpAddr) -> HeaderValue {
    HeaderValue::from_str(&address.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("0.0.0.0"))
}

/// The last entry of the last `x-forwarded-for` header, as a normalised address.
fn last_forwarded(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get_all(FORWARDED_FOR).iter().next_back()?;
    let entry = value.to_str().ok()?.rsplit(',').next()?.trim();
    parse_entry(entry).map(|address| address.to_canonical())
}

/// An address as proxies write it: `1.2.3.4`, `::1`, `[::1]`, `1.2.3.4:5678` or `[::1]:5678`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn gateway() -> TrustedProxies {
        "10.0.0.0/8, 127.0.0.1".parse().unwrap()
    }

    #[test]
    fn parses_networks_and_single_addresses() {
        let trusted = gateway();
        assert!(trusted.contains(ip("10.1.2.3")));
        assert!(trusted.contains(ip("127.0.0.1")));
        assert!(trusted.contains(ip("::ffff:127.0.0.1")), "IPv4-mapped IPv6");
        assert!(!trusted.contains(ip("127.0.0.2")));
        assert!(!trusted.contains(ip("11.0.0.1")));
        let v6: TrustedProxies = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        let everyone: TrustedProxies = "0.0.0.0/0".parse().unwrap();
        assert!(everyone.contains(ip("203.0.113.9")));
        assert!(
            !"".parse::<TrustedProxies>()
                .unwrap()
                .contains(ip("127.0.0.1"))
        );
        for bad in ["10.0.0.0/33", "fd00::/129", "localhost", "10.0.0.0/x"] {
            assert!(bad.parse::<TrustedProxies>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let client = gateway().client(ip("203.0.113.9"), &headers(&["198.51.100.1"]));
        assert_eq!(client, ip("203.0.113.9"));
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), &headers(&["1.2.3.4"])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_client_in_the_last_entry() {
        let trusted = gateway();
        let spoofed_then_real = headers(&["6.6.6.6, 198.51.100.7"]);
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &spoofed_then_real),
            ip("198.51.100.7")
        );
        let two_headers = headers(&["6.6.6.6", "198.51.100.8"]);
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &two_headers),
            ip("198.51.100.8")
        );
        for (entry, expected) in [
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::2]", "2001:db8::2"),
            ("198.51.100.9:1234", "198.51.100.9"),
            ("::ffff:198.51.100.10", "198.51.100.10"),
        ] {
            assert_eq!(
                trusted.client(ip("10.0.0.5"), &headers(&[entry])),
                ip(expected)
            );
        }
        // Garbage or nothing from a trusted peer: the peer itself.
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &headers(&["not an address"])),
            ip("10.0.0.5")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &HeaderMap::new()),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn a_proxy_replaces_untrusted_claims_and_appends_to_trusted_ones() {
        let trusted = gateway();
        let claimed = headers(&["6.6.6.6"]);
        assert_eq!(
            trusted.forwarded_for(ip("203.0.113.9"), &claimed),
            "203.0.113.9"
        );
        assert_eq!(
            trusted.forwarded_for(ip("10.0.0.2"), &claimed),
            "6.6.6.6, 10.0.0.2"
        );
        assert_eq!(
            trusted.forwarded_for(ip("10.0.0.2"), &HeaderMap::new()),
            "10.0.0.2"
        );
    }
}
