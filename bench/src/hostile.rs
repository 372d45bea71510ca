//! The hostile scenarios: a normal user on 127.0.0.1 lists tasks at a steady
//! pace and logs in now and then, first alone (the calm figures) and then
//! while an attacker on another loopback address attacks at full speed. The
//! stack keeps its default abuse limits, so what is measured is the
//! protections at work: the normal user's figures against the calm ones, what
//! the attacker got, by gRPC code and how fast, and, with the streams, the
//! services' memory per open stream and whether it comes back.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::atomic::{AtomicU8, Ordering},
    time::Duration,
};

use anyhow::Context;
use futures::{StreamExt, future::try_join_all, stream};
use proto::task::v1::{
    CreateTaskRequest, ListTasksRequest, Task, WatchTasksRequest, WatchTasksResponse,
};
use service_runtime::config::defaults;
use tokio::{runtime::Runtime, task::JoinHandle, time::Instant};
use tonic::{Streaming, transport::Channel};

use crate::{
    cli::{Args, Scenario},
    load::{Outcome, Recorder, Run, code_name},
    process,
    scenarios::{
        Measured, Notes, PASSWORD, Target, TaskClient, Users, connections, connections_from,
        emails, login_loop, seed_tasks, sign_up, task_client,
    },
    stack::{Service, Stack},
};

/// Users of the normal side: four list, the first also logs in.
pub const NORMAL_USERS: usize = 4;
/// How often the normal user logs in.
const LOGIN_INTERVAL: Duration = Duration::from_millis(250);
/// The password the attacker guesses with.
const WRONG_PASSWORD: &str = "a wrong guess at the password";
/// Made-up emails the attacker sprays guesses over, beside the real ones.
const UNKNOWN_EMAILS: usize = 200;
/// Writes per second to the attacker's own accounts while its streams are
/// open, from this many writers.
const STREAM_WRITES_PER_SECOND: u32 = 200;
const STREAM_WRITERS: usize = 4;
/// Streams the attacker opens at once, and streams per connection.
const STREAMS_IN_FLIGHT: usize = 64;
/// How long the attacker waits for a stream to open before counting it refused.
const STREAM_OPEN_TIMEOUT: Duration = Duration::from_secs(2);
const STREAMS_PER_CONNECTION: usize = 100;
/// The oversized messages: just over the services' limit, and far over it.
const JUST_OVER: usize = task_service::MAX_REQUEST_BYTES + 1024;
const FAR_OVER: usize = 4 * 1024 * 1024;
/// Clients sending 4 MiB messages on each path (each holds one in flight).
const FAR_OVER_CLIENTS: usize = 4;

/// The attacker: accounts of its own, an address per run, a runtime of its own.
#[derive(Debug)]
pub struct Attackers {
    pub accounts: Users,
    runtime: AttackRuntime,
    runs: AtomicU8,
}

impl Attackers {
    /// The address of the next run: 127.0.0.2, then .3 and so on. Every run
    /// meets the limits afresh, so a refusal that the previous run earned for
    /// 15 minutes does not decide what the next one measures.
    fn next_address(&self) -> anyhow::Result<IpAddr> {
        let run = self.runs.fetch_add(1, Ordering::Relaxed);
        anyhow::ensure!(run < 250, "out of attacker addresses");
        Ok(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + run)))
    }

    /// `count` connections from `from` to `service`, driven by the attacker's runtime.
    fn connections(
        &self,
        service: &Service,
        count: usize,
        from: IpAddr,
    ) -> anyhow::Result<Vec<Channel>> {
        let _runtime = self.runtime.handle().enter();
        connections_from(service, count, Some(from))
    }

    fn spawn<T: Send + 'static>(
        &self,
        task: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        self.runtime.handle().spawn(task)
    }
}

/// The attacker's own tokio runtime, on threads of its own, so its flood
/// never waits in the same task queue as the normal user's calls. Its
/// threads run at the lowest priority (nice 19): a real attacker spends its
/// own machine's cores on making its calls, not ours, so here the attacker
/// gets the cores the services and the normal user leave idle (the *cores
/// busy* column says how much that was), while the services still answer
/// each of its calls at full priority, which is the cost being measured.
#[derive(Debug)]
struct AttackRuntime(Option<Runtime>);

