//! The web app's static files at `/`, or a page that says how to get them
//! when the configured directory has no build in it.

use std::{convert::Infallible, path::Path};

use axum::{
    body::Body as AxumBody,
    response::{Html, IntoResponse},
};
use http::{Request, Response, header};
use proto::{auth::v1::auth_service_server, task::v1::task_service_server};
use tonic::Status;
use tonic_web::GrpcWebLayer;
use tower::{Layer, ServiceExt, service_fn, util::BoxCloneSyncService};
use tower_http::services::{ServeDir, ServeFile};

/// The service behind every request no route took.
pub type Fallback = BoxCloneSyncService<Request<AxumBody>, Response<AxumBody>, Infallible>;

const MISSING: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>todo gateway</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The gateway is running</h1>
<p>gRPC and grpc-web answer on this port (try <code>grpcurl -plaintext localhost:8080 list</code>),
but no built web app was found in the configured <code>WEB_DIR</code>.</p>
<p>Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, or point
<code>WEB_DIR</code> at a directory holding <code>index.html</code>.</p>
</body></html>"#;

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
/// the web app in `web_dir` (unknown paths get `index.html`, for client-side
/// routes).
pub fn fallback(web_dir: &Path) -> Fallback {
    let index = web_dir.join("index.html");
    let files = index
        .is_file()
        .then(|| ServeDir::new(web_dir).fallback(ServeFile::new(index)));
    if files.is_none() {
        tracing::warn!(web_dir = %web_dir.display(), "no built web app found; `/` explains how to build it");
    }
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
            match files {
                Some(files) => Ok(files.oneshot(request).await.map_or_else(
                    |error: Infallible| match error {},
                    IntoResponse::into_response,
                )),
                None => Ok(Html(MISSING).into_response()),
            }
        }
    }))
}
