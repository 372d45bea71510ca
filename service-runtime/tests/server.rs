//! The server's defences and its stop, attacked over real sockets: idle
//! connections from one address neither lock others out nor hold up a stop,
//! a silent connection is closed, a stop ends within its grace period, and
//! only a trusted proxy names the client and the request id.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use service_runtime::{GrpcServer, config::ServerArgs};
use tokio::{
    io::AsyncReadExt,
    net::{TcpListener, TcpSocket, TcpStream},
    sync::oneshot,
};
use tonic::{service::Routes, transport::Endpoint};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

fn args() -> ServerArgs {
    let mut args: ServerArgs = service_runtime::config::defaults::<Wrapper>().server;
    args.max_connections_per_address = 8;
    args.first_byte_timeout = Duration::from_millis(300);
    args.shutdown_grace = Duration::from_secs(2);
    args
}

/// `ServerArgs` needs a command around it to parse its defaults.
#[derive(clap::Parser)]
struct Wrapper {
    #[command(flatten)]
    server: ServerArgs,
}

/// A server with health and reflection only, and a way to stop it.
async fn start() -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    start_with(args()).await
}

async fn start_with(
    args: ServerArgs,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    start_named("test server", args).await
}

/// A server whose log lines and series say `name`.
async fn start_named(
    name: &'static str,
    args: ServerArgs,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = GrpcServer::new(name, &[], &[], &args);
    let running = tokio::spawn(async move {
        server
            .serve(listener, Routes::default(), async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (addr, stop, running)
}

/// A TCP connection to `addr` from the loopback address `from`.
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    socket.connect(addr).await.unwrap()
}

async fn healthy_from(from: &'static str, addr: SocketAddr) -> bool {
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    let channel = endpoint
        .connect_with_connector(tower::service_fn(move |_: http::Uri| async move {
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(connect_from(from, addr).await))
        }))
        .await;
    let Ok(channel) = channel else { return false };
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .is_ok()
}

/// The `x-request-id` a health check sent from `from` with the id `given` comes back with.
async fn request_id_seen_from(from: &str, addr: SocketAddr, given: &str) -> String {
    let channel = channel_from(from, addr);
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert("x-request-id", given.parse().unwrap());
    let response = HealthClient::new(channel).check(request).await.unwrap();
    response
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn only_a_trusted_proxy_chooses_the_request_id() {
    let mut args = args();
    args.trusted_proxies = "127.0.0.3/32".parse().unwrap();
    let (addr, stop, running) = start_with(args).await;
    assert_eq!(
        request_id_seen_from("127.0.0.3", addr, "from-the-proxy").await,
        "from-the-proxy"
    );
    let replaced = request_id_seen_from("127.0.0.2", addr, "chosen-by-a-stranger").await;
    assert_ne!(replaced, "chosen-by-a-stranger");
    assert!(
        uuid_like(&replaced),
        "a fresh id of the server's own: {replaced}"
    );
    stop.send(()).unwrap();
    running.await.unwrap();
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn idle_connections_from_one_address_do_not_lock_out_another() {
    let (addr, stop, running) = start().await;
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(connect_from("127.0.0.2", addr).await);
    }
    assert!(
        healthy_from("127.0.0.3", addr).await,
        "another address must still be served"
    );
    // Beyond the cap, or silent past the first-byte timeout, the idle ones are closed.
    for mut socket in idle {
        let mut byte = [0_u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "an idle connection stayed open: {read:?}"
        );
    }
    stop.send(()).unwrap();
    running.await.unwrap();
}

#[tokio::test]
async fn a_stop_ends_within_its_grace_period_whatever_clients_keep_open() {
    let (addr, stop, running) = start().await;
    assert!(healthy_from("127.0.0.4", addr).await);
    // A client that sends half a request and then nothing.
    let _stuck = connect_from("127.0.0.5", addr).await;
    let mut half = connect_from("127.0.0.6", addr).await;
    tokio::io::AsyncWriteExt::write_all(&mut half, b"PRI * HTTP/2.0\r\n")
        .await
        .unwrap();
    stop.send(()).unwrap();
    tokio::time::timeout(args().shutdown_grace + Duration::from_secs(5), running)
        .await
        .expect("the stop outlasted its grace period")
        .unwrap();
}

/// What is logged while `calls` runs. The subscriber is the process's global
/// one (a thread's own would miss events whose callsites another test's
/// thread cached as disabled), so other tests running meanwhile log into it
/// too: the test looks only for addresses no other test uses.
async fn logged_during(calls: impl Future<Output = ()>) -> String {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets one");
    calls.await;
    String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
}

/// A reflection call (logged at info level) from `from`, claiming `forwarded_for`.
async fn reflect_from(from: &str, addr: SocketAddr, forwarded_for: &str) {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest,
    };
    let channel = channel_from(from, addr);
    let question = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut request = tonic::Request::new(tokio_stream::iter([question]));
    request
        .metadata_mut()
        .insert("x-forwarded-for", forwarded_for.parse().unwrap());
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(request)
        .await
        .unwrap()
        .into_inner();
    while answers.message().await.unwrap().is_some() {}
}

#[tokio::test]
async fn calls_are_logged_with_the_resolved_client_address() {
    let mut args = args();
    args.trusted_proxies = "127.0.0.3/32".parse().unwrap();
    let (addr, stop, running) = start_named("logging server", args).await;
    let log = logged_during(async {
        reflect_from("127.0.0.3", addr, "203.0.113.7").await;
        reflect_from("127.0.0.2", addr, "6.6.6.6").await;
        stop.send(()).unwrap();
        running.await.unwrap();
    })
    .await;
    // The subscriber is the process's: other tests' servers log into it too.
    let log: String = log
        .lines()
        .filter(|line| line.contains(r#"server="logging server""#))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        log.contains("client=203.0.113.7"),
        "the proxy's client:\n{log}"
    );
    assert!(
        log.contains("client=127.0.0.2"),
        "the stranger itself:\n{log}"
    );
    assert!(
        !log.contains("6.6.6.6"),
        "a stranger's claim is not believed:\n{log}"
    );
    assert!(
        !log.contains("client=127.0.0.3"),
        "the proxy is not the client:\n{log}"
    );
}

/// The status of a reflection call from `from` (a gRPC call that is counted).
async fn reflection_code_from(channel: tonic::transport::Channel) -> tonic::Code {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest,
    };
    let question = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    match ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([question]))
        .await
    {
        Ok(_) => tonic::Code::Ok,
        Err(status) => {
            assert!(
                status
                    .message()
                    .contains("too many calls from your address"),
                "{status:?}"
            );
            status.code()
        }
    }
}

