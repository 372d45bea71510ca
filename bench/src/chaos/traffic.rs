//! The chaos test's load: users who sign up once and then call through the
//! gateways in a loop, one call at a time (so "the last acknowledged write"
//! of each is well defined), and watchers who keep a WatchTasks stream open,
//! reopen it when it ends and list again. Every call is written down (method,
//! start, end, status); every acknowledged write goes into its user's ledger,
//! which the watchers' lists and the final check are held against.
//!
//! A task's title carries a version (`… v3`) that each update raises, so any
//! copy of a task (an event, a listed or read task) tells which write it shows.

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use proto::{
    auth::v1::{
        GetCurrentUserRequest, LoginRequest, SignUpRequest, auth_service_client::AuthServiceClient,
    },
    task::v1::{
        CreateTaskRequest, GetTaskRequest, ListTasksRequest, Task, UpdateTaskRequest,
        WatchTasksRequest,
    },
};
use service_runtime::bearer::BearerInterceptor as Bearer;
use tokio::{task::JoinHandle, time::Instant};
use tonic::{Code, Status, transport::Channel};

use crate::scenarios::{PASSWORD, TaskClient, emails, task_client};

/// Longest the client waits for one unary call (or a stream's opening).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before a CreateTask is sent again with the same request id.
const CREATE_RETRY_PAUSE: Duration = Duration::from_millis(100);
/// How long a client keeps resending one CreateTask before giving up on it.
const CREATE_GIVE_UP: Duration = Duration::from_secs(60);
/// How long a user waits after an UpdateTask answered UNAVAILABLE before reading the task again.
const AFTER_UNAVAILABLE: Duration = Duration::from_millis(250);
/// Reopening a watch that could not open: from this pause, doubling, up to a second.
const REOPEN_PAUSE: Duration = Duration::from_millis(100);
/// Tasks per page when a watcher (or the final check) lists everything.
const FULL_PAGE: i32 = 100;

/// The calls the load makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Login,
    GetCurrentUser,
    ListTasks,
    CreateTask,
    UpdateTask,
    GetTask,
    /// Opening a stream (until its response headers arrive).
    WatchTasks,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "Login",
            Self::GetCurrentUser => "GetCurrentUser",
            Self::ListTasks => "ListTasks",
            Self::CreateTask => "CreateTask",
            Self::UpdateTask => "UpdateTask",
            Self::GetTask => "GetTask",
            Self::WatchTasks => "WatchTasks",
        }
    }

    /// Calls that may run twice without harm, which the gateways retry after
    /// a replica fails mid-call (every CreateTask here carries a request id).
    pub fn idempotent(self) -> bool {
        matches!(
            self,
            Self::GetCurrentUser
                | Self::ListTasks
                | Self::CreateTask
                | Self::GetTask
                | Self::WatchTasks
        )
    }
}

/// One call as the client saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub started: Instant,
    pub ended: Instant,
    /// `None`: it succeeded.
    pub code: Option<Code>,
    pub message: String,
    /// The gateway (0 or 1) it went through.
    pub gateway: usize,
}

impl Call {
    pub fn failed(&self) -> bool {
        self.code.is_some()
    }
}

/// A watch stream that ended, and how.
#[derive(Clone, Debug)]
pub struct StreamEnd {
    pub watcher: usize,
    pub at: Instant,
    /// The status it ended with; `None` for a clean end.
    pub code: Option<Code>,
    pub message: String,
}

/// A watcher's list of every task, made right after its stream opened.
#[derive(Clone, Debug)]
pub struct Relist {
    pub watcher: usize,
    pub at: Instant,
    /// After a reopening (not the first opening).
    pub reopen: bool,
    /// Those it showed not at all, or at an older version than acknowledged.
    pub missing: Vec<Missing>,
}

/// Everything the load saw.
#[derive(Debug, Default)]
pub struct Journal {
    pub calls: Vec<Call>,
    pub stream_ends: Vec<StreamEnd>,
    pub relists: Vec<Relist>,
}

type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks; the data stays valid if it did.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One user's writes, as acknowledged to the client.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Every acknowledged task, with its last acknowledged write.
    pub acked: BTreeMap<String, Acked>,
    /// The highest version ever sent for each task, acknowledged or not.
    pub sent: HashMap<String, u64>,
    pub creates: u64,
    pub updates: u64,
    /// CreateTasks given up on after `CREATE_GIVE_UP` of retries.
    pub abandoned: u64,
    /// Reads that showed a task older than its acknowledged version.
    pub stale_reads: Vec<String>,
    /// Updates that failed at the client but had been stored (seen on the re-read).
    pub landed_after_failure: u64,
}

