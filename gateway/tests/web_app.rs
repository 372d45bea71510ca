//! The web app is part of the gateway binary: started from a directory with
//! no `web/` in it, the gateway still serves the app, cached and compressed
//! as a browser wants it and under a strict Content-Security-Policy, while
//! gRPC and grpc-web keep answering on the same port, uncompressed.
//!
//! One test in this file: it changes the process's working directory.

use std::{net::SocketAddr, path::Path};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// An HTTP/1.1 answer, its body de-chunked (but not decompressed).
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request on a fresh connection and reads the whole answer.
async fn exchange(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("the gateway accepts");
    let request = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("an HTTP answer has a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|window| window == b"\r\n")
            .expect("a chunk size line");
        let size_line = String::from_utf8_lossy(&raw[..end]).into_owned();
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
            .expect("a hex chunk size");
        raw = &raw[end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

async fn get(addr: SocketAddr, path: &str, headers: &str) -> Answer {
    let head = if headers.is_empty() {
        format!("GET {path} HTTP/1.1")
    } else {
        format!("GET {path} HTTP/1.1\r\n{headers}")
    };
    exchange(addr, &head, b"").await
}

fn assert_secured(answer: &Answer, what: &str) {
    let policy = answer
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{what}: the policy lacks {directive}: {policy}"
        );
    }
    assert!(
        !policy.contains("unsafe"),
        "{what}: nothing unsafe is allowed: {policy}"
    );
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        answer.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{what}");
}

#[tokio::test]
async fn the_gateway_serves_its_built_in_app_from_any_directory_cached_compressed_and_locked_down()
{
    let elsewhere = tempfile::TempDir::new().unwrap();
    std::env::set_current_dir(elsewhere.path()).unwrap();
    assert!(!Path::new("web").exists());

    // Upstreams that are not there: the web app and the gateway's own answers need none.
    let mut config: gateway::Config = service_runtime::config::defaults();
    config.auth_upstreams = vec!["http://127.0.0.1:9".into()];
    config.task_upstreams = vec!["http://127.0.0.1:9".into()];
    assert_eq!(
        config.front.web_dir,
        Path::new(""),
        "by default the built-in app"
    );
    let gateway = testkit::Running::spawn(testkit::listener().await, |listener, stopped| {
        gateway::serve(config, listener, async {
            let _ = stopped.await;
        })
    });
    let addr = gateway.addr;

    // The app's page: revalidated on every load, no inline script.
    let page = get(addr, "/", "Accept: text/html").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_secured(&page, "/");
    let html = page.text();
    assert!(html.contains(r#"<main id="app">"#), "{html}");
    assert!(html.contains(r#"rel="icon" href="/favicon.svg""#), "{html}");
    assert!(html.contains(r#"name="theme-color""#), "{html}");
    assert!(
        html.matches("<script").count()
            == html
                .matches("<script type=\"module\" crossorigin src=\"/assets/")
                .count(),
        "every script is a file of the app's own: {html}"
    );
    assert!(!html.contains("<style"), "no inline style: {html}");

    // Revalidation costs a 304.
    let etag = page.header("etag").expect("an ETag").to_owned();
    let again = get(addr, "/", &format!("If-None-Match: {etag}")).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    // Its script, named after its content: cached for a year, compressed as asked.
    let script = html
        .split('"')
        .find(|part| part.starts_with("/assets/app-") && part.ends_with(".js"))
        .unwrap_or_else(|| panic!("no content-hashed /assets/app-*.js in {html}"))
        .to_owned();
    let plain = get(addr, &script, "").await;
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        plain.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(plain.header("content-encoding"), None);
    assert_secured(&plain, &script);
    for (accepted, encoding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let packed = get(addr, &script, &format!("Accept-Encoding: {accepted}")).await;
        assert_eq!(packed.status, 200);
        assert_eq!(
            packed.header("content-encoding"),
            Some(encoding),
            "{accepted}"
        );
        assert!(
            packed
                .header("vary")
                .is_some_and(|vary| vary.to_lowercase().contains("accept-encoding"))
        );
        assert!(
            packed.body.len() * 2 < plain.body.len(),
            "{encoding}: {} of {} bytes",
            packed.body.len(),
            plain.body.len()
        );
    }

    // The icon is there; what is not there is a 404, not the app's page.
    let icon = get(addr, "/favicon.svg", "").await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
    let missing = get(addr, "/favicon.ico", "Accept: image/*").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_secured(&missing, "/favicon.ico");
    let lost = get(addr, "/some/where", "Accept: text/html").await;
    assert_eq!(lost.status, 404);
    assert!(lost.text().contains("Nothing here"), "{}", lost.text());
    assert!(!lost.text().contains(r#"<main id="app">"#));
    let posted = exchange(addr, "POST / HTTP/1.1\r\nContent-Type: text/plain", b"hi").await;
    assert_eq!(posted.status, 405);
    assert_eq!(posted.header("allow"), Some("GET, HEAD"));

    // grpc-web on the same port: answered in its own framing, never compressed.
    let grpc_web = |path: &str| {
        let head = format!(
            "POST {path} HTTP/1.1\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nAccept-Encoding: gzip, br"
        );
        async move { exchange(addr, &head, &[0, 0, 0, 0, 0]).await }
    };
    for (path, code) in [
        // Forwarded to an auth service that is not there.
        ("/todo.auth.v1.AuthService/Login", "14"),
        // Internal: never reachable from outside.
        ("/todo.auth.v1.TokenService/ValidateToken", "12"),
    ] {
        let answer = grpc_web(path).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        assert!(
            answer
                .header("content-type")
                .is_some_and(|kind| kind.starts_with("application/grpc-web")),
            "{path}: {answer:?}"
        );
        assert_eq!(answer.header("content-encoding"), None, "{path}");
        let status = answer.header("grpc-status").map(str::to_owned).or_else(|| {
            let trailer = answer.text();
            trailer.split("grpc-status:").nth(1).map(|rest| {
                rest.trim_start()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect()
            })
        });
        assert_eq!(status.as_deref(), Some(code), "{path}: {answer:?}");
    }

    // Native gRPC on the same port.
    HealthClient::new(testkit::channel(addr))
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the gateway's own health answers over HTTP/2");

    gateway.stop().await;
}
