//! The benchmark's settings: every flag can also be set through the environment.

use std::{path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};

/// Benchmarks the todo stack: starts it, loads it with concurrent clients and
/// reports throughput, latency, CPU and memory per scenario.
#[derive(Clone, Debug, Parser)]
#[command(name = "bench", version, args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Something other than the benchmark's scenarios.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Scenarios to run; all of them when none is named.
    #[arg(value_enum)]
    pub scenarios: Vec<Scenario>,
    /// Measured time of each run, after the warm-up.
    #[arg(long, env = "BENCH_DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Load applied before measuring, so connections, caches and pools are warm.
    #[arg(long, env = "BENCH_WARMUP", default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Runs of each scenario; the median run is reported.
    #[arg(long, env = "BENCH_RUNS", default_value_t = 3)]
    pub runs: usize,
    /// Concurrent clients (each with one call in flight) per scenario.
    #[arg(long, env = "BENCH_CLIENTS", default_value_t = 32)]
    pub clients: usize,
    /// HTTP/2 connections the clients of a scenario share.
    #[arg(long, env = "BENCH_CONNECTIONS", default_value_t = 4)]
    pub connections: usize,
    /// Users made before the load; the clients act as these users in turn.
    #[arg(long, env = "BENCH_USERS", default_value_t = 100)]
    pub users: usize,
    /// Tasks each user has before the load.
    #[arg(long, env = "BENCH_TASKS_PER_USER", default_value_t = 30)]
    pub tasks_per_user: usize,
    /// WatchTasks streams each user keeps open in the `watch` scenario.
    #[arg(long, env = "BENCH_WATCHERS_PER_USER", default_value_t = 10)]
    pub watchers_per_user: usize,
    /// Writes per second in the `watch` scenario, spread over the users.
    #[arg(long, env = "BENCH_WATCH_WRITES", default_value_t = 200)]
    pub watch_writes_per_second: u32,
    /// Accounts of the attacker in the hostile scenarios (each may hold
    /// WATCH_MAX_STREAMS_PER_USER streams).
    #[arg(long, env = "BENCH_ATTACKER_ACCOUNTS", default_value_t = 50)]
    pub attacker_accounts: usize,
    /// Concurrent calls the attacker keeps in flight in the hostile scenarios.
    #[arg(long, env = "BENCH_ATTACKER_CLIENTS", default_value_t = 64)]
    pub attacker_clients: usize,
    /// A PostgreSQL server (`postgres://…`): the database scenarios (list,
    /// create, update) run again on it, in fresh databases that are dropped after.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub postgres: Option<String>,
    /// Writes the results as a Markdown report to this file (e.g. BENCHMARKS.md).
    #[arg(long, env = "BENCH_MARKDOWN")]
    pub markdown: Option<PathBuf>,
}

/// What the binary can do besides the benchmark.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Replicas under failures: a private PostgreSQL, 2 auth, 3 task and 2
    /// gateway processes, steady mixed load through both gateways while task
    /// and auth replicas are killed, the task replicas restarted one by one
    /// and PostgreSQL restarted; checks the reliability targets and writes
    /// RELIABILITY.md.
    Chaos(ChaosArgs),
}

/// The chaos test's settings.
#[derive(Clone, Debug, clap::Args)]
pub struct ChaosArgs {
    /// How long each phase runs its load: the baseline, and each fault's
    /// aftermath (a quarter of it runs before each fault as well).
    #[arg(long, env = "CHAOS_PHASE", default_value = "4s", value_parser = humantime::parse_duration)]
    pub phase: Duration,
    /// Users, each signing up once and then calling in a loop, one call at a
    /// time; they are spread over the two gateways.
    #[arg(long, env = "CHAOS_USERS", default_value_t = 8)]
    pub users: usize,
    /// Pause between one user's rounds of calls.
    #[arg(long, env = "CHAOS_THINK", default_value = "20ms", value_parser = humantime::parse_duration)]
    pub think: Duration,
    /// WatchTasks streams, each following one user's tasks through the
    /// gateway that user does not write through.
    #[arg(long, env = "CHAOS_WATCHERS", default_value_t = 6)]
    pub watchers: usize,
    /// How soon after PostgreSQL is back every call must succeed again.
    #[arg(long, env = "CHAOS_RECOVERY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub recovery: Duration,
    /// Directory of PostgreSQL's server programs (initdb, pg_ctl); by
    /// default `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
    #[arg(long, env = "PG_BINDIR")]
    pub pg_bindir: Option<PathBuf>,
    /// Writes the results into this Markdown file (e.g. RELIABILITY.md),
    /// replacing the part a previous run wrote.
    #[arg(long, env = "CHAOS_MARKDOWN")]
    pub markdown: Option<PathBuf>,
}

/// What is measured. The order is the order they run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Scenario {
    /// A bare tonic server answering ListTasks from memory: the framework's limit here.
    Floor,
    /// Authenticated ListTasks (a page of 20), straight to the task service.
    List,
    /// The same through the gateway, as native gRPC.
    ListGateway,
    /// The same through the gateway, as grpc-web over HTTP/1.1.
    ListGrpcWeb,
    /// CreateTask, straight to the task service.
    Create,
    /// UpdateTask completing and reopening a task, with etags.
    Update,
    /// TokenService.ValidateToken, straight to the auth service.
    Validate,
    /// Login (one argon2id verification each).
    Login,
    /// ListTasks while as many logins as the hashing pool takes run at once.
    LoginStorm,
    /// Many open WatchTasks streams: time from a write to every watcher of its user.
    Watch,
    /// Hostile: a normal user's ListTasks and logins while another address
    /// logs in to its own accounts, with the right passwords, as fast as it is let.
    HostileLogins,
    /// Hostile: the same while another address guesses the normal users'
    /// passwords as fast as it is let.
    HostileGuesses,
    /// Hostile: the same while another address holds every WatchTasks stream
    /// its accounts may open (half of them never read), writes keep flowing to
    /// them, and it keeps asking for more.
    HostileStreams,
    /// The same with the streams, and the normal user's calls, through the gateway.
    HostileStreamsGateway,
    /// Hostile: the same while another address sends CreateTask and ListTasks
    /// messages over the 64 KiB limit (just over, and 4 MiB), directly and
    /// through the gateway.
    HostileOversized,
}

impl Scenario {
    pub fn all() -> Vec<Self> {
        Self::value_variants().to_vec()
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_owned())
            .unwrap_or_default()
    }

    /// Scenarios that measure the stack under attack, against its default abuse limits.
    pub fn is_hostile(self) -> bool {
        matches!(
            self,
            Self::HostileLogins
                | Self::HostileGuesses
                | Self::HostileStreams
                | Self::HostileStreamsGateway
                | Self::HostileOversized
        )
    }

    /// Scenarios whose cost is mostly the database; they run on PostgreSQL too.
    pub fn uses_database(self) -> bool {
        matches!(self, Self::List | Self::Create | Self::Update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaos_is_a_subcommand_and_scenarios_stay_positional() {
        let args = Args::try_parse_from(["bench", "chaos", "--phase", "2s"]).unwrap();
        let Some(Command::Chaos(chaos)) = args.command else {
            panic!("chaos was not read as the subcommand");
        };
        assert_eq!(chaos.phase, Duration::from_secs(2));
        let args = Args::try_parse_from(["bench", "list", "create"]).unwrap();
        assert!(args.command.is_none());
        assert_eq!(args.scenarios, [Scenario::List, Scenario::Create]);
    }
}
