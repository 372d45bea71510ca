//! `todo-stack certs --out DIR`: a development CA and the certificates of
//! the services' identities (`service_runtime::dev_certificates`), written
//! as private files, with the settings each service needs to use them.

use std::{io, path::PathBuf, process::ExitCode};

use clap::Args;
use service_runtime::dev_certificates::{AUTH_NAMES, ServiceCertificates, TASKS_IDENTITY};

/// Where to write, and what to do about certificates already there.
#[derive(Clone, Debug, Args)]
pub struct CertsArgs {
    /// Directory to write into; created (0700) when missing.
    #[arg(long, default_value = "./certs")]
    pub out: PathBuf,

    /// When every file is already in the directory, keep them and succeed
    /// (a compose one-shot service runs at every `up`). Without it, existing
    /// files are an error: keys are never overwritten.
    #[arg(long)]
    pub keep_existing: bool,
}

/// Writes the certificates as `args` says and prints what it did.
pub fn run(args: &CertsArgs) -> ExitCode {
    match write(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(args: &CertsArgs) -> Result<(), String> {
    let dir = &args.out;
    let present = ServiceCertificates::FILES
        .iter()
        .filter(|name| dir.join(name).exists())
        .count();
    if args.keep_existing && present == ServiceCertificates::FILES.len() {
        println!("certificates already in {}; kept", dir.display());
        return Ok(());
    }
    let certificates = ServiceCertificates::generate()
        .map_err(|error| format!("cannot generate certificates: {error}"))?;
    let written = certificates
        .write_to(dir)
        .map_err(|error| match error.kind() {
            io::ErrorKind::AlreadyExists => format!(
                "{error}: not overwriting keys (remove the directory's certificates to make new ones)"
            ),
            _ => format!("cannot write to {}: {error}", dir.display()),
        })?;
    println!("wrote (each readable by this user only):");
    for path in &written {
        println!("  {}", path.display());
    }
    let path = |name: &str| dir.join(name).display().to_string();
    println!(
        "\nauth service (internal listener; its certificate names {}):",
        AUTH_NAMES.join(", ")
    );
    println!("  INTERNAL_TLS_CERT={}", path("auth.pem"));
    println!("  INTERNAL_TLS_KEY={}", path("auth-key.pem"));
    println!("  INTERNAL_CA={}", path("ca.pem"));
    println!("  INTERNAL_ALLOWED_CLIENTS={TASKS_IDENTITY}");
    println!("task service (identity {TASKS_IDENTITY:?}):");
    println!("  INTERNAL_TLS_CERT={}", path("tasks.pem"));
    println!("  INTERNAL_TLS_KEY={}", path("tasks-key.pem"));
    println!("  INTERNAL_CA={}", path("ca.pem"));
    println!("  AUTH_URL=https://localhost:50061");
    println!(
        "\n{} signs new certificates: keep it, and nothing else needs it.",
        path("ca-key.pem")
    );
    Ok(())
}
