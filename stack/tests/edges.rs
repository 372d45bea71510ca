//! The gateway's edges: CORS, refusing internal RPCs (TokenService,
//! AccountEventService), reflection of the public API only, base64
//! grpc-web-text, the request size limit, request ids and the page at `/`.

mod support;

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use prost::Message;
use proto::auth::v1::{
    SignUpRequest, SignUpResponse, ValidateTokenRequest, WatchAccountEventsRequest,
    account_event_service_client::AccountEventServiceClient,
    token_service_client::TokenServiceClient,
};
use support::Stack;
use tonic::Code;

async fn raw(request: Request<Full<Bytes>>) -> http::Response<Bytes> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

fn preflight(stack: &Stack, origin: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{}/todo.auth.v1.AuthService/Login", stack.url()))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web,x-user-agent,grpc-timeout",
        )
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn cors_grants_configured_origins_only() {
    let stack = Stack::start().await;
    let allowed = raw(preflight(&stack, "https://app.example.com")).await;
    assert!(allowed.status().is_success());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allow_headers = headers["access-control-allow-headers"].to_str().unwrap();
    for header in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
    ] {
        assert!(
            allow_headers.contains(header),
            "{header} not allowed: {allow_headers}"
        );
    }
    assert!(
        headers.contains_key("access-control-max-age"),
        "preflight is not cacheable"
    );

    let own = raw(preflight(
        &stack,
        &format!("http://localhost:{}", stack.gateway.addr.port()),
    ))
    .await;
    assert!(
        own.headers().contains_key("access-control-allow-origin"),
        "the gateway's own origin is refused"
    );

    let refused = raw(preflight(&stack, "https://evil.example.com")).await;
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

/// A grpc-web-text (base64) SignUp, as some browser clients send it.
fn grpc_web_text(
    stack: &Stack,
    path: &str,
    message: &impl Message,
    origin: Option<&str>,
) -> Request<Full<Bytes>> {
    let payload = message.encode_to_vec();
    let mut frame = vec![0_u8];
    frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&payload);
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("{}{path}", stack.url()))
        .header("content-type", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text")
        .header("x-grpc-web", "1");
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request
        .body(Full::new(Bytes::from(STANDARD.encode(frame))))
        .unwrap()
}

/// Decodes a grpc-web-text body: base64 chunks, each padded on its own, so
/// each 4-character group is decoded separately.
fn decode_text(body: &[u8]) -> Vec<u8> {
    body.chunks(4)
        .flat_map(|group| STANDARD.decode(group).unwrap())
        .collect()
}

/// The gRPC status of a grpc-web-text response: in the headers (trailers-only)
/// or in the trailer frame of the body.
fn grpc_web_status(response: &http::Response<Bytes>) -> Option<String> {
    let in_headers = response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok());
    let (_, trailers) = frames(&decode_text(response.body()));
    let in_body = trailers
        .lines()
        .find_map(|line| line.trim().strip_prefix("grpc-status:"))
        .map(|status| status.trim().to_owned());
    in_headers.map(str::to_owned).or(in_body)
}

/// Splits a decoded grpc-web response body into its message and trailer frames.
fn frames(body: &[u8]) -> (Vec<Vec<u8>>, String) {
    let mut messages = Vec::new();
    let mut trailers = String::new();
    let mut rest = body;
    while rest.len() >= 5 {
        let length =
            usize::try_from(u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]])).unwrap();
        let data = rest[5..5 + length].to_vec();
        if rest[0] & 0x80 == 0 {
            messages.push(data);
        } else {
            trailers.push_str(&String::from_utf8(data).unwrap());
        }
        rest = &rest[5 + length..];
    }
    (messages, trailers)
}

#[tokio::test]
async fn grpc_web_text_works_with_a_raw_http1_request() {
    let stack = Stack::start().await;
    let request = SignUpRequest {
        email: "text@example.com".into(),
        password: support::PASSWORD.into(),
    };
    let response = raw(grpc_web_text(
        &stack,
        "/todo.auth.v1.AuthService/SignUp",
        &request,
        Some("https://app.example.com"),
    ))
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/grpc-web-text")
    );
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let expose = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(
        expose.contains("grpc-status") && expose.contains("grpc-message"),
        "{expose}"
    );
    let body = decode_text(response.body());
    let (messages, trailers) = frames(&body);
    assert!(trailers.contains("grpc-status:0"), "{trailers:?}");
    let created = SignUpResponse::decode(messages[0].as_slice()).unwrap();
    assert_eq!(created.user.unwrap().email, "text@example.com");
}

