//! The scenarios: each drives one kind of call against the running stack and
//! returns what one run measured.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use proto::{
    auth::v1::{
        LoginRequest, SignUpRequest, ValidateTokenRequest, auth_service_client::AuthServiceClient,
        token_service_client::TokenServiceClient,
    },
    task::v1::{
        CreateTaskRequest, GetTaskRequest, ListTasksRequest, Task, UpdateTaskRequest,
        WatchTasksRequest, task_service_client::TaskServiceClient,
    },
};
use secrecy::SecretString;
use service_runtime::bearer::BearerInterceptor as Bearer;
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tonic::{
    codegen::{Body, Bytes, StdError},
    service::interceptor::InterceptedService,
    transport::{Channel, Endpoint},
};
use tonic_web::GrpcWebClientLayer;
use tower::Layer;

use crate::{
    cli::{Args, Scenario},
    hostile::{self, Attackers},
    load::{self, Outcome, Recorder, Run, Window, code_name},
    stack::{Service, Stack},
};

/// The password of every account the benchmark makes.
pub const PASSWORD: &str = "bench horse battery staple";

/// The longest any call may go unanswered before it fails: a server that
/// stops answering makes a run fail instead of hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Extra figures a scenario reports beside its outcome, by name.
pub type Notes = BTreeMap<String, f64>;

/// What one run of a scenario measured.
#[derive(Clone, Debug)]
pub struct Measured {
    pub outcome: Outcome,
    pub notes: Notes,
    /// In the hostile scenarios: what each kind of the attacker's calls got.
    pub attack: Vec<(String, Outcome)>,
}

impl From<Outcome> for Measured {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            notes: Notes::new(),
            attack: Vec::new(),
        }
    }
}

/// The users made before the load, with their access tokens.
#[derive(Clone, Debug)]
pub struct Users {
    pub emails: Vec<String>,
    pub tokens: Vec<String>,
}

impl Users {
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The user client `index` acts as.
    pub fn token(&self, index: usize) -> String {
        self.tokens[index % self.len()].clone()
    }

    pub fn email(&self, index: usize) -> String {
        self.emails[index % self.emails.len()].clone()
    }
}

/// `count` connections to `service`: each `Channel` is one HTTP/2 connection.
pub fn connections(service: &Service, count: usize) -> anyhow::Result<Vec<Channel>> {
    connections_from(service, count, None)
}

/// `count` connections to `service` from the local address `from` (Linux
/// routes all of 127.0.0.0/8 to loopback, so any such address is another
/// client to the services), or from the default one.
pub fn connections_from(
    service: &Service,
    count: usize,
    from: Option<IpAddr>,
) -> anyhow::Result<Vec<Channel>> {
    connections_to(&service.url(), count, from)
}

/// `count` connections to `url`, from the local address `from` or the default one.
fn connections_to(url: &str, count: usize, from: Option<IpAddr>) -> anyhow::Result<Vec<Channel>> {
    (0..count.max(1))
        .map(|_| {
            Ok(Endpoint::from_shared(url.to_owned())?
                .tcp_nodelay(true)
                .local_address(from)
                .timeout(CALL_TIMEOUT)
                .connect_lazy())
        })
        .collect()
}

pub type TaskClient = TaskServiceClient<InterceptedService<Channel, Bearer>>;

pub fn task_client(channel: &Channel, token: String) -> TaskClient {
    TaskServiceClient::with_interceptor(channel.clone(), Bearer::new(token))
}

/// `count` email addresses of the benchmark's accounts, named `{kind}{i}`
/// and unique to this benchmark run.
pub fn emails(kind: &str, count: usize) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    (0..count.max(1))
        .map(|i| format!("{kind}{i}.{}@bench.example.com", &run[..8]))
        .collect()
}

/// Signs up `args.users` users, logs each in and gives each `args.tasks_per_user` tasks.
pub async fn make_users(stack: &Stack, args: &Args) -> anyhow::Result<Users> {
    let emails = emails("user", args.users);
    let tokens = sign_up(stack, &emails, None, 8).await?;
    seed_tasks(stack, &tokens, args.tasks_per_user).await?;
    Ok(Users { emails, tokens })
}

