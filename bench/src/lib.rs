//! The benchmark of the whole stack: it starts the auth service, the task
//! service and the gateway as separate processes (and a bare tonic "floor"
//! server to compare them with), loads them with concurrent clients, and
//! reports throughput, latency, CPU and memory per scenario, with the targets
//! the stack must meet as ratios measured in the same run. `bench chaos`
//! runs replicas of each service on a private PostgreSQL and breaks them
//! under load (see `chaos`).

pub mod chaos;
pub mod child;
pub mod cli;
pub mod floor;
pub mod hostile;
pub mod load;
pub mod postgres;
pub mod process;
pub mod report;
pub mod scenarios;
pub mod stack;

use std::path::Path;

use cli::{Args, Command, Scenario};
use report::{Report, Row};
use scenarios::{Target, Users};
use stack::{AbuseLimits, Service, Stack};

/// Runs the scenarios `args` names and reports them; fails when any call failed.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(Command::Chaos(chaos)) = args.command {
        return chaos::run(chaos).await;
    }
    let mut scenarios = if args.scenarios.is_empty() {
        Scenario::all()
    } else {
        args.scenarios.clone()
    };
    scenarios.sort();
    scenarios.dedup();
    let dir = std::env::temp_dir().join(format!("todo-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let report = match measure(&args, &scenarios, &dir).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("the services' logs are in {}", dir.display());
            return Err(error);
        }
    };
    let _ = std::fs::remove_dir_all(&dir);

    println!("\n{}", report.targets_text());
    if let Some(path) = &args.markdown {
        report::write_markdown(path, "Benchmarks", &report.sections())?;
        println!("wrote {}", path.display());
    }
    let errors: u64 = report
        .rows
        .iter()
        .map(|row| row.measured.outcome.error_count())
        .sum();
    anyhow::ensure!(errors == 0, "{errors} calls failed; see the errors column");
    Ok(())
}

async fn measure(args: &Args, scenarios: &[Scenario], dir: &Path) -> anyhow::Result<Report> {
    let mut report = Report::new(args);
    let (hostile, capacity): (Vec<Scenario>, Vec<Scenario>) =
        scenarios.iter().partition(|scenario| scenario.is_hostile());
    let floor = Service::spawn("floor", "floor", &[], dir).await?;
    if !capacity.is_empty() {
        measure_capacity(args, &capacity, &floor, dir, &mut report).await?;
    }
    if !hostile.is_empty() {
        // A stack of its own, with the default abuse limits: the capacity
        // scenarios' raised limits would let the attacker through.
        let stack = Stack::start(None, &dir.join("hostile"), AbuseLimits::Defaults).await?;
        eprintln!(
            "{}: making {} normal users and {} attacker accounts, within the default limits",
            stack.engine,
            hostile::NORMAL_USERS,
            args.attacker_accounts
        );
        let (users, attackers) = hostile::make_users(&stack, args).await?;
        let target = Target {
            args,
            stack: &stack,
            floor: &floor,
            users: &users,
            attackers: Some(&attackers),
        };
        report.rows.extend(run_rounds(&target, &hostile).await?);
        stack.stop().await?;
    }
    Ok(report)
}

/// The capacity scenarios, on SQLite and then (those that use the database)
/// on PostgreSQL when `args.postgres` names a server.
async fn measure_capacity(
    args: &Args,
    scenarios: &[Scenario],
    floor: &Service,
    dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let sqlite = Stack::start(None, &dir.join("sqlite"), AbuseLimits::Raised).await?;
    report.idle_rss = rss(&sqlite)?;
    let users = make_users(&sqlite, args).await?;
    let target = Target {
        args,
        stack: &sqlite,
        floor,
        users: &users,
        attackers: None,
    };
    report.rows.extend(run_rounds(&target, scenarios).await?);
    report.end_rss = rss(&sqlite)?;
    sqlite.stop().await?;

    let on_postgres: Vec<_> = scenarios
        .iter()
        .copied()
        .filter(|scenario| scenario.uses_database())
        .collect();
    if let (Some(url), false) = (&args.postgres, on_postgres.is_empty()) {
        let postgres = Stack::start(Some(url), &dir.join("postgres"), AbuseLimits::Raised).await?;
        let users = make_users(&postgres, args).await?;
        let target = Target {
            args,
            stack: &postgres,
            floor,
            users: &users,
            attackers: None,
        };
        report.rows.extend(run_rounds(&target, &on_postgres).await?);
        postgres.stop().await?;
    }
    Ok(())
}

async fn make_users(stack: &Stack, args: &Args) -> anyhow::Result<Users> {
    eprintln!(
        "{}: making {} users with {} tasks each",
        stack.engine, args.users, args.tasks_per_user
    );
    scenarios::make_users(stack, args).await
}

/// Each service's resident memory now, in MiB.
fn rss(stack: &Stack) -> anyhow::Result<Vec<(&'static str, f64)>> {
    stack
        .services()
        .iter()
        .map(|service| Ok((service.name, process::memory(service.pid)?.rss_mib)))
        .collect()
}

/// Runs every scenario `args.runs` times, in rounds (each scenario once per
/// round), and keeps each one's median run: by calls per second, or by p99
/// latency where latency is what the scenario is about. Rounds spread each
/// scenario's runs over the whole benchmark, so a stretch of time when the
/// shared host is slow weighs on all scenarios alike, not on one of them.
async fn run_rounds(target: &Target<'_>, scenarios: &[Scenario]) -> anyhow::Result<Vec<Row>> {
    let rounds = target.args.runs.max(1);
    let mut runs: Vec<Vec<scenarios::Measured>> = vec![Vec::new(); scenarios.len()];
    for round in 1..=rounds {
        for (index, &scenario) in scenarios.iter().enumerate() {
            let measured = target.run(scenario).await?;
            let row = Row {
                scenario,
                engine: target.stack.engine,
                runs: vec![key(scenario, &measured)],
                run_notes: vec![measured.notes.clone()],
                measured: measured.clone(),
            };
            println!("run {round}/{rounds} {}", row.console());
            runs[index].push(measured);
        }
    }
    let mut rows = Vec::new();
    for (&scenario, mut runs) in scenarios.iter().zip(runs) {
        let keys: Vec<f64> = runs.iter().map(|run| key(scenario, run)).collect();
        let run_notes = runs.iter().map(|run| run.notes.clone()).collect();
        runs.sort_by(|a, b| key(scenario, a).total_cmp(&key(scenario, b)));
        let row = Row {
            scenario,
            engine: target.stack.engine,
            measured: runs.swap_remove(runs.len() / 2),
            runs: keys,
            run_notes,
        };
        println!("median {}", row.console());
        rows.push(row);
    }
    Ok(rows)
}

/// The figure a scenario's runs are ranked by.
fn key(scenario: Scenario, measured: &scenarios::Measured) -> f64 {
    match scenario {
        Scenario::LoginStorm | Scenario::Watch => measured.outcome.latency_ms(0.99),
        hostile if hostile.is_hostile() => measured.outcome.latency_ms(0.99),
        _ => measured.outcome.per_second(),
    }
}
