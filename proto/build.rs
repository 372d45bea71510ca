//! Generates the messages, clients and servers of both contracts, plus the
//! encoded descriptor set that server reflection serves.

// Setting PROTOC is `unsafe` since edition 2024; a build script is single-threaded.
#![allow(unsafe_code)]

use std::{env, error::Error, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    // A vendored protoc lets a fresh clone build with cargo alone, no apt step.
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts run single-threaded, nothing else reads the environment concurrently.
    unsafe { env::set_var("PROTOC", protoc) };

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("todo_descriptor.bin"))
        .compile_protos(
            &["todo/auth/v1/auth.proto", "todo/task/v1/task.proto"],
            &["."],
        )?;
    Ok(())
}