/// A lazily connecting channel to `addr` whose connections come from `from`.
fn channel_from(from: &str, addr: SocketAddr) -> tonic::transport::Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .local_address(Some(from.parse().unwrap()))
        .connect_lazy()
}

#[tokio::test]
async fn an_address_over_its_call_rate_is_refused_and_others_are_not() {
    // Only this test floods; the refusals it makes are counted.
    let refusals = || {
        service_runtime::metrics::recorder()
            .render()
            .lines()
            .find(|line| {
                line.starts_with("grpc_server_refused_total{")
                    && line.contains(r#"server="test server""#)
                    && line.contains(r#"reason="call_rate""#)
            })
            .and_then(|line| line.rsplit_once(' '))
            .map_or(0.0, |(_, value)| value.parse::<f64>().unwrap())
    };
    let before = refusals();
    let mut args = args();
    args.max_calls_per_second_per_address = 5;
    let (addr, stop, running) = start_with(args).await;
    let flooder = channel_from("127.0.0.2", addr);
    let mut refused = 0;
    for _ in 0..40 {
        if reflection_code_from(flooder.clone()).await == tonic::Code::ResourceExhausted {
            refused += 1;
        }
    }
    // A burst of 10 passes, and about 5 more per second after it.
    assert!(refused >= 20, "only {refused} of 40 calls were refused");
    assert_eq!(
        refusals() - before,
        f64::from(refused),
        "every refusal is counted"
    );
    assert_eq!(
        reflection_code_from(channel_from("127.0.0.3", addr)).await,
        tonic::Code::Ok,
        "another address has a budget of its own"
    );
    assert!(
        healthy_from("127.0.0.2", addr).await,
        "health checks are never limited"
    );
    stop.send(()).unwrap();
    running.await.unwrap();
}