/// The last acknowledged write of a task: its version (0: as created), and
/// when the client had the acknowledgement.
#[derive(Clone, Copy, Debug)]
pub struct Acked {
    pub version: u64,
    pub at: Instant,
}

/// An acknowledged write that a list or a watcher did not show.
#[derive(Clone, Debug)]
pub struct Missing {
    pub task: String,
    pub acked: Acked,
    /// The version shown instead, if the task was shown at all.
    pub seen: Option<u64>,
}

impl Missing {
    pub fn describe(&self) -> String {
        let (task, version) = (&self.task, self.acked.version);
        match self.seen {
            None => format!("task {task} (v{version}) absent"),
            Some(seen) => format!("task {task} at v{seen}, v{version} acknowledged"),
        }
    }
}

/// Acknowledged writes of `acked` that `seen` (task id → version) lacks or
/// shows at an older version.
pub fn missing(acked: &BTreeMap<String, Acked>, seen: &HashMap<String, u64>) -> Vec<Missing> {
    acked
        .iter()
        .filter_map(|(task, &acked)| {
            let shown = seen.get(task).copied();
            (shown < Some(acked.version)).then(|| Missing {
                task: task.clone(),
                acked,
                seen: shown,
            })
        })
        .collect()
}

fn title(user: usize, number: u64, version: u64) -> String {
    format!("chaos user {user} task {number} v{version}")
}

/// The version a task's title carries.
fn version_of(task: &Task) -> Option<u64> {
    task.title.rsplit_once(" v")?.1.parse().ok()
}

/// The number a task's title carries.
fn number_of(task: &Task) -> Option<u64> {
    task.title
        .split(" task ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// Makes calls and writes each into the journal.
#[derive(Clone, Debug)]
struct Caller {
    journal: Shared<Journal>,
    gateway: usize,
}

impl Caller {
    async fn call<T>(
        &self,
        method: Method,
        call: impl Future<Output = Result<tonic::Response<T>, Status>>,
    ) -> Result<T, Status> {
        let started = Instant::now();
        let result = match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => result.map(tonic::Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "no answer within the client's {CALL_TIMEOUT:?}"
            ))),
        };
        lock(&self.journal).calls.push(Call {
            method,
            started,
            ended: Instant::now(),
            code: result.as_ref().err().map(Status::code),
            message: result
                .as_ref()
                .err()
                .map(|status| status.message().to_owned())
                .unwrap_or_default(),
            gateway: self.gateway,
        });
        result
    }
}

/// A user: an account, the gateway it calls through, its ledger.
#[derive(Clone, Debug)]
struct Account {
    email: String,
    token: String,
    gateway: usize,
    ledger: Shared<Ledger>,
}

/// The load: made with `Load::prepare`, run with `start`, ended with `stop`.
#[derive(Debug)]
pub struct Load {
    gateways: Vec<Channel>,
    accounts: Vec<Account>,
    /// Each watcher's user, and the token of the watcher's own session.
    watch_sessions: Vec<(usize, String)>,
    journal: Shared<Journal>,
    think: Duration,
}

/// The load while it runs.
#[derive(Debug)]
pub struct Running {
    running: Arc<AtomicBool>,
    writers: Vec<JoinHandle<String>>,
    watchers: Vec<JoinHandle<()>>,
    /// What each watcher knows of its user's tasks: id → version.
    views: Vec<(usize, Shared<HashMap<String, u64>>)>,
}

