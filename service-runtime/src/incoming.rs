//! Turns a bound listener into the connection stream a tonic server takes.

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::{Stream, StreamExt, wrappers::TcpListenerStream};

/// Accepted connections of `listener`, with Nagle's algorithm off: gRPC
/// writes small frames and waits for answers, which Nagle would delay.
pub fn incoming(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}
