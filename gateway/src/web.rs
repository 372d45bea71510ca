//! The web app at `/`: the files of `web/dist`, built into the binary so the
//! gateway serves the app from any working directory and in any container
//! (`WEB_DIR` names a directory to serve instead, read at start-up).
//!
//! Vite names every asset after its content, so `/assets/*` is cached for a
//! year as immutable, and `index.html` (the one file that names them) is
//! revalidated on every load; a deploy is seen at the next reload. Files are
//! compressed (brotli or gzip) for clients that take it; gRPC and grpc-web
//! never pass through here, so their streams are never buffered by it. Every
//! answer carries a strict Content-Security-Policy: scripts and styles only
//! from the app's own files, calls only to its own origin, never framed.
//! Only `/` and the files that exist are served; any other path is a 404,
//! since the app's screens live in the URL's hash.

use std::{
    collections::HashMap,
    convert::Infallible,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{body::Body as AxumBody, response::IntoResponse};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use include_dir::{Dir, include_dir};
use proto::{auth::v1::auth_service_server, task::v1::task_service_server};
use service_runtime::StartError;
use tonic::Status;
use tonic_web::GrpcWebLayer;
use tower::{Layer, ServiceExt, service_fn, util::BoxCloneSyncService};
use tower_http::compression::CompressionLayer;

/// The service behind every request no route took.
pub type Fallback = BoxCloneSyncService<Request<AxumBody>, Response<AxumBody>, Infallible>;

/// The app as `npm run build` left it when this binary was compiled
/// (`build.rs` recompiles the gateway whenever `web/dist` changes).
static BUILT_IN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../web/dist");

/// Where scripts, styles and calls may come from: the app's own origin only.
/// No inline script or style is allowed, so injected markup cannot run code
/// or read the tokens the app keeps; `frame-ancestors` stops clickjacking.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Hashed, so a changed file has a new name: cache it for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Names the current assets (or keeps a stable name): ask every time, cheaply with the ETag.
const REVALIDATE: &str = "no-cache";

const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Not found · Todo</title></head>\
    <body><main><h1>Nothing here</h1><p><a href=\"/\">Go to your tasks</a></p></main></body></html>\n";

/// One file of the app, ready to send.
#[derive(Debug)]
struct File {
    body: Bytes,
    content_type: HeaderValue,
    cache_control: HeaderValue,
    etag: HeaderValue,
}

/// The app's files by URL path (`/`, `/assets/app-1a2b3c.js`).
#[derive(Clone, Debug)]
pub struct WebApp {
    files: Arc<HashMap<String, File>>,
}

impl WebApp {
    /// The files of `web_dir` when it is set and holds an `index.html`,
    /// otherwise the app built into the binary.
    pub fn load(web_dir: &Path) -> Result<Self, StartError> {
        let mut found = Vec::new();
        if web_dir.as_os_str().is_empty() {
            embedded(&BUILT_IN, &mut found);
        } else if web_dir.join("index.html").is_file() {
            from_directory(web_dir, web_dir, &mut found).map_err(|error| {
                StartError::other(format!("WEB_DIR: cannot read {}", web_dir.display()), error)
            })?;
            tracing::info!(web_dir = %web_dir.display(), "serving the web app from WEB_DIR");
        } else {
            tracing::warn!(web_dir = %web_dir.display(), "WEB_DIR holds no index.html; serving the app built into the binary");
            embedded(&BUILT_IN, &mut found);
        }
        let files = found
            .into_iter()
            .map(|(path, body)| (url_path(&path), file(&path, body)))
            .collect();
        Ok(Self {
            files: Arc::new(files),
        })
    }

    /// The answer to a GET or HEAD of `path`.
    fn respond(&self, method: &Method, path: &str, request: &HeaderMap) -> Response<AxumBody> {
        let Some(file) = self.files.get(path) else {
            return not_found(request);
        };
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|tags| tags.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',')
                    .any(|tag| tag.trim() == "*" || tag.trim().as_bytes() == file.etag.as_bytes())
            });
        let mut response = if fresh {
            with_status(StatusCode::NOT_MODIFIED, AxumBody::empty())
        } else if method == Method::HEAD {
            let mut response = with_status(StatusCode::OK, AxumBody::empty());
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(file.body.len()));
            response
        } else {
            with_status(StatusCode::OK, AxumBody::from(file.body.clone()))
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, file.content_type.clone());
        headers.insert(header::CACHE_CONTROL, file.cache_control.clone());
        headers.insert(header::ETAG, file.etag.clone());
        response
    }
}

