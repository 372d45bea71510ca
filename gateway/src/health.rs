//! The gateway's health: each public service SERVING only while its upstream
//! says it is, and the gateway as a whole only while both are.

use std::time::Duration;

use service_runtime::upstream::Upstream;
use tonic_health::{
    pb::{HealthCheckRequest, health_check_response, health_client::HealthClient},
    server::HealthReporter,
};

const PROBE_INTERVAL: Duration = Duration::from_secs(1);

async fn upstream_serving(upstream: &Upstream, service: &str) -> bool {
    let mut client = HealthClient::new(upstream.clone());
    let check = client.check(HealthCheckRequest {
        service: service.to_owned(),
    });
    matches!(
        tokio::time::timeout(Duration::from_secs(2), check).await,
        Ok(Ok(response)) if response.get_ref().status() == health_check_response::ServingStatus::Serving
    )
}

/// Probes each `(service name, upstream)` every second (through the upstream's
/// rotation, so any serving replica will do) and reports it.
pub fn watch_upstreams(
    reporter: HealthReporter,
    upstreams: Vec<(&'static str, Upstream)>,
) -> tokio::task::JoinHandle<()> {
    service_runtime::health::report(reporter, PROBE_INTERVAL, move || {
        let upstreams = upstreams.clone();
        async move {
            let mut states = Vec::with_capacity(upstreams.len());
            for (name, upstream) in &upstreams {
                states.push((*name, upstream_serving(upstream, name).await));
            }
            states
        }
    })
}
