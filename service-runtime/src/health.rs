//! Keeps `grpc.health.v1.Health` honest: a probe runs every interval and each
//! named service is reported SERVING or NOT_SERVING by what it found, and the
//! server as a whole (the empty name) SERVING only while all of them are.

use std::{future::Future, time::Duration};

use tonic_health::{ServingStatus, server::HealthReporter};

use crate::database::Database;

/// How often a service's database is probed.
const DATABASE_PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// Runs `probe` every `interval` and reports what it returns: each service
/// name with whether it is serving. Changes are logged; the task ends when
/// the returned handle is aborted or the runtime stops.
pub fn report<F, Fut>(
    reporter: HealthReporter,
    interval: Duration,
    mut probe: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Vec<(&'static str, bool)>> + Send,
{
    tokio::spawn(async move {
        let mut last: Option<Vec<(&'static str, bool)>> = None;
        loop {
            let states = probe().await;
            if last.as_ref() != Some(&states) {
                for (name, serving) in &states {
                    let was_serving = last
                        .as_ref()
                        .and_then(|last| last.iter().find(|(seen, _)| seen == name))
                        .map(|(_, serving)| *serving);
                    match (was_serving, serving) {
                        (Some(true) | None, false) => tracing::warn!(service = name, "NOT_SERVING"),
                        (Some(false), true) => tracing::info!(service = name, "SERVING again"),
                        _ => {}
                    }
                    reporter.set_service_status(*name, status(*serving)).await;
                }
                let all = states.iter().all(|(_, serving)| *serving);
                reporter.set_service_status("", status(all)).await;
                last = Some(states);
            }
            tokio::time::sleep(interval).await;
        }
    })
}

fn status(serving: bool) -> ServingStatus {
    if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

/// Reports each of `service_names` SERVING exactly while `database` answers.
pub fn watch_database(
    reporter: HealthReporter,
    service_names: Vec<&'static str>,
    database: Database,
) -> tokio::task::JoinHandle<()> {
    report(reporter, DATABASE_PROBE_INTERVAL, move || {
        let database = database.clone();
        let names = service_names.clone();
        async move {
            let reachable = database.is_reachable().await;
            names.into_iter().map(|name| (name, reachable)).collect()
        }
    })
}