impl AttackRuntime {
    fn new() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("attacker")
            .on_thread_start(|| {
                use thread_priority::{
                    NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
                    set_thread_priority_and_policy, thread_native_id,
                };
                let lowest = set_thread_priority_and_policy(
                    thread_native_id(),
                    ThreadPriority::Min,
                    ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
                );
                if let Err(error) = lowest {
                    eprintln!("the attacker's threads keep their priority: {error:?}");
                }
            })
            .enable_all()
            .build()?;
        Ok(Self(Some(runtime)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .map(Runtime::handle)
            .expect("the runtime lives until drop")
    }
}

impl Drop for AttackRuntime {
    // Dropping a runtime blocks, which is not allowed inside the benchmark's own runtime.
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Makes the normal users (with `args.tasks_per_user` tasks each) and the
/// attacker's accounts, within the default limits: two password checks at a
/// time per address, and the attacker's accounts signed up from several
/// addresses, as one address may sign up only `SIGNUP_MAX_PER_ADDRESS` times
/// an hour.
pub async fn make_users(stack: &Stack, args: &Args) -> anyhow::Result<(Users, Attackers)> {
    let auth: auth_service::Config = defaults();
    let at_once = auth.hash_max_concurrent_per_address;
    let normal = emails("user", NORMAL_USERS);
    let tokens = sign_up(stack, &normal, None, at_once).await?;
    seed_tasks(stack, &tokens, args.tasks_per_user).await?;

    let attacker = emails("attacker", args.attacker_accounts);
    let per_address = usize::try_from(auth.signup_max_per_address)?.max(1);
    let sign_ups = attacker
        .chunks(per_address)
        .enumerate()
        .map(|(index, chunk)| {
            let host = u8::try_from(index + 1).context("too many attacker accounts")?;
            let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, host));
            Ok(sign_up(stack, chunk, Some(from), at_once))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let attacker_tokens = try_join_all(sign_ups).await?.concat();
    let attackers = Attackers {
        accounts: Users {
            emails: attacker,
            tokens: attacker_tokens,
        },
        runtime: AttackRuntime::new()?,
        runs: AtomicU8::new(0),
    };
    Ok((
        Users {
            emails: normal,
            tokens,
        },
        attackers,
    ))
}

/// Runs hostile `scenario` once: calm, then under attack.
pub async fn run(
    target: &Target<'_>,
    attackers: &Attackers,
    scenario: Scenario,
) -> anyhow::Result<Measured> {
    let stack = target.stack;
    let from = attackers.next_address()?;
    let via: Vec<&Service> = match scenario {
        Scenario::HostileStreamsGateway => vec![&stack.gateway],
        Scenario::HostileOversized => vec![&stack.tasks, &stack.gateway],
        _ => vec![&stack.tasks],
    };
    let label = target.label(scenario);
    let calm = normal_user(target, format!("{label} calm"), &via, |_| Vec::new()).await?;
    let label = format!("{label} under attack from {from}");
    let bench_cpu = process::cpu_seconds(std::process::id())?;
    let started = Instant::now();
    let (hostile, mut notes) = match scenario {
        Scenario::HostileLogins => {
            let (users, password) = (&attackers.accounts, PASSWORD);
            login_flood(target, attackers, from, users, password, label).await?
        }
        Scenario::HostileGuesses => {
            // The normal users' emails, and made-up ones to spray over.
            let mut users = target.users.clone();
            users.emails.extend(emails("unknown", UNKNOWN_EMAILS));
            login_flood(target, attackers, from, &users, WRONG_PASSWORD, label).await?
        }
        Scenario::HostileStreams | Scenario::HostileStreamsGateway => {
            stream_hoard(target, attackers, from, &via, label).await?
        }
        Scenario::HostileOversized => oversized(target, attackers, from, label).await?,
        other => anyhow::bail!("{} is not a hostile scenario", other.name()),
    };
    // The attacker's client shares the two cores with the services; how much
    // of them it took (with the normal user's client, which takes little)
    // belongs beside the figures. Opening and closing the streams counts too.
    notes.insert(
        "bench_cores_busy".into(),
        (process::cpu_seconds(std::process::id())? - bench_cpu) / started.elapsed().as_secs_f64(),
    );
    notes.insert("calm_per_second".into(), calm.lists.per_second());
    notes.insert("calm_p50_ms".into(), calm.lists.latency_ms(0.5));
    notes.insert("calm_p99_ms".into(), calm.lists.latency_ms(0.99));
    notes.insert("calm_login_max_ms".into(), max_ms(&calm.logins));
    notes.insert("login_p50_ms".into(), hostile.logins.latency_ms(0.5));
    notes.insert("login_max_ms".into(), max_ms(&hostile.logins));
    Ok(Measured {
        outcome: hostile.lists,
        notes,
        attack: hostile.attack,
    })
}

fn max_ms(outcome: &Outcome) -> f64 {
    outcome.latency.max() as f64 / 1000.0
}

/// What the normal user saw in one phase, and what the attack got meanwhile.
#[derive(Debug)]
struct Normal {
    /// The paced ListTasks; a failed login counts among their errors, since
    /// any failure of the normal user's is a failure of the run.
    lists: Outcome,
    logins: Outcome,
    attack: Vec<(String, Outcome)>,
}

/// A group of the attacker's calls, named for the report.
type AttackGroup = (String, Vec<JoinHandle<Recorder>>);

/// The normal user's phase: ListTasks at 200 calls/s through `via` and a
/// login every `LOGIN_INTERVAL`, while the groups `attack` starts run.
async fn normal_user(
    target: &Target<'_>,
    label: String,
    via: &[&Service],
    attack: impl FnOnce(&Run) -> Vec<AttackGroup>,
) -> anyhow::Result<Normal> {
    let auth = connections(&target.stack.auth, 1)?;
    let mut names = Vec::new();
    let (mut lists, mut groups) = target
        .paced_lists(label, via, |run| {
            let login = login_loop(
                &auth,
                target.users,
                PASSWORD,
                0,
                Some(LOGIN_INTERVAL),
                run.recorder(),
            );
            let mut groups = vec![vec![tokio::spawn(login)]];
            for (name, group) in attack(run) {
                names.push(name);
                groups.push(group);
            }
            groups
        })
        .await?;
    let logins = groups.remove(0);
    for (code, count) in &logins.errors {
        *lists.errors.entry(format!("Login {code}")).or_default() += count;
    }
    Ok(Normal {
        lists,
        logins,
        attack: names.into_iter().zip(groups).collect(),
    })
}

/// `args.attacker_clients` clients from `from` log in with `password` as
/// `users` in turn, back to back.
async fn login_flood(
    target: &Target<'_>,
    attackers: &Attackers,
    from: IpAddr,
    users: &Users,
    password: &'static str,
    label: String,
) -> anyhow::Result<(Normal, Notes)> {
    let channels = attackers.connections(&target.stack.auth, target.args.connections, from)?;
    let clients = target.args.attacker_clients;
    let name = if password == PASSWORD {
        "Login, right password"
    } else {
        "Login, wrong password"
    };
    let normal = normal_user(target, label, &[&target.stack.tasks], |run| {
        let flood = (0..clients)
            .map(|i| {
                let login = login_loop(&channels, users, password, i, None, run.recorder());
                attackers.spawn(login)
            })
            .collect();
        vec![(name.to_owned(), flood)]
    })
    .await?;
    Ok((normal, Notes::new()))
}

/// The attacker opens every WatchTasks stream its accounts may have through
/// `via` (half of them are never read), measures the services' memory with
/// them open, then, while the normal user calls, keeps writing to its own
/// tasks (so every stream has events) and keeps asking for more streams. At
/// the end it closes them and waits until the server has taken the slots back.
async fn stream_hoard(
    target: &Target<'_>,
    attackers: &Attackers,
    from: IpAddr,
    via: &[&Service],
    label: String,
) -> anyhow::Result<(Normal, Notes)> {
    let server = via[0];
    let cap = defaults::<task_service::Config>().max_watches_per_user;
    let accounts = &attackers.accounts;
    let streams = accounts.len() * cap;
    let channels =
        attackers.connections(server, streams.div_ceil(STREAMS_PER_CONNECTION) + 1, from)?;
    // The services whose memory an open stream takes: the task service, and
    // the gateway when the streams pass through it.
    let measured: Vec<&Service> = if server.name == "gateway" {
        vec![&target.stack.tasks, &target.stack.gateway]
    } else {
        vec![&target.stack.tasks]
    };
    let before = rss(&measured)?;

    let clients: Vec<TaskClient> = (0..streams)
        .map(|i| task_client(&channels[i % channels.len()], accounts.token(i / cap)))
        .collect();
    let opened = attackers
        .spawn(open_streams(clients, cap))
        .await?
        .context("cannot open the attacker's streams")?;
    let open = rss(&measured)?;
    let streams_open = opened.read.len() + opened.unread.len();

    let interval =
        Duration::from_secs_f64(STREAM_WRITERS as f64 / f64::from(STREAM_WRITES_PER_SECOND));
    let normal = normal_user(target, label, via, |run| {
        let asking = (0..target.args.attacker_clients)
            .map(|i| {
                let client = task_client(&channels[i % channels.len()], accounts.token(i));
                attackers.spawn(watch_loop(client, run.recorder()))
            })
            .collect();
        let writing = (0..STREAM_WRITERS)
            .map(|i| {
                let channel = &channels[i % channels.len()];
                let clients = (0..accounts.len())
                    .map(|account| task_client(channel, accounts.token(account)))
                    .collect();
                attackers.spawn(write_loop(clients, interval, run.recorder()))
            })
            .collect();
        vec![
            ("WatchTasks beyond the cap".to_owned(), asking),
            (
                format!("CreateTask to its watched accounts, {STREAM_WRITES_PER_SECOND}/s"),
                writing,
            ),
        ]
    })
    .await?;
    let loaded = rss(&measured)?;

    drop(opened);
    let returned = slots_back(&channels[0], &accounts.token(0), cap).await?;
    // Let the server drop the probe's streams too before reading memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let closed = rss(&measured)?;

    let mut notes = Notes::new();
    notes.insert("streams_open".into(), streams_open as f64);
    notes.insert(
        "streams_refused_at_open".into(),
        (streams - streams_open) as f64,
    );
    notes.insert("slots_back_ms".into(), returned.as_secs_f64() * 1000.0);
    for (index, service) in measured.iter().enumerate() {
        let name = service.name;
        notes.insert(format!("{name}_rss_before_mib"), before[index]);
        notes.insert(format!("{name}_rss_open_mib"), open[index]);
        notes.insert(format!("{name}_rss_loaded_mib"), loaded[index]);
        notes.insert(format!("{name}_rss_closed_mib"), closed[index]);
        notes.insert(
            format!("{name}_kib_per_stream"),
            (open[index] - before[index]) * 1024.0 / streams_open.max(1) as f64,
        );
    }
    Ok((normal, notes))
}

/// The attacker's open streams: half are read (and their events thrown
/// away), half never are. Dropping this closes them all.
#[derive(Debug)]
struct OpenStreams {
    read: Vec<ReadStream>,
    unread: Vec<Streaming<WatchTasksResponse>>,
}

/// A stream read by a task of its own, aborted (and so closed) on drop.
#[derive(Debug)]
struct ReadStream(JoinHandle<()>);

impl Drop for ReadStream {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens a WatchTasks stream with each client (`cap` in a row per account).
async fn open_streams(clients: Vec<TaskClient>, cap: usize) -> anyhow::Result<OpenStreams> {
    let mut open = OpenStreams {
        read: Vec::new(),
        unread: Vec::new(),
    };
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let mut opening = stream::iter(clients.into_iter().enumerate())
        .map(|(i, mut client)| async move {
            loop {
                let request = client.watch_tasks(WatchTasksRequest {});
                match tokio::time::timeout(STREAM_OPEN_TIMEOUT, request).await {
                    // Over its address's calls per second: the attacker paces
                    // its opening, so that it does hold every stream it may.
                    Ok(Err(status)) if status.message().starts_with("too many calls") => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    answered => return (i, answered),
                }
            }
        })
        .buffer_unordered(STREAMS_IN_FLIGHT);
    while let Some((i, result)) = opening.next().await {
        let Ok(result) = result else {
            *refused.entry("no answer within 2 s".into()).or_default() += 1;
            continue;
        };
        match result {
            Ok(response) if (i % cap).is_multiple_of(2) => {
                let mut stream = response.into_inner();
                open.read.push(ReadStream(tokio::spawn(async move {
                    while let Ok(Some(_)) = stream.message().await {}
                })));
            }
            Ok(response) => open.unread.push(response.into_inner()),
            Err(status) => *refused.entry(code_name(status.code())).or_default() += 1,
        }
    }
    if !refused.is_empty() {
        eprintln!("  some of the attacker's streams were refused: {refused:?}");
    }
    Ok(open)
}

/// Asks for one more WatchTasks stream, again and again; one it gets is closed at once.
async fn watch_loop(mut client: TaskClient, mut recorder: Recorder) -> Recorder {
    while recorder.running() {
        let stream = recorder
            .time(client.watch_tasks(WatchTasksRequest {}))
            .await;
        drop(stream);
    }
    recorder
}

/// Creates tasks for the accounts of `clients` in turn, one every `interval`.
async fn write_loop(
    clients: Vec<TaskClient>,
    interval: Duration,
    mut recorder: Recorder,
) -> Recorder {
    let mut ticks = tokio::time::interval(interval);
    let mut n = 0;
    while recorder.running() {
        ticks.tick().await;
        let mut client = clients[n % clients.len()].clone();
        let request = CreateTaskRequest {
            task: Some(Task {
                title: format!("attacker write {n}"),
                ..Task::default()
            }),
            request_id: String::new(),
        };
        recorder.time(client.create_task(request)).await;
        n += 1;
    }
    recorder
}

/// How long until one account can open all its `cap` streams again, which
/// it can only once the server has taken back the slots of the closed ones.
async fn slots_back(channel: &Channel, token: &str, cap: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    loop {
        let mut probe = Vec::with_capacity(cap);
        while probe.len() < cap {
            let mut client = task_client(channel, token.to_owned());
            match client.watch_tasks(WatchTasksRequest {}).await {
                Ok(stream) => probe.push(stream),
                // The attacker's address has used up its calls per second:
                // that says nothing about the slots; ask again shortly.
                Err(status) if status.message().starts_with("too many calls") => {
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "still over the call rate after 10 s"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(_) => break,
            }
        }
        if probe.len() == cap {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the closed streams' slots did not come back within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Resident memory of each of `services` now, in MiB.
fn rss(services: &[&Service]) -> anyhow::Result<Vec<f64>> {
    services
        .iter()
        .map(|service| Ok(process::memory(service.pid)?.rss_mib))
        .collect()
}

/// The attacker sends CreateTask and ListTasks messages just over the 64 KiB
/// limit and 4 MiB large, straight to the task service and through the
/// gateway, back to back.
async fn oversized(
    target: &Target<'_>,
    attackers: &Attackers,
    from: IpAddr,
    label: String,
) -> anyhow::Result<(Normal, Notes)> {
    let stack = target.stack;
    let accounts = &attackers.accounts;
    let paths = [
        ("direct", &stack.tasks),
        ("through the gateway", &stack.gateway),
    ];
    let mut channels = Vec::new();
    for (_, server) in paths {
        channels.push(attackers.connections(server, target.args.connections, from)?);
    }
    let just_over_clients = (target.args.attacker_clients / 4).max(1);
    let via = [&stack.tasks, &stack.gateway];
    let normal = normal_user(target, label, &via, |run| {
        let mut groups = Vec::new();
        for ((path, _), channels) in paths.iter().zip(&channels) {
            for (size, clients) in [(JUST_OVER, just_over_clients), (FAR_OVER, FAR_OVER_CLIENTS)] {
                let group = (0..clients)
                    .map(|i| {
                        let client = task_client(&channels[i % channels.len()], accounts.token(i));
                        attackers.spawn(oversized_loop(client, size, run.recorder()))
                    })
                    .collect();
                groups.push((format!("{} KiB messages, {path}", size / 1024), group));
            }
        }
        groups
    })
    .await?;
    Ok((normal, Notes::new()))
}

/// Sends CreateTask and ListTasks in turn, each carrying a string of `size` bytes.
async fn oversized_loop(mut client: TaskClient, size: usize, mut recorder: Recorder) -> Recorder {
    let text = "x".repeat(size);
    let mut n = 0_u64;
    while recorder.running() {
        if n.is_multiple_of(2) {
            let request = CreateTaskRequest {
                task: Some(Task {
                    title: "oversized".into(),
                    description: text.clone(),
                    ..Task::default()
                }),
                request_id: String::new(),
            };
            recorder.time(client.create_task(request)).await;
        } else {
            let request = ListTasksRequest {
                page_size: 20,
                page_token: text.clone(),
                ..ListTasksRequest::default()
            };
            recorder.time(client.list_tasks(request)).await;
        }
        n += 1;
    }
    recorder
}
