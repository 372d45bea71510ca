//! The todo system's gRPC contracts (`todo.auth.v1`, `todo.task.v1`), generated
//! from the `.proto` files beside this crate. Every service depends on this
//! crate; nobody writes message types by hand.

#![allow(missing_docs, missing_debug_implementations)]

/// Encoded `FileDescriptorSet` of both contracts, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("todo_descriptor");

pub mod auth {
    pub mod v1 {
        #![allow(clippy::all, clippy::pedantic)]
        tonic::include_proto!("todo.auth.v1");
    }
}

pub mod task {
    pub mod v1 {
        #![allow(clippy::all, clippy::pedantic)]
        tonic::include_proto!("todo.task.v1");
    }
}

pub use prost_types;
