//! Where `serve` and `proxy` send what they log: standard output, for people
//! or as JSON lines, through a writer thread so that a request never waits on
//! the terminal; and, in a build with the `otel` feature, spans to an
//! OpenTelemetry collector over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) names one.

use anyhow::Result;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::LogFormat;

/// Keep until exit: dropping it flushes queued lines and exports pending spans.
pub(crate) struct Logging {
    _lines: tracing_appender::non_blocking::WorkerGuard,
    #[cfg(feature = "otel")]
    spans: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Logging {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(spans) = self.spans.take()
            && let Err(err) = spans.shutdown()
        {
            eprintln!("warning: exporting the last spans failed: {err}");
        }
    }
}

/// Whether the environment asks for span export.
fn export_requested() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

pub(crate) fn init(format: LogFormat) -> Result<Logging> {
    let (writer, lines) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::stdout());
    let filter = EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    let output = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
        // Each line carries its request's span (method, path, request id) as fields.
        LogFormat::Json => {
            tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(false).with_writer(writer).boxed()
        }
    };
    let registry = tracing_subscriber::registry().with(filter).with(output);

    #[cfg(feature = "otel")]
    {
        let spans = export_requested().then(otel::provider).transpose()?;
        let layer = spans.as_ref().map(otel::layer);
        registry.with(layer).init();
        Ok(Logging { _lines: lines, spans })
    }
    #[cfg(not(feature = "otel"))]
    {
        registry.init();
        if export_requested() {
            tracing::warn!("OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build has no OpenTelemetry export (build with --features otel)");
        }
        Ok(Logging { _lines: lines })
    }
}

#[cfg(feature = "otel")]
mod otel {
    use anyhow::{Context, Result};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    /// Spans batched and sent over OTLP/HTTP (protobuf). The endpoint, headers,
    /// timeout and batching follow the standard `OTEL_*` variables.
    pub(super) fn provider() -> Result<SdkTracerProvider> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .context("cannot set up the OpenTelemetry exporter")?;
        let resource = Resource::builder().with_service_name("tessera").build();
        Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
    }

    pub(super) fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("tessera"))
    }
}
