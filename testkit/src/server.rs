//! Servers in the test's process: one spawned on a listener the test bound
//! (so its port is known and connectable before it runs), stopped and awaited
//! on demand, and what a server lists through reflection.

use std::{future::Future, net::SocketAddr};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;
use tonic_reflection::pb::v1alpha::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

/// A server running on a task of its own until stopped.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<()>,
}

impl Running {
    /// Starts `serve` on `listener`, handing it a shutdown future. A server
    /// that fails panics its task, so the failure shows in the test's output.
    pub fn spawn<F, E>(
        listener: TcpListener,
        serve: impl FnOnce(TcpListener, oneshot::Receiver<()>) -> F,
    ) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (stop, stopped) = oneshot::channel();
        let future = serve(listener, stopped);
        let handle = tokio::spawn(async move {
            if let Err(error) = future.await {
                panic!("server on {addr} failed: {error}");
            }
        });
        Self {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    /// A lazily connecting channel to the server.
    pub fn channel(&self) -> Channel {
        channel(self.addr)
    }

    /// Asks the server to stop and waits until it has finished.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.handle).await;
    }
}

/// Asks the server's reflection (v1alpha, as grpcurl 1.8 asks) one question:
/// its answer, or the status the stream ended with instead.
async fn reflect(
    channel: Channel,
    question: MessageRequest,
) -> Result<MessageResponse, tonic::Status> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(question),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    Ok(responses
        .message()
        .await?
        .expect("a response")
        .message_response
        .expect("the response holds an answer"))
}

/// The sorted service names a server lists through reflection.
pub async fn reflected_services(channel: Channel) -> Vec<String> {
    let Ok(MessageResponse::ListServicesResponse(list)) =
        reflect(channel, MessageRequest::ListServices(String::new())).await
    else {
        panic!("reflection sent no service list");
    };
    let mut names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    names.sort();
    names
}

/// Whether reflection describes `symbol` (a service or message name), as
/// `grpcurl describe` asks: the file defining it, or the error code.
pub async fn reflection_describes(channel: Channel, symbol: &str) -> Result<(), tonic::Code> {
    match reflect(
        channel,
        MessageRequest::FileContainingSymbol(symbol.to_owned()),
    )
    .await
    {
        Ok(MessageResponse::FileDescriptorResponse(files))
            if !files.file_descriptor_proto.is_empty() =>
        {
            Ok(())
        }
        Ok(MessageResponse::ErrorResponse(error)) => Err(tonic::Code::from(error.error_code)),
        Ok(other) => panic!("reflection answered {other:?}"),
        Err(status) => Err(status.code()),
    }
}

/// A lazily connecting channel to `addr`.
pub fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("a socket address makes a valid URL")
        .connect_lazy()
}

/// Binds a listener on a free loopback port.
pub async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port")
}
