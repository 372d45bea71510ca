//! Why a process could not start, or stopped serving: one error type for every
//! service, the gateway and the stack, apart from the RPC errors each service
//! answers with. Each variant keeps its cause, so `main` prints the whole chain.

use std::{error::Error as StdError, net::SocketAddr};

/// A start-up or serving failure. The message says what failed; the source says why.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A setting is missing or wrong; the message names it and says what to set.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Database(#[from] crate::database::Error),
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("the gRPC server failed")]
    Serve(#[from] tonic::transport::Error),
    /// Anything else, with what was being done.
    #[error("{context}")]
    Other {
        context: String,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl StartError {
    /// `source` happened while doing `context` ("cannot read /data/jwt-secret").
    pub fn other(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::Other {
            context: context.into(),
            source: source.into(),
        }
    }

    /// The error and its causes on one line: `cannot listen on …: Address in use`.
    pub fn chain(&self) -> String {
        let mut line = self.to_string();
        let mut source = StdError::source(self);
        while let Some(cause) = source {
            line.push_str(": ");
            line.push_str(&cause.to_string());
            source = cause.source();
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_every_cause() {
        let error = StartError::Bind {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use"),
        };
        assert_eq!(
            error.chain(),
            "cannot listen on 127.0.0.1:1: address in use"
        );
    }
}
