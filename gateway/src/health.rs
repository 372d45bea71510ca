//! The gateway's health: SERVING only while every upstream says it is.

use std::time::Duration;

use tonic::transport::Channel;
use tonic_health::{
    ServingStatus,
    pb::{HealthCheckRequest, health_check_response, health_client::HealthClient},
    server::HealthReporter,
};

const PROBE_INTERVAL: Duration = Duration::from_secs(1);

async fn upstream_serving(channel: &Channel, service: &str) -> bool {
    let mut client = HealthClient::new(channel.clone());
    let check = client.check(HealthCheckRequest {
        service: service.to_owned(),
    });
    matches!(
        tokio::time::timeout(Duration::from_secs(2), check).await,
        Ok(Ok(response)) if response.get_ref().status() == health_check_response::ServingStatus::Serving
    )
}

/// Probes each `(service name, channel)` and reports it, and the gateway as a
/// whole (the empty name), SERVING or NOT_SERVING.
pub fn watch_upstreams(
    reporter: HealthReporter,
    upstreams: Vec<(&'static str, Channel)>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<Vec<bool>> = None;
        loop {
            let mut states = Vec::with_capacity(upstreams.len());
            for (name, channel) in &upstreams {
                states.push(upstream_serving(channel, name).await);
            }
            if last.as_ref() != Some(&states) {
                for ((name, _), serving) in upstreams.iter().zip(&states) {
                    let status = if *serving {
                        ServingStatus::Serving
                    } else {
                        ServingStatus::NotServing
                    };
                    if !serving {
                        tracing::warn!(upstream = name, "upstream not serving");
                    }
                    reporter.set_service_status(*name, status).await;
                }
                let all = if states.iter().all(|serving| *serving) {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                reporter.set_service_status("", all).await;
                last = Some(states);
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    })
}