impl Load {
    /// Signs up `users` users through the gateways (user `i` through gateway
    /// `i % 2`) and logs each in, plus a session of its own for each of
    /// `watchers` watchers (of users 0, 1, …, through the other gateway).
    pub async fn prepare(
        gateways: Vec<Channel>,
        users: usize,
        watchers: usize,
        think: Duration,
    ) -> anyhow::Result<Self> {
        let journal = Shared::default();
        let mut accounts = Vec::new();
        for (index, email) in emails("chaos", users.max(1)).into_iter().enumerate() {
            let gateway = index % gateways.len();
            let mut auth = AuthServiceClient::new(gateways[gateway].clone());
            auth.sign_up(SignUpRequest {
                email: email.clone(),
                password: PASSWORD.into(),
            })
            .await
            .with_context(|| format!("cannot sign {email} up"))?;
            let token = login(&mut auth, &email).await?;
            accounts.push(Account {
                email,
                token,
                gateway,
                ledger: Shared::default(),
            });
        }
        let mut watch_sessions = Vec::new();
        for watcher in 0..watchers {
            let user = watcher % accounts.len();
            let gateway = (accounts[user].gateway + 1) % gateways.len();
            let mut auth = AuthServiceClient::new(gateways[gateway].clone());
            watch_sessions.push((user, login(&mut auth, &accounts[user].email).await?));
        }
        Ok(Self {
            gateways,
            accounts,
            watch_sessions,
            journal,
            think,
        })
    }

    /// Starts every watcher, then every user's loop.
    pub fn start(&self) -> Running {
        let running = Arc::new(AtomicBool::new(true));
        let mut views = Vec::new();
        let mut watchers = Vec::new();
        for (index, (user, token)) in self.watch_sessions.iter().enumerate() {
            let account = &self.accounts[*user];
            let gateway = (account.gateway + 1) % self.gateways.len();
            let view = Shared::default();
            views.push((*user, Arc::clone(&view)));
            let watcher = Watcher {
                index,
                tasks: task_client(&self.gateways[gateway], token.clone()),
                ledger: Arc::clone(&account.ledger),
                view,
                caller: Caller {
                    journal: Arc::clone(&self.journal),
                    gateway,
                },
            };
            watchers.push(tokio::spawn(watcher.run()));
        }
        let writers = self
            .accounts
            .iter()
            .enumerate()
            .map(|(index, account)| {
                let writer = Writer {
                    index,
                    email: account.email.clone(),
                    channel: self.gateways[account.gateway].clone(),
                    token: account.token.clone(),
                    ledger: Arc::clone(&account.ledger),
                    caller: Caller {
                        journal: Arc::clone(&self.journal),
                        gateway: account.gateway,
                    },
                    tasks: HashMap::new(),
                    order: Vec::new(),
                    numbers: 0,
                };
                tokio::spawn(writer.run(Arc::clone(&running), self.think))
            })
            .collect();
        Running {
            running,
            writers,
            watchers,
            views,
        }
    }

    /// The acknowledged tasks of `user`, as its ledger has them now.
    fn acked(&self, user: usize) -> BTreeMap<String, Acked> {
        lock(&self.accounts[user].ledger).acked.clone()
    }

