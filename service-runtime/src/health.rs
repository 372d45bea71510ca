//! Keeps `grpc.health.v1.Health` honest: a service is SERVING only while its
//! database answers.

use std::time::Duration;

use tonic_health::{ServingStatus, server::HealthReporter};

use crate::database::Database;

/// How often the database is probed.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// Probes `database` every couple of seconds and reports each of
/// `service_names` (and the server as a whole, the empty name) SERVING or
/// NOT_SERVING accordingly.
/// The task ends when the returned handle is aborted or the runtime stops.
pub fn watch_database(
    reporter: HealthReporter,
    service_names: &'static [&'static str],
    database: Database,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let status = if database.is_reachable().await {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            if last != Some(status) {
                if status == ServingStatus::NotServing {
                    tracing::warn!("database unreachable: NOT_SERVING");
                } else if last.is_some() {
                    tracing::info!("database reachable again: SERVING");
                }
                for name in service_names.iter().chain(&[""]) {
                    reporter.set_service_status(*name, status).await;
                }
                last = Some(status);
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    })
}
