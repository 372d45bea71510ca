//! The server's defences and its stop, attacked over real sockets: idle
//! connections from one address neither lock others out nor hold up a stop,
//! a silent connection is closed, and a stop ends within its grace period.

use std::{
    net::{IpAddr, SocketAddr},
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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = GrpcServer::new("test server", &[], &[], &args());
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
