//! `upstream` against real replicas: gRPC servers on their own runtimes,
//! so "killing" one drops its sockets the way `kill -9` does.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_core::future::BoxFuture;
use http::{Request, Response};
use service_runtime::upstream::{Calls, Connections, Upstream};
use tonic::{Status, body::Body, server::NamedService, transport::Server};
use tonic_health::{ServingStatus, server::HealthReporter};

const PATH: &str = "/test.Echo/Call";
const IDEMPOTENT_PATH: &str = "/test.Echo/Read";
/// Answers with headers and then nothing, like a stream with no news yet.
const STREAM_PATH: &str = "/test.Echo/Stream";

/// Answers every call at once, trailers-only, with the code it is told to
/// and which replica it is; counts the calls it got.
#[derive(Clone)]
struct Echo {
    replica: usize,
    calls: Arc<AtomicUsize>,
    code: Arc<AtomicU32>,
}

impl NamedService for Echo {
    const NAME: &'static str = "test.Echo";
}

impl tower::Service<Request<Body>> for Echo {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if request.uri().path() == STREAM_PATH {
            let silent = http_body_util::StreamBody::new(tokio_stream::pending::<
                Result<http_body::Frame<Bytes>, Status>,
            >());
            let response = Response::builder()
                .header("content-type", "application/grpc")
                .body(Body::new(silent))
                .unwrap();
            return Box::pin(async move { Ok(response) });
        }
        let response = Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", self.code.load(Ordering::SeqCst).to_string())
            .header("x-replica", self.replica.to_string())
            .body(Body::empty())
            .unwrap();
        Box::pin(async move { Ok(response) })
    }
}

