//! The connections a server takes, bounded against clients that hold
//! sockets open for nothing: each client address may keep only so many open
//! at once, and a connection that sends nothing within a short time is closed
//! before the server ever sees it (so it can neither tie up a slot in the
//! protocol layer nor hold up a graceful stop). Nagle's algorithm is off:
//! gRPC writes small frames and waits for answers, which Nagle would delay.

use std::{
    collections::HashMap,
    io,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Accepted connections waiting for the server to take them.
const READY_QUEUE: usize = 256;

/// Open connections by client address.
#[derive(Debug, Default)]
struct OpenCounts(Mutex<HashMap<IpAddr, usize>>);

impl OpenCounts {
    /// Counts one more connection from `ip`, unless it already has `max`.
    fn try_open(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<OpenSlot> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(OpenSlot {
            counts: Arc::clone(self),
            ip,
        })
    }
}

/// One connection's place in its address's count, given back on drop.
#[derive(Debug)]
struct OpenSlot {
    counts: Arc<OpenCounts>,
    ip: IpAddr,
}

impl Drop for OpenSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// A connection the server serves; it frees its address's slot when closed.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    _slot: OpenSlot,
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// How connections are bounded.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Open connections one client address may hold.
    pub per_address: usize,
    /// How long a new connection may stay silent before it is closed.
    pub first_byte: Duration,
}

/// The connections of `listener` within `bounds`, as the server's incoming
/// stream. Accepting runs on a task of its own that ends with the stream.
pub fn incoming(listener: TcpListener, bounds: Bounds) -> ReceiverStream<io::Result<Connection>> {
    let (ready, incoming) = mpsc::channel(READY_QUEUE);
    tokio::spawn(accept(listener, bounds, ready));
    ReceiverStream::new(incoming)
}

async fn accept(
    listener: TcpListener,
    bounds: Bounds,
    ready: mpsc::Sender<io::Result<Connection>>,
) {
    let counts = Arc::<OpenCounts>::default();
    loop {
        let accepted = tokio::select! {
            () = ready.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = counts.try_open(peer.ip(), bounds.per_address) else {
            tracing::debug!(client = %peer.ip(), "connection refused: too many open from this address");
            continue;
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot turn Nagle's algorithm off");
        }
        let ready = ready.clone();
        tokio::spawn(async move {
            // Only a connection that has something to say reaches the server
            // (peeking leaves the bytes for it; `readable` may wake falsely).
            let mut first = [0_u8; 1];
            match tokio::time::timeout(bounds.first_byte, stream.peek(&mut first)).await {
                Ok(Ok(0)) => {
                    tracing::debug!(client = %peer.ip(), "connection closed before its first byte")
                }
                Ok(Ok(_)) => {
                    let _ = ready
                        .send(Ok(Connection {
                            stream,
                            _slot: slot,
                        }))
                        .await;
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, "connection failed before its first byte")
                }
                Err(_) => {
                    tracing::debug!(client = %peer.ip(), "connection closed: silent too long")
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_slots_back_when_connections_close() {
        let counts = Arc::<OpenCounts>::default();
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        let first = counts.try_open(ip, 2).unwrap();
        let _second = counts.try_open(ip, 2).unwrap();
        assert!(counts.try_open(ip, 2).is_none());
        assert!(counts.try_open("127.0.0.3".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(counts.try_open(ip, 2).is_some());
    }
}
