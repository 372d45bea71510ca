//! The chaos test of issue 14: replicas that fail over without failing
//! calls. It starts a private PostgreSQL, 2 auth replicas, 3 task replicas
//! and 2 gateways as separate processes (`cluster`), drives steady mixed load
//! through both gateways (`traffic`), and meanwhile, one phase at a time,
//! kills a task replica and later an auth replica with SIGKILL, restarts
//! every task replica in turn with SIGTERM, and restarts PostgreSQL. Then it
//! checks every acknowledged write, and holds each phase's calls against the
//! targets (`report`); it fails when one is missed.

mod cluster;
mod report;
mod traffic;

use std::{path::Path, time::Duration};

use anyhow::{Context, anyhow, bail};
use tokio::time::{Instant, sleep};
use tonic::transport::Endpoint;

use crate::{cli::ChaosArgs, postgres::PrivatePostgres};
use cluster::{Cluster, Replica};
use report::{Findings, Phase, PhaseRun, Report};
use traffic::Load;

/// How long the watchers get, once the load has stopped, to catch up with
/// the last writes.
const WATCH_SETTLE: Duration = Duration::from_secs(5);

/// Runs the test, prints and writes its report, and fails when a target is
/// missed. The services' and PostgreSQL's logs are kept when it fails.
pub async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "todo-chaos-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    std::fs::create_dir_all(&dir)?;
    // Interrupted, the experiment is dropped: its processes are killed and
    // PostgreSQL is stopped and removed.
    let outcome = tokio::select! {
        outcome = experiment(&args, &dir) => outcome,
        () = service_runtime::shutdown::signal() => Err(anyhow!("interrupted")),
    };
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            // Nothing was started when, say, PostgreSQL's programs are missing.
            if std::fs::remove_dir(&dir).is_err() {
                eprintln!(
                    "the services' and PostgreSQL's logs are in {}",
                    dir.display()
                );
            }
            return Err(error);
        }
    };
    println!("\n{}", report.console());
    if let Some(path) = &args.markdown {
        crate::report::write_markdown(path, "Reliability", &[report.section()])?;
        println!("wrote {}", path.display());
    }
    let missed = report.missed();
    if missed.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    eprintln!(
        "the services' and PostgreSQL's logs are in {}",
        dir.display()
    );
    bail!(
        "{} of {} targets missed: {}",
        missed.len(),
        report.checks.len(),
        missed
            .iter()
            .map(|check| check.target.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    )
}

async fn experiment(args: &ChaosArgs, dir: &Path) -> anyhow::Result<Report> {
    eprintln!("starting a private PostgreSQL");
    let postgres = PrivatePostgres::start(args.pg_bindir.as_deref(), dir).await?;
    postgres.create_database("auth").await?;
    postgres.create_database("tasks").await?;
    eprintln!(
        "PostgreSQL in {} on port {}",
        postgres.dir().display(),
        postgres.port
    );
    eprintln!("starting 2 auth and 3 task replicas at once, then 2 gateways");
    let mut cluster = Cluster::plan(&postgres, dir);
    let start = cluster.start().await?;
    let gateways = cluster
        .gateways
        .iter()
        .map(|gateway| {
            Ok(Endpoint::from_shared(gateway.url())?
                .connect_timeout(Duration::from_secs(2))
                .tcp_nodelay(true)
                .connect_lazy())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    eprintln!(
        "signing up {} users and {} watchers",
        args.users, args.watchers
    );
    let mut load = Load::prepare(gateways, args.users, args.watchers, args.think).await?;
    let running = load.start();
    let phases = phases(args, &mut cluster, &postgres).await;
    // The load stops whatever happened, so its tasks end before the processes do.
    let (watchers, journal) = load.stop(running, WATCH_SETTLE).await?;
    let runs = phases?;
    eprintln!("checking every acknowledged write");
    let writes = load.verify().await?;
    let deaths = cluster.deaths();
    drop(cluster);
    postgres.stop().await.context("cannot stop PostgreSQL")?;
    Ok(Report::new(
        args,
        Findings {
            start,
            runs,
            journal,
            writes,
            watchers,
            deaths,
        },
    ))
}

/// The phases, one after the other, under the running load. Each fault
/// comes a quarter of a phase after the phase begins, so calls are in flight.
async fn phases(
    args: &ChaosArgs,
    cluster: &mut Cluster,
    postgres: &PrivatePostgres,
) -> anyhow::Result<Vec<PhaseRun>> {
    let lead = args.phase / 4;
    // Connections and caches warm up before anything counts.
    sleep(lead).await;
    let mut runs = Vec::new();

    let baseline = PhaseRun::begin(Phase::Baseline);
    sleep(args.phase).await;
    runs.push(baseline.finish());

    runs.push(kill(args, Phase::KillTask, &mut cluster.tasks[0]).await?);
    runs.push(kill(args, Phase::KillAuth, &mut cluster.auth[0]).await?);

    let mut rolling = PhaseRun::begin(Phase::RollingRestart);
    sleep(lead).await;
    for replica in &mut cluster.tasks {
        let signalled = Instant::now();
        let stopped = replica.terminate().await?;
        let started = Instant::now();
        replica.start().await?;
        replica.wait_serving().await?;
        let serving = started.elapsed();
        rolling.note_at(
            signalled,
            format!(
                "SIGTERM to {}: exited after {:.2} s, started again, SERVING {:.2} s later",
                replica.name,
                stopped.as_secs_f64(),
                serving.as_secs_f64()
            ),
        );
    }
    sleep(lead).await;
    runs.push(rolling.finish());

    let mut restart = PhaseRun::begin(Phase::PostgresRestart);
    sleep(lead).await;
    let down = Instant::now();
    restart.fault = Some(down);
    postgres.restart().await?;
    let back = Instant::now();
    restart.back = Some(back);
    restart.note_at(
        down,
        format!(
            "pg_ctl restart -m fast: accepting connections again after {:.2} s",
            (back - down).as_secs_f64()
        ),
    );
    sleep(args.phase).await;
    runs.push(restart.finish());
    Ok(runs)
}

/// A phase around a SIGKILL of `replica`, which is started again (on the
/// same address) a phase's length after it was killed.
async fn kill(args: &ChaosArgs, phase: Phase, replica: &mut Replica) -> anyhow::Result<PhaseRun> {
    let lead = args.phase / 4;
    let mut run = PhaseRun::begin(phase);
    sleep(lead).await;
    let killed = Instant::now();
    run.fault = Some(killed);
    replica.kill().await?;
    let gone = Instant::now();
    run.gone = Some(gone);
    run.note_at(
        killed,
        format!(
            "SIGKILL to {} (gone {:.1} ms later)",
            replica.name,
            (gone - killed).as_secs_f64() * 1000.0
        ),
    );
    sleep(args.phase).await;
    let restarted = Instant::now();
    replica.start().await?;
    replica.wait_serving().await?;
    run.note_at(
        restarted,
        format!(
            "{} started again, SERVING {:.2} s later",
            replica.name,
            restarted.elapsed().as_secs_f64()
        ),
    );
    // Time for the gateways to take it back into their rotation.
    sleep(lead).await;
    Ok(run.finish())
}
