//! The load driver: concurrent clients call for a warm-up and then a measured
//! window; each records its calls' latencies and failures, and the driver
//! reads the services' CPU time over the window and their peak memory.

use std::{
    collections::BTreeMap,
    future::Future,
    io::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use tokio::time::Instant;
use tonic::Status;

use crate::{process, stack::Service};

/// How long to warm up and to measure.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub warmup: Duration,
    pub duration: Duration,
}

/// Latencies are kept in microseconds, from 1 µs to 100 s, to 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).unwrap_or_else(|_| Histogram::new(3).unwrap())
}

/// What one client saw; handed to the client's loop and returned by it.
#[derive(Debug)]
pub struct Recorder {
    measure_from: Instant,
    until: Instant,
    latency: Histogram<u64>,
    refused_latency: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    requests: u64,
    progress: Arc<Progress>,
}

impl Recorder {
    /// Whether the client should start another call.
    pub fn running(&self) -> bool {
        Instant::now() < self.until
    }

    /// Times `call`; counts it if it began inside the measured window.
    pub async fn time<T>(&mut self, call: impl Future<Output = Result<T, Status>>) -> Option<T> {
        let started = Instant::now();
        let result = call.await;
        let error = result.as_ref().err().map(|status| code_name(status.code()));
        self.record(started, started.elapsed(), error);
        result.ok()
    }

    /// Records one outcome of something begun at `started` that took
    /// `latency`; it counts when it began inside the measured window.
    pub fn record(&mut self, started: Instant, latency: Duration, error: Option<String>) {
        if started < self.measure_from || started >= self.until {
            return;
        }
        self.requests += 1;
        self.progress.calls.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        match error {
            None => {
                let _ = self.latency.record(micros);
            }
            Some(error) => {
                self.progress.errors.fetch_add(1, Ordering::Relaxed);
                let _ = self.refused_latency.record(micros);
                *self.errors.entry(error).or_default() += 1;
            }
        }
    }

    /// When the measured window starts and ends.
    pub fn window(&self) -> (Instant, Instant) {
        (self.measure_from, self.until)
    }
}

/// gRPC codes by their canonical names, as reports show them.
pub fn code_name(code: tonic::Code) -> String {
    format!("{code:?}")
}

#[derive(Debug, Default)]
struct Progress {
    calls: AtomicU64,
    errors: AtomicU64,
}

/// One service's use of the machine during a run.
#[derive(Clone, Debug)]
pub struct Usage {
    pub service: &'static str,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Calls (or, for `watch`, writes) begun in the window, failed or not.
    pub requests: u64,
    pub seconds: f64,
    pub latency: Histogram<u64>,
    /// Latency of the calls that failed (how fast a refusal comes).
    pub refused_latency: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
    pub usage: Vec<Usage>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// The latency at `quantile` (0.5, 0.99, …) in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The latency of failed calls at `quantile`, in milliseconds.
    pub fn refused_latency_ms(&self, quantile: f64) -> f64 {
        self.refused_latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Adds what `recorder` saw.
    pub fn absorb(&mut self, recorder: &Recorder) {
        self.requests += recorder.requests;
        let _ = self.latency.add(&recorder.latency);
        let _ = self.refused_latency.add(&recorder.refused_latency);
        for (code, count) in &recorder.errors {
            *self.errors.entry(code.clone()).or_default() += count;
        }
    }
}

/// A measured run in progress: hands out recorders and watches the services.
#[derive(Debug)]
pub struct Run {
    label: String,
    measure_from: Instant,
    until: Instant,
    progress: Arc<Progress>,
    services: Vec<(&'static str, u32)>,
}

impl Run {
    /// Starts the clock: warm-up from now, then the measured window.
    pub fn start(label: String, window: Window, services: &[&Service]) -> anyhow::Result<Self> {
        for service in services {
            process::reset_peak(service.pid)?;
        }
        let measure_from = Instant::now() + window.warmup;
        Ok(Self {
            label,
            measure_from,
            until: measure_from + window.duration,
            progress: Arc::default(),
            services: services
                .iter()
                .map(|service| (service.name, service.pid))
                .collect(),
        })
    }

    pub fn recorder(&self) -> Recorder {
        Recorder {
            measure_from: self.measure_from,
            until: self.until,
            latency: histogram(),
            refused_latency: histogram(),
            errors: BTreeMap::new(),
            requests: 0,
            progress: self.progress.clone(),
        }
    }

    /// Prints a progress line each second until the window closes, and
    /// returns each service's CPU seconds over the window.
    pub async fn watch(&self) -> anyhow::Result<Vec<f64>> {
        let mut stderr = std::io::stderr();
        while Instant::now() < self.measure_from {
            let _ = write!(stderr, "\r  {}: warming up   ", self.label);
            let _ = stderr.flush();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let cpu_before = self.cpu_seconds()?;
        let mut last = (Instant::now(), 0);
        while Instant::now() < self.until {
            tokio::time::sleep_until((Instant::now() + Duration::from_secs(1)).min(self.until))
                .await;
            let calls = self.progress.calls.load(Ordering::Relaxed);
            let rate = (calls - last.1) as f64 / last.0.elapsed().as_secs_f64();
            last = (Instant::now(), calls);
            let elapsed = (Instant::now() - self.measure_from).as_secs_f64();
            let total = (self.until - self.measure_from).as_secs_f64();
            let _ = write!(
                stderr,
                "\r  {}: {elapsed:>4.1}/{total:.0} s {rate:>9.0}/s  {} errors   ",
                self.label,
                self.progress.errors.load(Ordering::Relaxed)
            );
            let _ = stderr.flush();
        }
        let cpu_after = self.cpu_seconds()?;
        let _ = write!(stderr, "\r{:80}\r", "");
        Ok(cpu_after
            .iter()
            .zip(cpu_before)
            .map(|(after, before)| after - before)
            .collect())
    }

    fn cpu_seconds(&self) -> anyhow::Result<Vec<f64>> {
        self.services
            .iter()
            .map(|(_, pid)| process::cpu_seconds(*pid))
            .collect()
    }

    /// Puts the recorders' counts together with the services' usage.
    pub fn finish(&self, recorders: &[Recorder], cpu: &[f64]) -> anyhow::Result<Outcome> {
        let mut outcome = Outcome {
            requests: 0,
            seconds: (self.until - self.measure_from).as_secs_f64(),
            latency: histogram(),
            refused_latency: histogram(),
            errors: BTreeMap::new(),
            usage: Vec::new(),
        };
        for recorder in recorders {
            outcome.absorb(recorder);
        }
        for ((service, pid), cpu_seconds) in self.services.iter().zip(cpu) {
            outcome.usage.push(Usage {
                service,
                cpu_seconds: *cpu_seconds,
                peak_rss_mib: process::memory(*pid)?.peak_mib,
            });
        }
        Ok(outcome)
    }
}

/// Runs `clients` copies of `client` (each given its index and a recorder,
/// and returning the recorder when the window closes) and measures them.
pub async fn drive<F, Fut>(
    label: String,
    window: Window,
    services: &[&Service],
    clients: usize,
    client: F,
) -> anyhow::Result<Outcome>
where
    F: Fn(usize, Recorder) -> Fut,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let run = Run::start(label, window, services)?;
    let tasks: Vec<_> = (0..clients)
        .map(|index| tokio::spawn(client(index, run.recorder())))
        .collect();
    let cpu = run.watch().await?;
    let mut recorders = Vec::with_capacity(clients);
    for task in tasks {
        recorders.push(task.await?);
    }
    run.finish(&recorders, &cpu)
}