#[tokio::test]
async fn the_internal_token_service_is_unimplemented_from_outside() {
    let stack = Stack::start().await;
    let mut native = TokenServiceClient::new(stack.grpc());
    let error = native
        .validate_token(ValidateTokenRequest {
            access_token: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unimplemented);

    let response = raw(grpc_web_text(
        &stack,
        "/todo.auth.v1.TokenService/ValidateToken",
        &ValidateTokenRequest {
            access_token: "x".into(),
        },
        None,
    ))
    .await;
    assert_eq!(
        grpc_web_status(&response).as_deref(),
        Some("12"),
        "UNIMPLEMENTED over grpc-web"
    );
}

#[tokio::test]
async fn the_internal_account_event_service_is_unimplemented_from_outside() {
    let stack = Stack::start().await;
    let mut native = AccountEventServiceClient::new(stack.grpc());
    let error = native
        .watch_account_events(WatchAccountEventsRequest { after: 0 })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unimplemented);

    let response = raw(grpc_web_text(
        &stack,
        "/todo.auth.v1.AccountEventService/WatchAccountEvents",
        &WatchAccountEventsRequest { after: 0 },
        None,
    ))
    .await;
    assert_eq!(
        grpc_web_status(&response).as_deref(),
        Some("12"),
        "UNIMPLEMENTED over grpc-web"
    );
}

#[tokio::test]
async fn reflection_lists_only_the_public_services() {
    let stack = Stack::start().await;
    let names = testkit::reflected_services(stack.grpc()).await;
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "todo.auth.v1.AuthService",
            "todo.task.v1.TaskService",
        ]
    );
    // grpcurl describes what it lists, and the error details it prints…
    for symbol in [
        "todo.auth.v1.AuthService",
        "todo.task.v1.TaskService",
        "todo.task.v1.ListTasksRequest",
        "google.rpc.BadRequest",
        "google.rpc.RetryInfo",
    ] {
        assert_eq!(
            testkit::reflection_describes(stack.grpc(), symbol).await,
            Ok(()),
            "{symbol}"
        );
    }
    // …but not the internal TokenService and AccountEventService, nor the
    // messages only they use.
    for symbol in [
        "todo.auth.v1.TokenService",
        "todo.auth.v1.ValidateTokenRequest",
        "todo.auth.v1.AccountEventService",
        "todo.auth.v1.WatchAccountEventsRequest",
        "todo.auth.v1.AccountEvent",
    ] {
        assert_eq!(
            testkit::reflection_describes(stack.grpc(), symbol).await,
            Err(tonic::Code::NotFound),
            "{symbol} is internal"
        );
    }
}

#[tokio::test]
async fn oversized_requests_are_refused() {
    let stack = Stack::start_with(|front| front.max_request_bytes = 16 * 1024).await;
    let request = SignUpRequest {
        email: "big@example.com".into(),
        password: "x".repeat(20 * 1024),
    };
    let response = raw(grpc_web_text(
        &stack,
        "/todo.auth.v1.AuthService/SignUp",
        &request,
        None,
    ))
    .await;
    assert_eq!(
        grpc_web_status(&response).as_deref(),
        Some("8"),
        "RESOURCE_EXHAUSTED over grpc-web"
    );
}

#[tokio::test]
async fn requests_get_an_id_of_ours_and_the_root_page_is_the_built_in_app() {
    let stack = Stack::start().await;
    let response = raw(Request::get(format!("{}/", stack.url()))
        .body(Full::default())
        .unwrap())
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let page = String::from_utf8(response.body().to_vec()).unwrap();
    // The app is built into the gateway: it is there whatever the working directory.
    assert!(page.contains("<script type=\"module\""), "{page}");
    // A client is not a trusted proxy: the id it picks is replaced by the gateway's own.
    let given = Request::get(format!("{}/", stack.url()))
        .header("x-request-id", "abc-123")
        .body(Full::default())
        .unwrap();
    let id = raw(given).await.headers()["x-request-id"].clone();
    assert_ne!(id, "abc-123");
    assert_eq!(id.len(), 36, "a UUID: {id:?}");
}
