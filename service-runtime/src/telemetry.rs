//! Tracing set-up, done once per process. `RUST_LOG` picks the verbosity.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

/// Logs to stderr at the level `RUST_LOG` asks for (`info` when unset).
/// Calling it twice is harmless, so a binary that runs several services in one
/// process can let each of them try.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
