//! Forwarding of gRPC calls to an upstream service's replicas, without
//! decoding the messages: a request (one message in every RPC here) is read
//! whole, within the size limit and the deadline, so it can be sent again to
//! another replica (`service_runtime::upstream` balances, fails over and
//! retries); answers stream through as they are, so server streaming
//! (WatchTasks) passes and the gateway stays cheap. What may be retried
//! after it could have run is decided here, by method.

use std::{
    convert::Infallible,
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use http::{HeaderName, Request, Response, header};
use http_body_util::BodyExt;
use service_runtime::{
    StartError,
    client_address::TrustedProxies,
    upstream::{Calls, Connections, Upstream},
};
use tonic::{Status, body::Body};
use tower::Service;

/// Headers that belong to one hop; HTTP/2 upstreams refuse most of them.
/// `content-length` goes too: grpc-web-text bodies shrink when tonic-web
/// decodes them, and HTTP/2 frames carry their own lengths.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
    HeaderName::from_static("keep-alive"),
];

const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// One upstream service, as the gateway forwards to it.
#[derive(Clone, Debug)]
pub(crate) struct Forward {
    upstream: Upstream,
    name: &'static str,
    call_timeout: Duration,
    max_request_bytes: usize,
    trusted_proxies: TrustedProxies,
}

impl Forward {
    pub fn new(
        upstream: Upstream,
        name: &'static str,
        call_timeout: Duration,
        max_request_bytes: usize,
        trusted_proxies: TrustedProxies,
    ) -> Self {
        Self {
            upstream,
            name,
            call_timeout,
            max_request_bytes,
            trusted_proxies,
        }
    }
}

/// Server-streaming methods: they live as long as the client wants, so the
/// per-call deadline does not apply to them, and they get connections of their own.
fn is_streaming(path: &str) -> bool {
    path.ends_with("/WatchTasks")
}

/// Calls that may run twice without harm: reads, and a CreateTask that
/// carries a `request_id` (the task service answers a repeat with the task
/// the first one made). Anything else that may have run is not retried.
fn is_idempotent(path: &str, body: &[u8]) -> bool {
    use proto::{auth::v1::auth_service_server, task::v1::task_service_server};
    let Some((service, method)) = path.trim_start_matches('/').split_once('/') else {
        return false;
    };
    match (service, method) {
        (task_service_server::SERVICE_NAME, "GetTask" | "ListTasks" | "WatchTasks") => true,
        (auth_service_server::SERVICE_NAME, "GetCurrentUser") => true,
        (task_service_server::SERVICE_NAME, "CreateTask") => carries_request_id(body),
        _ => false,
    }
}

/// Whether an encoded CreateTask request (one uncompressed gRPC message)
/// names a `request_id`; a compressed or unreadable one counts as not.
fn carries_request_id(body: &[u8]) -> bool {
    use prost::Message;
    let Some((&[0, ..], message)) = body.split_at_checked(5) else {
        return false;
    };
    proto::task::v1::CreateTaskRequest::decode(message)
        .is_ok_and(|request| !request.request_id.is_empty())
}

/// The upstream of `name` ("the task service") over the replicas `urls`,
/// named by the setting `setting`.
pub(crate) fn upstream(
    setting: &str,
    urls: &[String],
    name: &'static str,
    connections: Connections,
) -> Result<Upstream, StartError> {
    Upstream::new(
        setting,
        urls,
        name,
        Calls {
            streaming: is_streaming,
            idempotent: is_idempotent,
        },
        connections,
    )
}

impl<B> Service<Request<B>> for Forward
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let forward = self.clone();
        Box::pin(async move {
            Ok(forward
                .forward(request)
                .await
                .unwrap_or_else(Status::into_http))
        })
    }
}

impl Forward {
    async fn forward<B>(self, request: Request<B>) -> Result<Response<Body>, Status>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let client = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr());
        let streaming = is_streaming(request.uri().path());
        let (mut parts, body) = request.into_parts();
        for name in &HOP_BY_HOP {
            parts.headers.remove(name);
        }
        // What a client claims about itself is not passed on: only a trusted
        // proxy's `x-forwarded-for` survives, so the services' throttles and
        // logs see the real address. (The server replaced an untrusted
        // `x-request-id` before the call got here.)
        match client {
            Some(client) => {
                let forwarded = self
                    .trusted_proxies
                    .forwarded_for(client.ip(), &parts.headers);
                parts.headers.insert(FORWARDED_FOR, forwarded);
            }
            None => {
                parts.headers.remove(FORWARDED_FOR);
            }
        }
        // The whole request (one message in every RPC here) is read first,
        // up to the limit, so it can go to another replica if the first
        // cannot take it. The deadline covers the reading, streams' too: a
        // client that trickles its request cannot hold a call open forever.
        let deadline = tokio::time::Instant::now() + self.call_timeout;
        let too_slow =
            |_| Status::deadline_exceeded(format!("{} did not answer in time", self.name));
        let limited = http_body_util::Limited::new(body, self.max_request_bytes);
        let body = tokio::time::timeout_at(deadline, limited.collect())
            .await
            .map_err(too_slow)?
            .map_err(|error| {
                if error.is::<http_body_util::LengthLimitError>() {
                    Status::resource_exhausted(format!(
                        "request is larger than the gateway's limit of {} bytes",
                        self.max_request_bytes
                    ))
                } else {
                    Status::cancelled("the request was not received whole")
                }
            })?
            .to_bytes();
        let call = self.upstream.call(parts, body);
        let mut response = if streaming {
            call.await?
        } else {
            tokio::time::timeout_at(deadline, call)
                .await
                .map_err(too_slow)??
        };
        // An upstream that refused to decode the request answers in
        // tonic's codes; clients get the contract's.
        service_runtime::limits::contract_status(response.headers_mut());
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn framed(message: &impl Message) -> Vec<u8> {
        let encoded = message.encode_to_vec();
        let mut body = vec![0];
        body.extend_from_slice(&u32::try_from(encoded.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&encoded);
        body
    }

    #[test]
    fn only_calls_that_may_run_twice_are_idempotent() {
        use proto::task::v1::CreateTaskRequest;
        let create = "/todo.task.v1.TaskService/CreateTask";
        let with_id = framed(&CreateTaskRequest {
            request_id: "r-1".into(),
            ..Default::default()
        });
        let without_id = framed(&CreateTaskRequest::default());
        assert!(is_idempotent(create, &with_id));
        assert!(!is_idempotent(create, &without_id));
        let mut compressed = with_id.clone();
        compressed[0] = 1;
        assert!(
            !is_idempotent(create, &compressed),
            "compressed: unread, so not retried"
        );
        assert!(!is_idempotent(create, &with_id[..3]), "truncated");
        for read in [
            "/todo.task.v1.TaskService/GetTask",
            "/todo.task.v1.TaskService/ListTasks",
            "/todo.auth.v1.AuthService/GetCurrentUser",
        ] {
            assert!(is_idempotent(read, &[]), "{read}");
        }
        for write in [
            "/todo.task.v1.TaskService/UpdateTask",
            "/todo.task.v1.TaskService/DeleteTask",
            "/todo.auth.v1.AuthService/Login",
            "/todo.auth.v1.AuthService/RefreshToken",
            "/todo.auth.v1.AuthService/SignUp",
            "/elsewhere.Service/GetTask",
            "no-slash",
        ] {
            assert!(!is_idempotent(write, &with_id), "{write}");
        }
    }
}
