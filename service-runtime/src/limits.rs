//! The codes our contract promises for requests tonic refuses before a handler
//! runs. tonic answers `OUT_OF_RANGE` for a message over the decoding limit
//! and `INTERNAL` for one that does not decode (invalid UTF-8 in a string
//! field, say); grpc-go and grpc-java answer `RESOURCE_EXHAUSTED` for the
//! first, and the second is the client's fault, so `INVALID_ARGUMENT`.
//! `ContractStatusLayer` wraps a generated server (after its limits are set)
//! and rewrites those two answers; `contract_status` does the same on any
//! response's headers (the gateway uses it on what upstreams send back).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{HeaderMap, Request, Response};
use tonic::{Code, Status, server::NamedService};
use tower::{Layer, Service};

/// tonic's message for a request over `max_decoding_message_size`.
const TOO_LARGE: &str = "Error, decoded message length too large";
/// prost's message for bytes that are not the request message.
const UNDECODABLE: &str = "failed to decode Protobuf message";

/// Rewrites a trailers-only error in `headers` (where tonic puts the status
/// of a request it refused) into the code the contract promises; any other
/// status is left alone.
pub fn contract_status(headers: &mut HeaderMap) {
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    let replaced = match status.code() {
        Code::OutOfRange if status.message().starts_with(TOO_LARGE) => {
            Status::resource_exhausted(format!("request message too large: {}", status.message()))
        }
        Code::Internal if status.message().starts_with(UNDECODABLE) => Status::invalid_argument(
            format!("request is not a valid message: {}", status.message()),
        ),
        _ => return,
    };
    // `add_header` only writes grpc-status and grpc-message; details the
    // original carried (none, for these two) would stay as they are.
    let _ = replaced.add_header(headers);
}

/// Wraps a service so that its decode refusals carry the contract's codes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContractStatusLayer;

impl<S> Layer<S> for ContractStatusLayer {
    type Service = ContractStatus<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ContractStatus { inner }
    }
}

/// See [`ContractStatusLayer`].
#[derive(Clone, Debug)]
pub struct ContractStatus<S> {
    inner: S,
}

impl<S> ContractStatus<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S: NamedService> NamedService for ContractStatus<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B, R> Service<Request<B>> for ContractStatus<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let call = self.inner.call(request);
        Box::pin(async move {
            let mut response = call.await?;
            contract_status(response.headers_mut());
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(status: Status) -> Status {
        let mut headers = HeaderMap::new();
        status.add_header(&mut headers).unwrap();
        contract_status(&mut headers);
        Status::from_header_map(&headers).unwrap()
    }

    #[test]
    fn decode_refusals_get_the_contract_codes_and_nothing_else_changes() {
        let large = rewritten(Status::out_of_range(
            "Error, decoded message length too large: found 70000 bytes, the limit is: 65536 bytes",
        ));
        assert_eq!(large.code(), Code::ResourceExhausted);
        assert!(large.message().contains("65536"), "{}", large.message());
        let garbled = rewritten(Status::internal(
            "failed to decode Protobuf message: invalid string value: data is not UTF-8 encoded",
        ));
        assert_eq!(garbled.code(), Code::InvalidArgument);
        assert_eq!(
            rewritten(Status::out_of_range("page 7 of 3")).code(),
            Code::OutOfRange
        );
        assert_eq!(rewritten(Status::internal("db")).code(), Code::Internal);
    }
}
