//! Load benchmark of the whole stack, started in this process on loopback:
//! the cost of ValidateToken and Login at the auth service, authenticated
//! ListTasks (a page of 20) and CreateTask at the task service, and the same
//! ListTasks through the gateway as native gRPC and as grpc-web.
//!
//!     cargo run --release -p gateway --example load                 # SQLite
//!     TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!         cargo run --release -p gateway --example load             # PostgreSQL
//!
//! Each run prints throughput and p50/p99 latency per scenario.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use proto::{
    auth::v1::{
        LoginRequest, SignUpRequest, ValidateTokenRequest, auth_service_client::AuthServiceClient,
        token_service_client::TokenServiceClient,
    },
    task::v1::{CreateTaskRequest, ListTasksRequest, Task, task_service_client::TaskServiceClient},
};
use service_runtime::test_database::TestDatabase;
use tokio::net::TcpListener;
use tonic::{Request, Status, service::Interceptor, transport::Channel};
use tonic_web::GrpcWebClientLayer;
use tower::Layer;

const PASSWORD: &str = "correct horse battery";

#[derive(Clone)]
struct Bearer(Arc<str>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| Status::internal("bad token"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid URL")
        .connect_lazy()
}

/// Runs `total` calls of `call` from `concurrency` workers; prints the figures.
async fn measure<F, Fut>(name: &str, total: usize, concurrency: usize, call: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), Status>> + Send,
{
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = worker;
                while i < total {
                    let begun = Instant::now();
                    call(i).await.expect("call failed");
                    latencies.push(begun.elapsed());
                    i += concurrency;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await.expect("worker panicked"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name:<46} {total:>6} calls  c={concurrency:<3} {:>8.0} calls/s  p50 {:>8.2} ms  p99 {:>8.2} ms",
        total as f64 / elapsed.as_secs_f64(),
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
    );
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

#[tokio::main]
async fn main() {
    service_runtime::telemetry::init();
    let auth_database = TestDatabase::create().await;
    let task_database = TestDatabase::create().await;
    let engine = if auth_database.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let data_dir =
        std::env::temp_dir().join(format!("todo-load-{}", uuid::Uuid::new_v4().simple()));

    let auth_listener = bind().await;
    let auth_addr = auth_listener.local_addr().expect("addr");
    let mut auth_config =
        auth_service::Config::new(data_dir.join("auth"), Some(auth_database.url.clone()));
    auth_config.jwt_secret = Some("load-test-secret-that-is-long-enough-0123".into());
    auth_config.login_max_failures = u32::MAX;
    tokio::spawn(auth_service::serve(
        auth_config,
        auth_listener,
        std::future::pending(),
    ));

    let task_listener = bind().await;
    let task_addr = task_listener.local_addr().expect("addr");
    let task_config = task_service::Config::new(
        data_dir.join("tasks"),
        Some(task_database.url.clone()),
        format!("http://{auth_addr}"),
    );
    tokio::spawn(task_service::serve(
        task_config,
        task_listener,
        std::future::pending(),
    ));

    let gateway_listener = bind().await;
    let gateway_addr = gateway_listener.local_addr().expect("addr");
    let gateway_config = gateway::Config::new(
        vec![format!("http://{auth_addr}")],
        vec![format!("http://{task_addr}")],
    );
    tokio::spawn(gateway::serve(
        gateway_config,
        gateway_listener,
        std::future::pending(),
    ));

    let mut auth = AuthServiceClient::new(channel(auth_addr));
    auth.sign_up(SignUpRequest {
        email: "load@example.com".into(),
        password: PASSWORD.into(),
    })
    .await
    .expect("sign up");
    let login = auth
        .login(LoginRequest {
            email: "load@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("login")
        .into_inner();
    let token: Arc<str> = login.access_token.into();
    let tasks = TaskServiceClient::with_interceptor(channel(task_addr), Bearer(token.clone()));
    for i in 0..200 {
        let task = Task {
            title: format!("task {i}"),
            tags: vec!["load".into()],
            ..Task::default()
        };
        tasks
            .clone()
            .create_task(CreateTaskRequest {
                task: Some(task),
                request_id: String::new(),
            })
            .await
            .expect("seed");
    }

    println!(
        "engine: {engine}; {} cores",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    let validate = TokenServiceClient::new(channel(auth_addr));
    for concurrency in [1, 16] {
        let (client, token) = (validate.clone(), token.clone());
        measure("auth: ValidateToken", 5_000, concurrency, move |_| {
            let (mut client, token) = (client.clone(), token.clone());
            async move {
                client
                    .validate_token(ValidateTokenRequest {
                        access_token: token.to_string(),
                    })
                    .await
                    .map(drop)
            }
        })
        .await;
    }
    for concurrency in [1, 4] {
        let client = auth.clone();
        measure("auth: Login (argon2id)", 100, concurrency, move |_| {
            let mut client = client.clone();
            async move {
                client
                    .login(LoginRequest {
                        email: "load@example.com".into(),
                        password: PASSWORD.into(),
                    })
                    .await
                    .map(drop)
            }
        })
        .await;
    }

    let list = ListTasksRequest {
        page_size: 20,
        ..Default::default()
    };
    let direct = tasks.clone();
    let via_gateway =
        TaskServiceClient::with_interceptor(channel(gateway_addr), Bearer(token.clone()));
    let web_client =
        GrpcWebClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http());
    let via_grpc_web = TaskServiceClient::with_origin(
        tonic::service::interceptor::InterceptedService::new(web_client, Bearer(token.clone())),
        format!("http://{gateway_addr}").parse().expect("origin"),
    );
    for concurrency in [1, 16] {
        let (client, request) = (direct.clone(), list.clone());
        measure(
            "tasks: ListTasks(20) direct, with auth hop",
            3_000,
            concurrency,
            move |_| {
                let (mut client, request) = (client.clone(), request.clone());
                async move { client.list_tasks(request).await.map(drop) }
            },
        )
        .await;
        let (client, request) = (via_gateway.clone(), list.clone());
        measure(
            "tasks: ListTasks(20) via gateway, gRPC",
            3_000,
            concurrency,
            move |_| {
                let (mut client, request) = (client.clone(), request.clone());
                async move { client.list_tasks(request).await.map(drop) }
            },
        )
        .await;
        let (client, request) = (via_grpc_web.clone(), list.clone());
        measure(
            "tasks: ListTasks(20) via gateway, grpc-web",
            3_000,
            concurrency,
            move |_| {
                let (mut client, request) = (client.clone(), request.clone());
                async move { client.list_tasks(request).await.map(drop) }
            },
        )
        .await;
    }
    for concurrency in [1, 16] {
        let client = direct.clone();
        measure(
            "tasks: CreateTask direct, with auth hop",
            2_000,
            concurrency,
            move |i| {
                let mut client = client.clone();
                async move {
                    let task = Task {
                        title: format!("bench {concurrency} {i}"),
                        ..Task::default()
                    };
                    client
                        .create_task(CreateTaskRequest {
                            task: Some(task),
                            request_id: String::new(),
                        })
                        .await
                        .map(drop)
                }
            },
        )
        .await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