/// Every file under `dir`, with its path inside the app.
fn embedded(dir: &'static Dir<'static>, found: &mut Vec<(String, Bytes)>) {
    for file in dir.files() {
        found.push((
            file.path().to_string_lossy().replace('\\', "/"),
            Bytes::from_static(file.contents()),
        ));
    }
    for inner in dir.dirs() {
        embedded(inner, found);
    }
}

fn from_directory(
    root: &Path,
    dir: &Path,
    found: &mut Vec<(String, Bytes)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        if path.is_dir() {
            from_directory(root, &path, found)?;
        } else if let Ok(inside) = path.strip_prefix(root) {
            let name = inside.to_string_lossy().replace('\\', "/");
            found.push((name, Bytes::from(std::fs::read(&path)?)));
        }
    }
    Ok(())
}

/// The URL path a file answers at; `index.html` is the app's address, `/`.
fn url_path(file: &str) -> String {
    if file == "index.html" {
        "/".to_owned()
    } else {
        format!("/{file}")
    }
}

fn file(path: &str, body: Bytes) -> File {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    let content_type = match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    };
    let cache_control = if path.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    File {
        // Weak: the same file is sent compressed or not.
        etag: HeaderValue::try_from(format!("W/\"{:016x}\"", fnv1a(&body)))
            .expect("a hex ETag is a valid header value"),
        body,
        content_type: HeaderValue::from_static(content_type),
        cache_control: HeaderValue::from_static(cache_control),
    }
}

/// FNV-1a, 64 bits: a stable content hash for ETags, the same on every replica and restart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn with_status(status: StatusCode, body: AxumBody) -> Response<AxumBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// A page for browsers that asked for one, a line for anything else.
fn not_found(request: &HeaderMap) -> Response<AxumBody> {
    let wants_html = request
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let (content_type, body) = if wants_html {
        ("text/html; charset=utf-8", NOT_FOUND_PAGE)
    } else {
        ("text/plain; charset=utf-8", "not found\n")
    };
    let mut response = with_status(StatusCode::NOT_FOUND, AxumBody::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    response
}

/// The headers every answer of the web app carries.
fn secure(mut response: Response<AxumBody>) -> Response<AxumBody> {
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    response
}

fn is_grpc(request: &Request<AxumBody>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

async fn unimplemented(
    request: Request<tonic::body::Body>,
) -> Result<Response<tonic::body::Body>, Infallible> {
    let status = Status::unimplemented(format!(
        "{} is not served here; the public services are {} and {}",
        request.uri().path(),
        auth_service_server::SERVICE_NAME,
        task_service_server::SERVICE_NAME,
    ));
    Ok(status.into_http())
}

/// Every request no route took: gRPC ones get UNIMPLEMENTED (internal
/// services such as TokenService are never reachable from outside), the rest
/// the web app's files, compressed when the client takes it.
pub fn fallback(app: WebApp) -> Fallback {
    let files = CompressionLayer::new().layer(service_fn(move |request: Request<AxumBody>| {
        let app = app.clone();
        async move {
            let response = match *request.method() {
                Method::GET | Method::HEAD => {
                    app.respond(request.method(), request.uri().path(), request.headers())
                }
                _ => {
                    let mut response =
                        with_status(StatusCode::METHOD_NOT_ALLOWED, AxumBody::empty());
                    response
                        .headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                    response
                }
            };
            Ok::<_, Infallible>(secure(response))
        }
    }));
    BoxCloneSyncService::new(service_fn(move |request: Request<AxumBody>| {
        let files = files.clone();
        async move {
            if is_grpc(&request) {
                // Through tonic-web, so grpc-web clients get the status in their own framing.
                let response = GrpcWebLayer::new()
                    .layer(service_fn(unimplemented))
                    .oneshot(request)
                    .await?;
                return Ok(response.into_response());
            }
            let response = files.oneshot(request).await?;
            Ok(response.map(AxumBody::new))
        }
    }))
}
