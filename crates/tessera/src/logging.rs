//! Logging for the long-running commands (`serve`, `proxy`), and, in a build
//! with the `otel` feature, OpenTelemetry trace export.
//!
//! Logs go to standard output through a writer thread, so a request never
//! waits on the terminal or the pipe; none are dropped (it blocks when full).
//! `TESSERA_LOG` filters them (default `info,tower_http=warn`).
//!
//! OpenTelemetry is switched on by the standard variables
//! `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the
//! spans that `TESSERA_LOG` lets through (one `request` span per HTTP request,
//! with its method, path and request id) are then sent by OTLP over HTTP
//! (protobuf) through a batch span processor, which honours the `OTEL_BSP_*`
//! variables. Without the feature those variables only earn a warning.

use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::LogFormat;

/// The variables that switch trace export on: the OTLP exporter's own.
const ENDPOINT_VARIABLES: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"];

/// Keep it until exit: dropping it exports the spans still queued, then
/// flushes the logs.
#[must_use = "dropping the guard stops logging and trace export"]
pub(crate) struct LoggingGuard {
    #[cfg(feature = "otel")]
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    /// Dropped after the trace exporter is shut down, so that what it reports
    /// while shutting down is still written.
    _logs: tracing_appender::non_blocking::WorkerGuard,
}

impl Drop for LoggingGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.traces.take() {
            // Waits for the last batch to be sent (at most 5 s).
            if let Err(err) = provider.shutdown() {
                tracing::warn!("could not export the last spans to OpenTelemetry: {err}");
            }
        }
    }
}

/// Installs the global subscriber: logs to standard output in `format` and,
/// when configured (see the module documentation), trace export.
pub(crate) fn init_logging(format: LogFormat) -> anyhow::Result<LoggingGuard> {
    let (writer, logs_guard) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::stdout());
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let logs = tracing_subscriber::fmt::layer().with_writer(writer);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        // Each line carries its request's span (method, path, request id) as fields.
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).boxed(),
    };
    let endpoint = configured_endpoint();

    #[cfg(feature = "otel")]
    {
        let traces = match &endpoint {
            Some(endpoint) => Some(otel::Traces::start(endpoint)?),
            None => None,
        };
        let layer = traces.as_ref().map(otel::Traces::layer);
        tracing_subscriber::registry().with(logs).with(layer).with(filter).init();
        if let Some(traces) = &traces {
            traces.announce();
        }
        Ok(LoggingGuard { traces: traces.map(otel::Traces::into_provider), _logs: logs_guard })
    }

    #[cfg(not(feature = "otel"))]
    {
        tracing_subscriber::registry().with(logs).with(filter).init();
        if let Some(endpoint) = endpoint {
            tracing::warn!(
                "{} is set, but this build of tessera has no OpenTelemetry support: no traces are \
                 exported (build with `--features otel`)",
                endpoint.variable
            );
        }
        Ok(LoggingGuard { _logs: logs_guard })
    }
}

/// Where the operator asked for traces to go, as the OTLP exporter resolves it.
struct Endpoint {
    /// The variable that was set.
    variable: &'static str,
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    url: String,
}

fn configured_endpoint() -> Option<Endpoint> {
    ENDPOINT_VARIABLES.into_iter().find_map(|variable| {
        let value = std::env::var(variable).ok().filter(|value| !value.trim().is_empty())?;
        let url = if variable == "OTEL_EXPORTER_OTLP_ENDPOINT" {
            // The exporter appends the signal's path to the base endpoint.
            format!("{}/v1/traces", value.trim_end_matches('/'))
        } else {
            value
        };
        Some(Endpoint { variable, url })
    })
}

#[cfg(feature = "otel")]
mod otel {
    use anyhow::Context;
    use opentelemetry::KeyValue;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::Endpoint;

    const DEFAULT_SERVICE_NAME: &str = "tessera";

    pub(super) struct Traces {
        provider: SdkTracerProvider,
        url: String,
        service_name: String,
        /// An `OTEL_EXPORTER_OTLP_*PROTOCOL` asking for another protocol than
        /// this build speaks.
        ignored_protocol: Option<(&'static str, String)>,
    }

    impl Traces {
        pub(super) fn start(endpoint: &Endpoint) -> anyhow::Result<Traces> {
            // The exporter reads the endpoint, headers, timeout and compression
            // from the standard variables itself; the protocol is fixed.
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .build()
                .with_context(|| {
                    format!("cannot export traces to {} (from {})", endpoint.url, endpoint.variable)
                })?;
            let service_name = service_name();
            let resource = Resource::builder()
                .with_service_name(service_name.clone())
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build();
            // The batch processor exports from a thread of its own, every
            // `OTEL_BSP_SCHEDULE_DELAY` ms (5000 by default).
            let provider =
                SdkTracerProvider::builder().with_resource(resource).with_batch_exporter(exporter).build();
            let ignored_protocol = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]
                .into_iter()
                .find_map(|variable| Some((variable, std::env::var(variable).ok()?)))
                .filter(|(_, protocol)| !protocol.is_empty() && protocol != "http/protobuf");
            Ok(Traces { provider, url: endpoint.url.clone(), service_name, ignored_protocol })
        }

        pub(super) fn layer<S>(
            &self,
        ) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
        where
            S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
        {
            let tracer = self.provider.tracer("tessera");
            // Thread names and ids say nothing useful about a request handled
            // on a shared runtime.
            tracing_opentelemetry::layer().with_tracer(tracer).with_threads(false)
        }

        /// Logs, once the subscriber is installed, where spans go.
        pub(super) fn announce(&self) {
            tracing::info!(
                "exporting traces by OTLP/HTTP (protobuf) to {} as service {:?}",
                self.url,
                self.service_name
            );
            if let Some((variable, protocol)) = &self.ignored_protocol {
                tracing::warn!(
                    "{variable}={protocol} is ignored: this build exports traces by http/protobuf only"
                );
            }
        }

        pub(super) fn into_provider(self) -> SdkTracerProvider {
            self.provider
        }
    }

    /// `OTEL_SERVICE_NAME`, else a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
    /// else `tessera` (where the SDK would say `unknown_service`).
    fn service_name() -> String {
        if let Some(name) = std::env::var("OTEL_SERVICE_NAME").ok().filter(|name| !name.is_empty()) {
            return name;
        }
        let detected = Resource::builder().build();
        match detected.get(&opentelemetry::Key::from_static_str("service.name")) {
            Some(name) if !name.as_str().starts_with("unknown_service") => name.to_string(),
            _ => DEFAULT_SERVICE_NAME.to_owned(),
        }
    }
}
