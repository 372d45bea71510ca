//! For tests that run services in this process: a spawned server that can be
//! stopped and awaited, and what a server lists through reflection.

use std::{future::Future, net::SocketAddr};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{Request, Status, service::Interceptor, transport::Channel};
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

    /// Asks the server to stop and waits until it has finished.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.handle).await;
    }
}

/// The sorted service names a server lists through reflection (v1alpha, as
/// grpcurl 1.8 asks).
pub async fn reflected_services(channel: Channel) -> Vec<String> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("reflection responds")
        .expect("a response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
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

/// A client interceptor that adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(pub String);

/// Tokens are secrets: a debug print shows that there is one, not what it is.
impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer([redacted])")
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| Status::invalid_argument("the token is not a valid header value"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}