    /// Ends the users' loops (each finishes its round, a CreateTask until it
    /// is acknowledged), then waits up to `settle` for every watcher to have
    /// seen every acknowledged write, and stops the watchers. Returns what
    /// each watcher still lacked, and the journal.
    pub async fn stop(
        &mut self,
        running: Running,
        settle: Duration,
    ) -> anyhow::Result<(Vec<WatcherEnd>, Journal)> {
        running.running.store(false, Ordering::Relaxed);
        for (account, writer) in self.accounts.iter_mut().zip(running.writers) {
            account.token = tokio::time::timeout(CREATE_GIVE_UP * 2, writer)
                .await
                .context("a user's loop did not end")??;
        }
        let deadline = Instant::now() + settle;
        let mut ends;
        loop {
            ends = running
                .views
                .iter()
                .enumerate()
                .map(|(watcher, (user, view))| WatcherEnd {
                    watcher,
                    missing: missing(&self.acked(*user), &lock(view)),
                })
                .collect::<Vec<_>>();
            if ends.iter().all(|end| end.missing.is_empty()) || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for watcher in running.watchers {
            watcher.abort();
        }
        let journal = std::mem::take(&mut *lock(&self.journal));
        Ok((ends, journal))
    }

    /// Lists every user's tasks through the first gateway and holds them
    /// against the ledgers.
    pub async fn verify(&self) -> anyhow::Result<Writes> {
        let mut writes = Writes::default();
        for (user, account) in self.accounts.iter().enumerate() {
            let mut tasks = task_client(&self.gateways[0], account.token.clone());
            let mut attempt = 0;
            let stored = loop {
                attempt += 1;
                match list_everything(&mut tasks, None).await {
                    Ok(stored) => break stored,
                    Err(status) if attempt < 5 => {
                        eprintln!("  the final list of user {user} failed ({status}); again");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(status) => {
                        return Err(status).context("cannot list the tasks for the final check");
                    }
                }
            };
            let ledger = lock(&account.ledger);
            writes.creates += ledger.creates;
            writes.updates += ledger.updates;
            writes.abandoned += ledger.abandoned;
            writes.landed_after_failure += ledger.landed_after_failure;
            writes
                .stale_reads
                .extend(ledger.stale_reads.iter().cloned());
            writes.stored += stored.len() as u64;
            writes.lost.extend(
                missing(&ledger.acked, &stored)
                    .into_iter()
                    .map(|what| format!("user {user}: {}", what.describe())),
            );
            for (id, &version) in &stored {
                match ledger.sent.get(id) {
                    None => writes
                        .unexpected
                        .push(format!("user {user}: task {id} was never acknowledged")),
                    Some(&sent) if version > sent => writes.unexpected.push(format!(
                        "user {user}: task {id} at v{version}, never sent beyond v{sent}"
                    )),
                    Some(_) => {}
                }
            }
        }
        Ok(writes)
    }
}

/// What the final check found.
#[derive(Debug, Default)]
pub struct Writes {
    pub creates: u64,
    pub updates: u64,
    pub stored: u64,
    pub abandoned: u64,
    pub landed_after_failure: u64,
    /// Acknowledged writes not stored (a task absent, or older than acknowledged).
    pub lost: Vec<String>,
    /// Stored tasks no acknowledged create explains (duplicates), or newer than ever sent.
    pub unexpected: Vec<String>,
    pub stale_reads: Vec<String>,
}

/// What a watcher still lacked when the load ended.
#[derive(Debug)]
pub struct WatcherEnd {
    pub watcher: usize,
    pub missing: Vec<Missing>,
}

async fn login(auth: &mut AuthServiceClient<Channel>, email: &str) -> anyhow::Result<String> {
    let response = auth
        .login(LoginRequest {
            email: email.to_owned(),
            password: PASSWORD.into(),
        })
        .await
        .with_context(|| format!("cannot log {email} in"))?;
    Ok(response.into_inner().access_token)
}

/// Every task of the client's user, page by page: id → version. With a
/// caller, each page's call is written down.
async fn list_everything(
    tasks: &mut TaskClient,
    caller: Option<&Caller>,
) -> Result<HashMap<String, u64>, Status> {
    let mut all = HashMap::new();
    let mut page_token = String::new();
    loop {
        let request = ListTasksRequest {
            page_size: FULL_PAGE,
            page_token: page_token.clone(),
            ..ListTasksRequest::default()
        };
        let page = match caller {
            Some(caller) => {
                caller
                    .call(Method::ListTasks, tasks.list_tasks(request))
                    .await?
            }
            None => tasks.list_tasks(request).await?.into_inner(),
        };
        for task in &page.tasks {
            all.insert(task.id.clone(), version_of(task).unwrap_or(0));
        }
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
}

/// What a user knows of one of its tasks.
#[derive(Clone, Debug)]
struct Known {
    number: u64,
    version: u64,
    /// Empty when it must be read again before an update (a write of it failed).
    etag: String,
}

/// One user's loop.
#[derive(Debug)]
struct Writer {
    index: usize,
    email: String,
    channel: Channel,
    token: String,
    ledger: Shared<Ledger>,
    caller: Caller,
    tasks: HashMap<String, Known>,
    /// Task ids in the order they were acknowledged.
    order: Vec<String>,
    numbers: u64,
}

impl Writer {
    /// Rounds of calls until `running` goes false; returns its latest token.
    async fn run(mut self, running: Arc<AtomicBool>, think: Duration) -> String {
        let mut round: usize = 0;
        while running.load(Ordering::Relaxed) {
            round += 1;
            if round.is_multiple_of(16) {
                self.login().await;
            }
            if round % 8 == 4 {
                self.current_user().await;
            }
            self.list().await;
            self.create().await;
            self.update(round).await;
            self.get(round).await;
            tokio::time::sleep(think).await;
        }
        self.token
    }

    fn client(&self) -> TaskClient {
        task_client(&self.channel, self.token.clone())
    }

    async fn login(&mut self) {
        let mut auth = AuthServiceClient::new(self.channel.clone());
        let request = LoginRequest {
            email: self.email.clone(),
            password: PASSWORD.into(),
        };
        if let Ok(response) = self.caller.call(Method::Login, auth.login(request)).await {
            self.token = response.access_token;
        }
    }

    async fn current_user(&mut self) {
        let mut auth = AuthServiceClient::with_interceptor(
            self.channel.clone(),
            Bearer::new(self.token.clone()),
        );
        let _ = self
            .caller
            .call(
                Method::GetCurrentUser,
                auth.get_current_user(GetCurrentUserRequest {}),
            )
            .await;
    }

    async fn list(&mut self) {
        let request = ListTasksRequest {
            page_size: 20,
            ..ListTasksRequest::default()
        };
        let _ = self
            .caller
            .call(Method::ListTasks, self.client().list_tasks(request))
            .await;
    }

    /// A new task, sent again with the same request id until acknowledged.
    async fn create(&mut self) {
        self.numbers += 1;
        let number = self.numbers;
        let request_id = uuid::Uuid::new_v4().to_string();
        let began = Instant::now();
        loop {
            let request = CreateTaskRequest {
                task: Some(Task {
                    title: title(self.index, number, 0),
                    tags: vec!["chaos".into()],
                    ..Task::default()
                }),
                request_id: request_id.clone(),
            };
            let created = self
                .caller
                .call(Method::CreateTask, self.client().create_task(request))
                .await;
            match created.map(|response| response.task) {
                Ok(Some(task)) => {
                    let mut ledger = lock(&self.ledger);
                    let at = Instant::now();
                    ledger
                        .acked
                        .insert(task.id.clone(), Acked { version: 0, at });
                    ledger.sent.insert(task.id.clone(), 0);
                    ledger.creates += 1;
                    self.order.push(task.id.clone());
                    self.tasks.insert(
                        task.id,
                        Known {
                            number,
                            version: 0,
                            etag: task.etag,
                        },
                    );
                    return;
                }
                _ if began.elapsed() < CREATE_GIVE_UP => {
                    tokio::time::sleep(CREATE_RETRY_PAUSE).await;
                }
                _ => {
                    lock(&self.ledger).abandoned += 1;
                    return;
                }
            }
        }
    }

    /// A new title (one version up) for one of the user's tasks, with the
    /// etag last seen; after a failure the task is read again, which also
    /// tells whether the failed update was stored anyway.
    async fn update(&mut self, round: usize) {
        let Some(id) = self.pick(round, 7) else {
            return;
        };
        if self.tasks[&id].etag.is_empty() && !self.reread(&id, None).await {
            return;
        }
        let known = self.tasks[&id].clone();
        let version = {
            let mut ledger = lock(&self.ledger);
            let version = ledger
                .sent
                .get(&id)
                .copied()
                .unwrap_or(0)
                .max(known.version)
                + 1;
            ledger.sent.insert(id.clone(), version);
            version
        };
        let request = UpdateTaskRequest {
            task: Some(Task {
                id: id.clone(),
                title: title(self.index, known.number, version),
                etag: known.etag.clone(),
                ..Task::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        };
        let updated = self
            .caller
            .call(Method::UpdateTask, self.client().update_task(request))
            .await;
        match updated.map(|response| response.task) {
            Ok(Some(task)) => {
                let mut ledger = lock(&self.ledger);
                let at = Instant::now();
                ledger.acked.insert(id.clone(), Acked { version, at });
                ledger.updates += 1;
                self.tasks.insert(
                    id,
                    Known {
                        number: known.number,
                        version,
                        etag: task.etag,
                    },
                );
            }
            failed => {
                if let Some(known) = self.tasks.get_mut(&id) {
                    known.etag.clear();
                }
                // UNAVAILABLE says "retry shortly", and a client that reads at
                // once can beat the failed call's own commit (sent by a dying
                // replica just before its connection broke) and then conflict
                // with it: wait as a client backing off would.
                if failed.is_err_and(|status| status.code() == Code::Unavailable) {
                    tokio::time::sleep(AFTER_UNAVAILABLE).await;
                }
                self.reread(&id, Some(version)).await;
            }
        }
    }

    /// GetTask of one of the user's tasks, checked against what was acknowledged.
    async fn get(&mut self, round: usize) {
        if let Some(id) = self.pick(round, 13) {
            self.reread(&id, None).await;
        }
    }

    /// Reads a task: notes a read older than acknowledged, and whether the
    /// failed write of `failed_version` was stored; keeps its etag. Whether it read.
    async fn reread(&mut self, id: &str, failed_version: Option<u64>) -> bool {
        let request = GetTaskRequest { id: id.to_owned() };
        let read = self
            .caller
            .call(Method::GetTask, self.client().get_task(request))
            .await;
        let Ok(Some(task)) = read.map(|response| response.task) else {
            return false;
        };
        let version = version_of(&task).unwrap_or(0);
        {
            let mut ledger = lock(&self.ledger);
            let acked = ledger.acked.get(id).map_or(0, |acked| acked.version);
            if version < acked {
                ledger.stale_reads.push(format!(
                    "task {id} read at v{version}, v{acked} acknowledged"
                ));
            }
            if failed_version == Some(version) {
                ledger.landed_after_failure += 1;
            }
        }
        let number = number_of(&task).unwrap_or_default();
        self.tasks.insert(
            id.to_owned(),
            Known {
                number,
                version,
                etag: task.etag,
            },
        );
        true
    }

    /// One of the user's tasks, varying with the round.
    fn pick(&self, round: usize, stride: usize) -> Option<String> {
        if self.order.is_empty() {
            return None;
        }
        Some(self.order[round.wrapping_mul(stride) % self.order.len()].clone())
    }
}

/// One watcher's loop: open, list everything, follow the events; again when
/// the stream ends.
#[derive(Debug)]
struct Watcher {
    index: usize,
    tasks: TaskClient,
    ledger: Shared<Ledger>,
    view: Shared<HashMap<String, u64>>,
    caller: Caller,
}

impl Watcher {
    async fn run(mut self) {
        let mut opened = 0;
        let mut pause = REOPEN_PAUSE;
        loop {
            let mut stream = match self
                .caller
                .call(
                    Method::WatchTasks,
                    self.tasks.watch_tasks(WatchTasksRequest {}),
                )
                .await
            {
                Ok(stream) => stream,
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            opened += 1;
            // The stream is open (the server subscribed before answering), so
            // nothing written from now on is missed; the list covers what
            // came before. It must show every write acknowledged by now.
            let expected = lock(&self.ledger).acked.clone();
            let at = Instant::now();
            let Ok(listed) = list_everything(&mut self.tasks, Some(&self.caller)).await else {
                // Open again, and list again.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            };
            {
                let mut view = lock(&self.view);
                for (id, &version) in &listed {
                    let seen = view.entry(id.clone()).or_default();
                    *seen = (*seen).max(version);
                }
            }
            pause = REOPEN_PAUSE;
            lock(&self.caller.journal).relists.push(Relist {
                watcher: self.index,
                at,
                reopen: opened > 1,
                missing: missing(&expected, &listed),
            });
            let ended = loop {
                match stream.message().await {
                    Ok(Some(message)) => {
                        if let Some(task) = message.event.and_then(|event| event.task) {
                            let version = version_of(&task).unwrap_or(0);
                            let mut view = lock(&self.view);
                            let seen = view.entry(task.id).or_default();
                            *seen = (*seen).max(version);
                        }
                    }
                    Ok(None) => break None,
                    Err(status) => break Some(status),
                }
            };
            lock(&self.caller.journal).stream_ends.push(StreamEnd {
                watcher: self.index,
                at: Instant::now(),
                code: ended.as_ref().map(Status::code),
                message: ended
                    .map(|status| status.message().to_owned())
                    .unwrap_or_default(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_carries_its_number_and_version() {
        let task = Task {
            title: title(3, 17, 4),
            ..Task::default()
        };
        assert_eq!(number_of(&task), Some(17));
        assert_eq!(version_of(&task), Some(4));
    }

    #[test]
    fn missing_names_absent_and_older_tasks_only() {
        let acked = |version| Acked {
            version,
            at: Instant::now(),
        };
        let acked = BTreeMap::from([
            ("a".into(), acked(2)),
            ("b".into(), acked(0)),
            ("c".into(), acked(1)),
        ]);
        let seen = HashMap::from([("a".into(), 3), ("c".into(), 0)]);
        let missing: Vec<String> = missing(&acked, &seen)
            .iter()
            .map(Missing::describe)
            .collect();
        assert_eq!(
            missing,
            ["task b (v0) absent", "task c at v0, v1 acknowledged"]
        );
    }
}
