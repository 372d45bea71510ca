//! Logs and traces, set up once per process. `RUST_LOG` picks what is logged.
//! Spans are OpenTelemetry spans too: each RPC's span joins the caller's
//! trace (W3C `traceparent`), calls to other services carry it on, and the
//! trace id is in every log line of a call. Spans leave the process only
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector (OTLP over gRPC);
//! otherwise they are made, numbered and dropped.

use std::{io::IsTerminal, sync::OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::{Level, Metadata};
use tracing_subscriber::{
    EnvFilter, Layer, filter::filter_fn, fmt, layer::SubscriberExt as _,
    util::SubscriberInitExt as _,
};

/// The variable naming the collector, as every OpenTelemetry SDK reads it.
const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Crates whose spans are traced (at debug level too: the database and
/// internal calls are debug spans, kept out of the log but not out of traces).
const TRACED_CRATES: &[&str] = &["service_runtime", "auth_service", "task_service", "gateway"];

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Logs to stderr at the level `RUST_LOG` asks for (`info` when unset) and
/// traces as the module says. Calling it twice is harmless, so a binary that
/// runs several services in one process can let each of them try.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = PROVIDER.get_or_init(provider);
    let logs = fmt::layer()
        .fmt_fields(LogFields)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(trace_layer(provider))
        .try_init();
    if let Some(endpoint) = otlp_endpoint() {
        tracing::info!(%endpoint, "exporting traces over OTLP");
    }
}

/// Fields as the default format writes them, without the `otel.*` ones
/// (the span's name and kind for traces, which the log already shows as
/// `method`).
#[derive(Debug)]
struct LogFields;

impl<'writer> fmt::FormatFields<'writer> for LogFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: fmt::format::Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        let mut visitor = LogFieldsVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct LogFieldsVisitor<'writer> {
    writer: fmt::format::Writer<'writer>,
    first: bool,
    result: std::fmt::Result,
}

impl tracing::field::Visit for LogFieldsVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        // Strings are quoted, as the default format has them.
        self.record_debug(field, &value);
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let name = field.name();
        if self.result.is_err() || name.starts_with("otel.") {
            return;
        }
        let space = if self.first { "" } else { " " };
        self.first = false;
        self.result = if name == "message" {
            write!(self.writer, "{space}{value:?}")
        } else {
            write!(self.writer, "{space}{name}={value:?}")
        };
    }
}

/// Sends the spans still buffered to the collector: the last thing a process does.
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.shutdown();
    }
}

/// The layer that makes spans OpenTelemetry spans through `provider`, for
/// this crate's subscriber and for tests that collect spans themselves. It
/// also installs the W3C trace-context propagator.
pub fn trace_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("todo"))
        .with_filter(filter_fn(traced))
}

/// Our spans at debug level and up; events (which become span events) only
/// when they are warnings or errors.
fn traced(metadata: &Metadata<'_>) -> bool {
    if metadata.is_span() {
        is_traced_span(metadata.target(), *metadata.level())
    } else {
        *metadata.level() <= Level::WARN
    }
}

fn is_traced_span(target: &str, level: Level) -> bool {
    level <= Level::DEBUG
        && TRACED_CRATES.iter().any(|name| {
            target
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

/// A provider exporting over OTLP when a collector is configured, and
/// exporting nothing otherwise.
fn provider() -> SdkTracerProvider {
    let mut builder = SdkTracerProvider::builder().with_resource(resource());
    if otlp_endpoint().is_some() {
        // Reads the endpoint, headers and timeout from the standard variables.
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(error) => eprintln!("warning: traces are not exported: {error}"),
        }
    }
    builder.build()
}

/// The collector's address; set but empty (as compose passes an unset
/// variable on) is no collector.
fn otlp_endpoint() -> Option<String> {
    std::env::var(OTLP_ENDPOINT)
        .ok()
        .filter(|endpoint| !endpoint.trim().is_empty())
}

/// The process as traces name it: `OTEL_SERVICE_NAME` if set, else the binary's name.
fn resource() -> Resource {
    let builder = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        return builder.build();
    }
    let name = std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "todo".to_owned());
    builder.with_service_name(name).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_leave_out_the_fields_only_traces_need() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            fmt::layer()
                .fmt_fields(LogFields)
                .without_time()
                .with_ansi(false)
                .with_target(false)
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "rpc",
                otel.name = "/a.B/C",
                method = "/a.B/C",
                latency_ms = 3
            );
            span.in_scope(|| tracing::info!(grpc_status = "0", "rpc finished"));
        });
        let line = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            line.trim(),
            r#"INFO rpc{method="/a.B/C" latency_ms=3}: rpc finished grpc_status="0""#
        );
    }

    #[test]
    fn our_debug_spans_are_traced_and_other_crates_spans_are_not() {
        assert!(is_traced_span("task_service::store", Level::DEBUG));
        assert!(is_traced_span("service_runtime", Level::INFO));
        assert!(!is_traced_span("task_service::store", Level::TRACE));
        assert!(!is_traced_span("sqlx::query", Level::INFO));
        assert!(!is_traced_span("gateways::x", Level::INFO));
    }
}
