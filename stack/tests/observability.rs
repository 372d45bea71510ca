//! What an operator sees of real calls through the gateway: one trace
//! across gateway → task service → auth service → database, and the
//! Prometheus series of each part moving as the calls happen.
//!
//! Both tests share the process's recorder and trace exporter, and may run
//! at once: each asserts on what only its own calls can have made (its own
//! trace id; methods and counts the other test never calls).

mod support;

use std::{collections::HashMap, sync::OnceLock, time::Duration};

use opentelemetry::{KeyValue, trace::SpanId, trace::TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use proto::task::v1::{
    CreateTaskRequest, GetTaskRequest, Task, WatchTasksRequest,
    task_service_client::TaskServiceClient,
};
use support::{Bearer, Stack, TestUsers};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tonic::Code;
use tracing_subscriber::layer::SubscriberExt as _;

/// The spans every server in this process finished, collected in memory
/// through the same layer the services use in production.
fn spans() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber =
            tracing_subscriber::registry().with(service_runtime::telemetry::trace_layer(&provider));
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other subscriber in this test binary");
        // The provider must outlive the tests: its processor holds the exporter.
        std::mem::forget(provider);
        exporter
    })
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k.as_str() == key)
        .and_then(|kv| match &kv.value {
            opentelemetry::Value::String(value) => Some(value.as_str()),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_through_the_gateway_is_one_trace_across_all_three_services() {
    let spans = spans();
    let stack = Stack::start().await;
    let token = proto::auth::v1::auth_service_client::AuthServiceClient::new(stack.grpc())
        .sign_up_and_log_in("trace@example.com")
        .await
        .access_token;
    // The caller's trace, as grpcurl -H traceparent:… or a browser sends it.
    let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let caller_span = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    let mut request = tonic::Request::new(CreateTaskRequest {
        task: Some(Task {
            title: "Traced".into(),
            ..Task::default()
        }),
        request_id: String::new(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{caller_span}-01").parse().unwrap(),
    );
    TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(&token))
        .create_task(request)
        .await
        .unwrap();

    // Spans end as their responses finish streaming; wait for the last ones.
    let wanted = |spans: &[SpanData]| {
        let named = |server: &str, name: &str| {
            spans
                .iter()
                .any(|span| attribute(span, "server") == Some(server) && span.name.as_ref() == name)
        };
        named("gateway", "/todo.task.v1.TaskService/CreateTask")
            && named("task service", "/todo.task.v1.TaskService/CreateTask")
            && named(
                "auth service (internal)",
                "/todo.auth.v1.TokenService/ValidateToken",
            )
            && spans.iter().any(|span| span.name == "db insert")
    };
    let trace = testkit::eventually(Duration::from_secs(5), "the trace's spans", || async {
        let trace: Vec<SpanData> = spans
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|span| span.span_context.trace_id() == trace_id)
            .collect();
        wanted(&trace).then_some(trace)
    })
    .await;

    let by_id: HashMap<SpanId, &SpanData> = trace
        .iter()
        .map(|span| (span.span_context.span_id(), span))
        .collect();
    let find = |server: &str, name: &str| {
        trace
            .iter()
            .find(|span| attribute(span, "server") == Some(server) && span.name.as_ref() == name)
            .unwrap()
    };
    // The gateway's span is the caller's child; each service's span has an
    // ancestor in the service that called it.
    let gateway = find("gateway", "/todo.task.v1.TaskService/CreateTask");
    assert_eq!(gateway.parent_span_id, caller_span);
    let descends_from = |span: &SpanData, ancestor: &SpanData| {
        let mut parent = span.parent_span_id;
        while let Some(next) = by_id.get(&parent) {
            if next.span_context.span_id() == ancestor.span_context.span_id() {
                return true;
            }
            parent = next.parent_span_id;
        }
        false
    };
    let tasks = find("task service", "/todo.task.v1.TaskService/CreateTask");
    let auth = find(
        "auth service (internal)",
        "/todo.auth.v1.TokenService/ValidateToken",
    );
    assert!(descends_from(tasks, gateway), "{trace:#?}");
    assert!(descends_from(auth, tasks), "{trace:#?}");
    let insert = trace.iter().find(|span| span.name == "db insert").unwrap();
    assert!(descends_from(insert, tasks), "{trace:#?}");
    // The auth service read the session from its database within the trace too.
    assert!(
        trace
            .iter()
            .any(|span| span.name.starts_with("db ") && descends_from(span, auth)),
        "{trace:#?}"
    );
    // No trace carries a secret: no span attribute holds the token.
    for span in spans.get_finished_spans().unwrap() {
        for kv in &span.attributes {
            assert!(!kv.value.as_str().contains(&token), "{span:#?}");
        }
    }
}

/// `GET /metrics` from `addr`, the body as Prometheus's text format.
async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The value of the series `name` whose labels include all of `labels`
/// (summed over the others), or 0 when there is none yet.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, rest) = series.split_once('{').unwrap_or((series, "}"));
            (series_name == name).then_some(())?;
            let has_all = labels
                .iter()
                .all(|(key, wanted)| rest.contains(&format!("{key}=\"{wanted}\"")));
            has_all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_part_counts_and_times_real_calls() {
    let _ = spans();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = listener.local_addr().unwrap();
    tokio::spawn(service_runtime::metrics::serve(
        listener,
        std::future::pending(),
    ));
    let stack = Stack::start().await;
    let token = proto::auth::v1::auth_service_client::AuthServiceClient::new(stack.grpc())
        .sign_up_and_log_in("metrics@example.com")
        .await
        .access_token;
    let mut tasks = TaskServiceClient::with_interceptor(stack.grpc(), Bearer::new(&token));

    let get_task = [
        ("grpc_service", "todo.task.v1.TaskService"),
        ("grpc_method", "GetTask"),
    ];
    let at = |server| {
        let mut labels = get_task.to_vec();
        labels.push(("server", server));
        labels
    };
    let not_found = |server| {
        let mut labels = at(server);
        labels.push(("grpc_code", "NOT_FOUND"));
        labels
    };
    let before = scrape(metrics).await;
    for _ in 0..3 {
        let missing = tasks
            .get_task(GetTaskRequest {
                id: "0190a0c2-0000-7000-8000-000000000000".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    }
    // A path no server has: counted, under `unknown`, not as a new series.
    let made_up = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/todo.task.v1.TaskService/MadeUpMethod",
    );
    let mut raw = tonic::client::Grpc::new(stack.grpc());
    raw.ready().await.unwrap();
    let mut request = tonic::Request::new(());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let refused = raw
        .unary::<_, (), _>(request, made_up, tonic_prost::ProstCodec::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unimplemented);
    let watch = tasks
        .watch_tasks(WatchTasksRequest::default())
        .await
        .unwrap()
        .into_inner();

    let after = testkit::eventually(Duration::from_secs(5), "the calls' series", || async {
        let after = scrape(metrics).await;
        let watching = value(&after, "task_watch_streams_open", &[]);
        (value(
            &after,
            "grpc_server_handled_total",
            &not_found("task service"),
        ) - value(
            &before,
            "grpc_server_handled_total",
            &not_found("task service"),
        ) == 3.0
            && watching >= 1.0)
            .then_some(after)
    })
    .await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    // RED per RPC, at the gateway and at the service behind it.
    for server in ["gateway", "task service"] {
        assert_eq!(
            delta("grpc_server_handled_total", &not_found(server)),
            3.0,
            "{after}"
        );
        assert_eq!(
            delta("grpc_server_handling_seconds_count", &at(server)),
            3.0,
            "{after}"
        );
        let mut slowest = at(server);
        slowest.push(("le", "+Inf"));
        assert_eq!(delta("grpc_server_handling_seconds_bucket", &slowest), 3.0);
        assert!(delta("grpc_server_handling_seconds_sum", &at(server)) > 0.0);
        let unknown = [
            ("server", server),
            ("grpc_method", "unknown"),
            ("grpc_code", "UNIMPLEMENTED"),
        ];
        assert!(
            delta("grpc_server_handled_total", &unknown) >= 1.0,
            "{after}"
        );
    }
    assert!(
        !after.contains("MadeUpMethod"),
        "a made-up path became a series"
    );
    // The task service asked the auth service once, then remembered the answer.
    assert!(value(&after, "token_cache_lookups_total", &[("result", "miss")]) >= 1.0);
    assert!(delta("token_cache_lookups_total", &[("result", "hit")]) >= 3.0);
    // Logging in hashed a password, after a wait in the hash queue.
    assert!(value(&after, "password_hash_wait_seconds_count", &[]) >= 1.0);
    // The database pools and the replicas the gateway balances over.
    assert!(
        value(
            &after,
            "db_pool_connections",
            &[("server", "task service"), ("state", "max")]
        ) >= 1.0
    );
    let task_replica = format!("http://{}", stack.tasks.as_ref().unwrap().addr);
    assert_eq!(
        value(
            &after,
            "upstream_replica_serving",
            &[("upstream", "the task service"), ("replica", &task_replica)]
        ),
        1.0
    );
    // A watch that ends leaves the open-streams gauge.
    let open = value(&after, "task_watch_streams_open", &[]);
    drop(watch);
    testkit::eventually(Duration::from_secs(5), "the watch to close", || async {
        (value(&scrape(metrics).await, "task_watch_streams_open", &[]) < open).then_some(())
    })
    .await;
}