/// Signs up `emails` from the local address `from`, `concurrency` at a
/// time, logs each in and returns their access tokens.
pub async fn sign_up(
    stack: &Stack,
    emails: &[String],
    from: Option<IpAddr>,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let auth = AuthServiceClient::new(connections_from(&stack.auth, 1, from)?.remove(0));
    stream::iter(emails.to_vec())
        .map(|email| {
            let mut auth = auth.clone();
            async move {
                auth.sign_up(SignUpRequest {
                    email: email.clone(),
                    password: PASSWORD.into(),
                })
                .await?;
                let login = auth
                    .login(LoginRequest {
                        email,
                        password: PASSWORD.into(),
                    })
                    .await?;
                Ok::<_, tonic::Status>(login.into_inner().access_token)
            }
        })
        .buffered(concurrency)
        .try_collect()
        .await
        .context("cannot make the benchmark's users")
}

/// Gives each user of `tokens` `per_user` tasks.
pub async fn seed_tasks(stack: &Stack, tokens: &[String], per_user: usize) -> anyhow::Result<()> {
    let channel = connections(&stack.tasks, 1)?.remove(0);
    let creates = tokens
        .iter()
        .flat_map(|token| (0..per_user).map(|n| (task_client(&channel, token.clone()), n)));
    stream::iter(creates)
        .map(|(mut client, n)| async move {
            client
                .create_task(CreateTaskRequest {
                    task: Some(Task {
                        title: format!("seeded task {n}"),
                        description: "made before the load".into(),
                        tags: vec!["bench".into(), format!("group-{}", n % 5)],
                        ..Task::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .map(drop)
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await
        .context("cannot seed the benchmark's tasks")
}

/// What a scenario runs against.
#[derive(Debug)]
pub struct Target<'a> {
    pub args: &'a Args,
    pub stack: &'a Stack,
    pub floor: &'a Service,
    pub users: &'a Users,
    /// The attacker's accounts, on a stack with the default abuse limits.
    pub attackers: Option<&'a Attackers>,
}

impl Target<'_> {
    pub fn window(&self) -> Window {
        Window {
            warmup: self.args.warmup,
            duration: self.args.duration,
        }
    }

    pub fn label(&self, scenario: Scenario) -> String {
        format!("{} ({})", scenario.name(), self.stack.engine)
    }

    /// Runs `scenario` once.
    pub async fn run(&self, scenario: Scenario) -> anyhow::Result<Measured> {
        match scenario {
            Scenario::Floor => self.list(scenario, self.floor, &[self.floor]).await,
            Scenario::List => {
                let services = self.stack.services();
                self.list(scenario, &self.stack.tasks, &services).await
            }
            Scenario::ListGateway => {
                let services = self.stack.services();
                self.list(scenario, &self.stack.gateway, &services).await
            }
            Scenario::ListGrpcWeb => self.list_grpc_web().await,
            Scenario::Create => self.create().await,
            Scenario::Update => self.update().await,
            Scenario::Validate => self.validate().await,
            Scenario::Login => self.login().await,
            Scenario::LoginStorm => self.login_storm().await,
            Scenario::Watch => self.watch().await,
            Scenario::HostileLogins
            | Scenario::HostileGuesses
            | Scenario::HostileStreams
            | Scenario::HostileStreamsGateway
            | Scenario::HostileOversized => {
                let attackers = self
                    .attackers
                    .context("the hostile scenarios need the attacker's accounts")?;
                hostile::run(self, attackers, scenario).await
            }
        }
    }

    /// ListTasks (a page of 20) over gRPC to `server`, from every client.
    async fn list(
        &self,
        scenario: Scenario,
        server: &Service,
        services: &[&Service],
    ) -> anyhow::Result<Measured> {
        let channels = connections(server, self.args.connections)?;
        let clients = (0..self.args.clients)
            .map(|i| task_client(&channels[i % channels.len()], self.users.token(i)))
            .collect::<Vec<_>>();
        let outcome = load::drive(
            self.label(scenario),
            self.window(),
            services,
            clients.len(),
            |i, recorder| list_loop(clients[i].clone(), recorder, None),
        )
        .await?;
        Ok(outcome.into())
    }

    /// ListTasks as grpc-web over HTTP/1.1 through the gateway, as a browser calls it.
    async fn list_grpc_web(&self) -> anyhow::Result<Measured> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http1 = Client::builder(TokioExecutor::new()).build(connector);
        let origin: tonic::codegen::http::Uri = self.stack.gateway.url().parse()?;
        let clients = (0..self.args.clients)
            .map(|i| {
                TaskServiceClient::with_origin(
                    InterceptedService::new(
                        GrpcWebClientLayer::new().layer(http1.clone()),
                        Bearer::new(self.users.token(i)),
                    ),
                    origin.clone(),
                )
            })
            .collect::<Vec<_>>();
        let outcome = load::drive(
            self.label(Scenario::ListGrpcWeb),
            self.window(),
            &self.stack.services(),
            clients.len(),
            |i, recorder| list_loop(clients[i].clone(), recorder, None),
        )
        .await?;
        Ok(outcome.into())
    }

    async fn create(&self) -> anyhow::Result<Measured> {
        let channels = connections(&self.stack.tasks, self.args.connections)?;
        let outcome = load::drive(
            self.label(Scenario::Create),
            self.window(),
            &self.stack.services(),
            self.args.clients,
            |i, mut recorder| {
                let mut client = task_client(&channels[i % channels.len()], self.users.token(i));
                async move {
                    let mut n = 0;
                    while recorder.running() {
                        n += 1;
                        let task = Task {
                            title: format!("bench task {i}.{n}"),
                            tags: vec!["bench".into()],
                            ..Task::default()
                        };
                        recorder
                            .time(client.create_task(CreateTaskRequest {
                                task: Some(task),
                                request_id: String::new(),
                            }))
                            .await;
                    }
                    recorder
                }
            },
        )
        .await?;
        Ok(outcome.into())
    }

    /// Each client completes and reopens a task of its own, sending the etag it last saw.
    async fn update(&self) -> anyhow::Result<Measured> {
        let channels = connections(&self.stack.tasks, self.args.connections)?;
        let mut owned = Vec::with_capacity(self.args.clients);
        for i in 0..self.args.clients {
            let mut client = task_client(&channels[i % channels.len()], self.users.token(i));
            let task = client
                .create_task(CreateTaskRequest {
                    task: Some(Task {
                        title: format!("toggled by client {i}"),
                        ..Task::default()
                    }),
                    request_id: String::new(),
                })
                .await?
                .into_inner()
                .task
                .context("CreateTask returned no task")?;
            owned.push((client, task));
        }
        let outcome = load::drive(
            self.label(Scenario::Update),
            self.window(),
            &self.stack.services(),
            owned.len(),
            |i, mut recorder| {
                let (mut client, mut task) = owned[i].clone();
                async move {
                    while recorder.running() {
                        let request = UpdateTaskRequest {
                            task: Some(Task {
                                id: task.id.clone(),
                                completed: !task.completed,
                                etag: task.etag.clone(),
                                ..Task::default()
                            }),
                            update_mask: Some(prost_types::FieldMask {
                                paths: vec!["completed".into()],
                            }),
                        };
                        let updated = recorder.time(client.update_task(request)).await;
                        match updated.and_then(|response| response.into_inner().task) {
                            Some(updated) => task = updated,
                            // After a failure, start again from the stored version.
                            None => {
                                let current = client
                                    .get_task(GetTaskRequest {
                                        id: task.id.clone(),
                                    })
                                    .await;
                                if let Some(current) =
                                    current.ok().and_then(|response| response.into_inner().task)
                                {
                                    task = current;
                                }
                            }
                        }
                    }
                    recorder
                }
            },
        )
        .await?;
        Ok(outcome.into())
    }

    async fn validate(&self) -> anyhow::Result<Measured> {
        // TokenService is served on the internal listener only.
        let internal = format!("http://{}", self.stack.auth_internal);
        let channels = connections_to(&internal, self.args.connections, None)?;
        let outcome = load::drive(
            self.label(Scenario::Validate),
            self.window(),
            &self.stack.services(),
            self.args.clients,
            |i, mut recorder| {
                let mut client = TokenServiceClient::new(channels[i % channels.len()].clone());
                let access_token = self.users.token(i);
                async move {
                    while recorder.running() {
                        let request = ValidateTokenRequest {
                            access_token: access_token.clone(),
                        };
                        recorder.time(client.validate_token(request)).await;
                    }
                    recorder
                }
            },
        )
        .await?;
        Ok(outcome.into())
    }

    /// Logins from twice as many clients as there are cores (the hashing
    /// pool's size), so the pool never waits for work.
    async fn login(&self) -> anyhow::Result<Measured> {
        let hash = one_hash_time().await?;
        let pool = cores();
        let channels = connections(&self.stack.auth, self.args.connections)?;
        let outcome = load::drive(
            self.label(Scenario::Login),
            self.window(),
            &self.stack.services(),
            pool * 2,
            |i, recorder| login_loop(&channels, self.users, PASSWORD, i, None, recorder),
        )
        .await?;
        let mut notes = Notes::new();
        notes.insert("hash_ms".into(), hash.as_secs_f64() * 1000.0);
        notes.insert(
            "hash_limit_per_second".into(),
            pool as f64 / hash.as_secs_f64(),
        );
        Ok(Measured {
            outcome,
            notes,
            attack: Vec::new(),
        })
    }

    /// ListTasks at a steady 200 calls/s, first alone (the calm figure, for
    /// comparison) and then while `cores` clients log in back to back: the
    /// hashing pool is full all the time.
    async fn login_storm(&self) -> anyhow::Result<Measured> {
        let label = self.label(Scenario::LoginStorm);
        let tasks = [&self.stack.tasks];
        let (calm, _) = self
            .paced_lists(format!("{label} calm"), &tasks, |_| Vec::new())
            .await?;
        let auth_channels = connections(&self.stack.auth, 1)?;
        let (mut outcome, beside) = self
            .paced_lists(format!("{label} storm"), &tasks, |run| {
                let logins = (0..cores())
                    .map(|i| {
                        let recorder = run.recorder();
                        tokio::spawn(login_loop(
                            &auth_channels,
                            self.users,
                            PASSWORD,
                            i,
                            None,
                            recorder,
                        ))
                    })
                    .collect();
                vec![logins]
            })
            .await?;
        let logins = &beside[0];
        for (code, count) in &logins.errors {
            *outcome.errors.entry(format!("Login {code}")).or_default() += count;
        }
        let mut notes = Notes::new();
        notes.insert("logins_per_second".into(), logins.per_second());
        notes.insert("calm_p99_ms".into(), calm.latency_ms(0.99));
        Ok(Measured {
            outcome,
            notes,
            attack: Vec::new(),
        })
    }

    /// ListTasks from 4 clients at 50 calls/s each, the clients spread over
    /// `servers`, while the groups of tasks `beside` starts run too; returns
    /// the ListTasks' outcome and each group's.
    pub async fn paced_lists(
        &self,
        label: String,
        servers: &[&Service],
        beside: impl FnOnce(&Run) -> Vec<Vec<JoinHandle<Recorder>>>,
    ) -> anyhow::Result<(Outcome, Vec<Outcome>)> {
        const LIST_CLIENTS: usize = 4;
        const LIST_INTERVAL: Duration = Duration::from_millis(20);
        let channels = servers
            .iter()
            .map(|server| connections(server, self.args.connections))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let run = Run::start(label, self.window(), &self.stack.services())?;
        let beside = beside(&run);
        let lists: Vec<_> = (0..LIST_CLIENTS)
            .map(|i| {
                let channels = &channels[i % channels.len()];
                let channel = &channels[i / servers.len() % channels.len()];
                let client = task_client(channel, self.users.token(i));
                tokio::spawn(list_loop(client, run.recorder(), Some(LIST_INTERVAL)))
            })
            .collect();
        let cpu = run.watch().await?;
        let mut groups = Vec::with_capacity(beside.len());
        for group in beside {
            let mut recorders = Vec::with_capacity(group.len());
            for task in group {
                recorders.push(task.await?);
            }
            groups.push(run.finish(&recorders, &cpu)?);
        }
        let mut listed = Vec::with_capacity(LIST_CLIENTS);
        for task in lists {
            listed.push(task.await?);
        }
        Ok((run.finish(&listed, &cpu)?, groups))
    }

    /// `watchers_per_user` open WatchTasks streams for every user; writes at a
    /// steady rate, each to one user; the latency of a write is the time from
    /// sending it until the last of that user's watchers has its event.
    async fn watch(&self) -> anyhow::Result<Measured> {
        let users = self.users.len();
        let per_user = self.args.watchers_per_user.max(1);
        let streams = users * per_user;
        // At most 100 streams share a connection, as browsers' tabs would spread them.
        let channels = connections(&self.stack.tasks, streams.div_ceil(100))?;
        let (events, mut received) = mpsc::unbounded_channel::<Watched>();
        let mut watchers = Vec::with_capacity(streams);
        for stream_index in 0..streams {
            let user = stream_index % users;
            let mut client = task_client(
                &channels[stream_index % channels.len()],
                self.users.token(user),
            );
            let mut stream = client
                .watch_tasks(WatchTasksRequest {})
                .await
                .context("cannot open a WatchTasks stream")?
                .into_inner();
            let events = events.clone();
            watchers.push(tokio::spawn(async move {
                loop {
                    let message = match stream.message().await {
                        Ok(Some(message)) => message,
                        Ok(None) => return,
                        Err(status) => {
                            let _ = events.send(Watched::Ended(code_name(status.code())));
                            return;
                        }
                    };
                    let seq = message
                        .event
                        .and_then(|event| event.task)
                        .and_then(|task| task.title.strip_prefix("watch ")?.parse().ok());
                    if let Some(seq) = seq {
                        let _ = events.send(Watched::Delivered(seq, Instant::now()));
                    }
                }
            }));
        }

        let run = Run::start(
            self.label(Scenario::Watch),
            self.window(),
            &self.stack.services(),
        )?;
        let mut collector = run.recorder();
        let (_, until) = collector.window();
        let writers = 4;
        let interval = Duration::from_secs_f64(
            writers as f64 / f64::from(self.args.watch_writes_per_second.max(1)),
        );
        let next_seq = Arc::new(AtomicU64::new(0));
        let write_channels = connections(&self.stack.tasks, 1)?;
        let writer_tasks: Vec<_> = (0..writers)
            .map(|_| {
                let (events, next_seq) = (events.clone(), next_seq.clone());
                let clients: Vec<_> = (0..users)
                    .map(|user| task_client(&write_channels[0], self.users.token(user)))
                    .collect();
                tokio::spawn(async move {
                    let mut ticks = tokio::time::interval(interval);
                    while Instant::now() < until {
                        ticks.tick().await;
                        let seq = next_seq.fetch_add(1, Ordering::Relaxed);
                        let mut client = clients[seq as usize % clients.len()].clone();
                        let _ = events.send(Watched::Sent(seq, Instant::now()));
                        let created = client
                            .create_task(CreateTaskRequest {
                                task: Some(Task {
                                    title: format!("watch {seq}"),
                                    ..Task::default()
                                }),
                                request_id: String::new(),
                            })
                            .await;
                        if let Err(status) = created {
                            let _ = events.send(Watched::Failed(seq, code_name(status.code())));
                        }
                    }
                })
            })
            .collect();
        drop(events);

        let collect = tokio::spawn(async move {
            let mut pending: HashMap<u64, (Instant, usize)> = HashMap::new();
            let grace = until + Duration::from_secs(2);
            loop {
                let next = tokio::time::timeout_at(grace, received.recv()).await;
                match next {
                    Ok(Some(Watched::Sent(seq, at))) => {
                        pending.insert(seq, (at, per_user));
                    }
                    Ok(Some(Watched::Delivered(seq, at))) => {
                        if let Some((sent, remaining)) = pending.get_mut(&seq) {
                            *remaining -= 1;
                            if *remaining == 0 {
                                collector.record(*sent, at - *sent, None);
                                pending.remove(&seq);
                            }
                        }
                    }
                    Ok(Some(Watched::Failed(seq, code))) => {
                        if let Some((sent, _)) = pending.remove(&seq) {
                            collector.record(sent, sent.elapsed(), Some(code));
                        }
                    }
                    Ok(Some(Watched::Ended(code))) => {
                        collector.record(
                            Instant::now(),
                            Duration::ZERO,
                            Some(format!("stream ended: {code}")),
                        );
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            for (sent, _) in pending.into_values() {
                collector.record(
                    sent,
                    sent.elapsed(),
                    Some("not delivered to every watcher".into()),
                );
            }
            collector
        });
        let cpu = run.watch().await?;
        for writer in writer_tasks {
            writer.await?;
        }
        // Let the last writes arrive, then close the streams.
        tokio::time::sleep_until(until + Duration::from_secs(2)).await;
        for watcher in &watchers {
            watcher.abort();
        }
        let collector = collect.await?;
        let outcome = run.finish(&[collector], &cpu)?;
        let mut notes = Notes::new();
        notes.insert("streams".into(), streams as f64);
        notes.insert(
            "deliveries_per_second".into(),
            outcome.per_second() * per_user as f64,
        );
        Ok(Measured {
            outcome,
            notes,
            attack: Vec::new(),
        })
    }
}

/// What the watch scenario's streams and writers report.
#[derive(Debug)]
enum Watched {
    Sent(u64, Instant),
    Delivered(u64, Instant),
    Failed(u64, String),
    Ended(String),
}

/// Calls ListTasks for a page of 20 until the window closes; with `every`,
/// at that pace instead of back to back.
pub async fn list_loop<T>(
    mut client: TaskServiceClient<T>,
    mut recorder: Recorder,
    every: Option<Duration>,
) -> Recorder
where
    T: tonic::client::GrpcService<tonic::body::Body> + Send,
    T::Future: Send,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut ticks = every.map(tokio::time::interval);
    while recorder.running() {
        if let Some(ticks) = &mut ticks {
            ticks.tick().await;
        }
        let request = ListTasksRequest {
            page_size: 20,
            ..ListTasksRequest::default()
        };
        recorder.time(client.list_tasks(request)).await;
    }
    recorder
}

/// Logs in with `password` as user `i` (and the next ones, in turn) until
/// the window closes; with `every`, at that pace instead of back to back.
pub fn login_loop(
    channels: &[Channel],
    users: &Users,
    password: &'static str,
    i: usize,
    every: Option<Duration>,
    mut recorder: Recorder,
) -> impl Future<Output = Recorder> + Send + 'static {
    let mut client = AuthServiceClient::new(channels[i % channels.len()].clone());
    let users = users.clone();
    async move {
        let mut ticks = every.map(tokio::time::interval);
        let mut n = i;
        while recorder.running() {
            if let Some(ticks) = &mut ticks {
                ticks.tick().await;
            }
            let request = LoginRequest {
                email: users.email(n),
                password: password.into(),
            };
            recorder.time(client.login(request)).await;
            n += 1;
        }
        recorder
    }
}

/// CPU cores, which is also the auth service's default hashing pool.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The time of one argon2id verification with the auth service's own
/// hasher and parameters: the median of five, on an otherwise idle stack.
async fn one_hash_time() -> anyhow::Result<Duration> {
    let hasher = auth_service::password::Hasher::new(1, 1)
        .await
        .map_err(|error| anyhow::anyhow!(error.chain()))?;
    let email = auth_service::email::Email::parse("hash@bench.example.com")?;
    let password = auth_service::password::Password::parse(PASSWORD.into(), &email, "password")?;
    let phc = hasher.hash(&password).await?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        hasher
            .verify(SecretString::from(PASSWORD), Some(phc.clone()))
            .await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}