struct Replica {
    url: String,
    health: HealthReporter,
    calls: Arc<AtomicUsize>,
    code: Arc<AtomicU32>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Replica {
    /// A replica answering OK, SERVING.
    async fn start(replica: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let health = HealthReporter::new();
        health.set_service_status("", ServingStatus::Serving).await;
        let echo = Echo {
            replica,
            calls: Arc::default(),
            code: Arc::default(),
        };
        let (calls, code) = (Arc::clone(&echo.calls), Arc::clone(&echo.code));
        let health_service =
            tonic_health::server::HealthService::from_health_reporter(health.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            Server::builder()
                .add_service(tonic_health::pb::health_server::HealthServer::new(
                    health_service,
                ))
                .add_service(echo)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        Self {
            url: format!("http://{addr}"),
            health,
            calls,
            code,
            runtime: Some(runtime),
        }
    }

    async fn serving(&self, serving: bool) {
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.health.set_service_status("", status).await;
    }

    /// Every task and socket of the replica gone at once, as with `kill -9`.
    fn kill(&mut self) {
        self.runtime.take().unwrap().shutdown_background();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // A runtime may not be dropped (which waits) inside the test's own.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A URL where nothing listens.
fn nothing_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn upstream(urls: &[&str]) -> Upstream {
    let urls: Vec<String> = urls.iter().map(|url| (*url).to_owned()).collect();
    Upstream::new(
        "TEST_UPSTREAMS",
        &urls,
        "the test service",
        Calls {
            streaming: |_| false,
            idempotent: |path, _| path == IDEMPOTENT_PATH,
        },
        Connections {
            unary: 2,
            streams: 1,
        },
    )
    .unwrap()
}

/// A gRPC call to `path` with an empty message.
async fn send(upstream: &Upstream, path: &str) -> Result<Response<Body>, Status> {
    let (parts, ()) = Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap()
        .into_parts();
    upstream
        .call(parts, Bytes::from_static(&[0, 0, 0, 0, 0]))
        .await
}

/// Which replica answered a call to `path`, or the error.
async fn call(upstream: &Upstream, path: &str) -> Result<(usize, u32), Status> {
    let response = send(upstream, path).await?;
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {:?}", response.headers()))
    };
    Ok((header("x-replica") as usize, header("grpc-status")))
}

/// Waits until the replicas in the rotation are exactly `serving` (by URL).
async fn rotation_becomes(upstream: &Upstream, serving: &[&str]) {
    // The design says about a second; this waits up to ten before failing.
    for _ in 0..1000 {
        let now: Vec<String> = upstream
            .replica_states()
            .into_iter()
            .filter(|(_, serving)| *serving)
            .map(|(url, _)| url)
            .collect();
        if serving.iter().all(|url| now.iter().any(|seen| seen == url))
            && now.len() == serving.len()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the rotation never became {serving:?}: {:?}",
        upstream.replica_states()
    );
}

async fn answered_by(upstream: &Upstream, calls: usize) -> Vec<usize> {
    let mut replicas = Vec::new();
    for _ in 0..calls {
        replicas.push(call(upstream, PATH).await.expect("answered").0);
    }
    replicas.sort_unstable();
    replicas.dedup();
    replicas
}

#[tokio::test]
async fn a_replica_saying_not_serving_leaves_the_rotation_and_returns() {
    let (one, two) = (Replica::start(1).await, Replica::start(2).await);
    let upstream = upstream(&[&one.url, &two.url]);
    rotation_becomes(&upstream, &[&one.url, &two.url]).await;
    assert_eq!(
        answered_by(&upstream, 10).await,
        [1, 2],
        "calls go to both in turn"
    );

    two.serving(false).await;
    rotation_becomes(&upstream, &[&one.url]).await;
    assert_eq!(answered_by(&upstream, 10).await, [1]);

    two.serving(true).await;
    rotation_becomes(&upstream, &[&one.url, &two.url]).await;
    assert_eq!(answered_by(&upstream, 10).await, [1, 2]);
}

#[tokio::test]
async fn a_killed_replica_leaves_the_rotation_and_calls_go_on() {
    let (one, mut two) = (Replica::start(1).await, Replica::start(2).await);
    let upstream = upstream(&[&one.url, &two.url]);
    rotation_becomes(&upstream, &[&one.url, &two.url]).await;
    assert_eq!(answered_by(&upstream, 10).await, [1, 2]);

    two.kill();
    // Calls made at once may reach the dead replica's connections before the
    // client has noticed they are gone (the write goes out, a reset comes
    // back). A call that may run twice is sent again, so none fails.
    for _ in 0..20 {
        let (replica, code) = call(&upstream, IDEMPOTENT_PATH).await.expect("failed over");
        assert_eq!((replica, code), (1, 0));
    }
    rotation_becomes(&upstream, &[&one.url]).await;
    assert_eq!(answered_by(&upstream, 10).await, [1]);
}

#[tokio::test]
async fn with_no_replica_serving_calls_try_them_all_and_skip_the_unreachable() {
    let one = Replica::start(1).await;
    let dead = nothing_listening();
    let upstream = upstream(&[&dead, &one.url]);
    rotation_becomes(&upstream, &[&one.url]).await;
    one.serving(false).await;
    rotation_becomes(&upstream, &[]).await;

    // Not idempotent, yet retried: a refused connection means it never ran.
    for _ in 0..10 {
        assert_eq!(call(&upstream, PATH).await.unwrap(), (1, 0));
    }
    assert_eq!(one.calls.load(Ordering::SeqCst), 10);

    let nobody = upstream_of_nothing().await;
    let error = call(&nobody, PATH).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert_eq!(
        error.message(),
        "the test service is unavailable; retry shortly"
    );
}

async fn upstream_of_nothing() -> Upstream {
    upstream(&[&nothing_listening(), &nothing_listening()])
}

#[tokio::test]
async fn only_idempotent_calls_are_retried_after_unavailable() {
    let (one, two) = (Replica::start(1).await, Replica::start(2).await);
    one.code.store(14, Ordering::SeqCst);
    let upstream = upstream(&[&one.url, &two.url]);
    rotation_becomes(&upstream, &[&one.url, &two.url]).await;

    for _ in 0..10 {
        assert_eq!(call(&upstream, IDEMPOTENT_PATH).await.unwrap(), (2, 0));
    }
    let codes: Vec<u32> = {
        let mut codes = Vec::new();
        for _ in 0..10 {
            codes.push(call(&upstream, PATH).await.unwrap().1);
        }
        codes
    };
    assert_eq!(
        codes.iter().filter(|code| **code == 14).count(),
        5,
        "a call that may have run is answered as it was: {codes:?}"
    );
}

#[tokio::test]
async fn retries_are_paid_from_a_budget() {
    let replicas = [
        Replica::start(1).await,
        Replica::start(2).await,
        Replica::start(3).await,
    ];
    for replica in &replicas {
        replica.code.store(14, Ordering::SeqCst);
    }
    let urls: Vec<&str> = replicas
        .iter()
        .map(|replica| replica.url.as_str())
        .collect();
    let upstream = upstream(&urls);
    rotation_becomes(&upstream, &urls).await;

    const CALLS: usize = 500;
    for _ in 0..CALLS {
        assert_eq!(call(&upstream, IDEMPOTENT_PATH).await.unwrap().1, 14);
    }
    let attempts: usize = replicas
        .iter()
        .map(|replica| replica.calls.load(Ordering::SeqCst))
        .sum();
    let retries = attempts - CALLS;
    // Unbounded, each call would try all three (1,000 retries). The budget
    // allows 10 a second over 10 s (100) plus a fifth of the calls (100).
    assert!(
        (100..=220).contains(&retries),
        "{retries} retries for {CALLS} calls"
    );
}

#[tokio::test]
async fn an_answer_cut_off_by_a_dying_replica_ends_with_unavailable() {
    use http_body_util::BodyExt;
    let mut one = Replica::start(1).await;
    let upstream = upstream(&[&one.url]);
    rotation_becomes(&upstream, &[&one.url]).await;
    let mut body = send(&upstream, STREAM_PATH).await.unwrap().into_body();

    one.kill();
    let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the cut-off answer ended")
        .expect("a last frame")
        .expect("trailers, not a transport error");
    let trailers = frame.into_trailers().expect("trailers");
    assert_eq!(trailers["grpc-status"], "14", "{trailers:?}");
    assert!(body.frame().await.is_none(), "nothing after the trailers");
}
