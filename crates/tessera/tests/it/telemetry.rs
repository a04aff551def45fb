//! OpenTelemetry export (the `otel` feature): `tessera serve` sends its
//! request spans by OTLP/HTTP (protobuf) to an in-process collector.
#![cfg(feature = "otel")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::util::{Dir, ServeProcess, json};

/// What the collector has received: every export request, decoded.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

/// A span as exported, with its resource's attributes.
struct Exported {
    resource: Vec<KeyValue>,
    span: Span,
}

impl Collector {
    /// Listens on 127.0.0.1 and returns the base endpoint
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT`), to which the exporter adds `/v1/traces`.
    async fn start() -> (Collector, String) {
        let collector = Collector::default();
        let app = axum::Router::new().route("/v1/traces", post(receive)).with_state(collector.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the collector");
        let endpoint = format!("http://{}", listener.local_addr().expect("collector address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("collector") });
        (collector, endpoint)
    }

    fn spans(&self) -> Vec<Exported> {
        let received = self.received.lock().expect("collector lock");
        let mut spans = Vec::new();
        for request in received.iter() {
            for resource_spans in &request.resource_spans {
                let resource =
                    resource_spans.resource.as_ref().map(|r| r.attributes.clone()).unwrap_or_default();
                for scope_spans in &resource_spans.scope_spans {
                    for span in &scope_spans.spans {
                        spans.push(Exported { resource: resource.clone(), span: span.clone() });
                    }
                }
            }
        }
        spans
    }

    /// Polls (up to 15 s) for a `request` span whose `path` is `path`.
    async fn wait_for_request_span(&self, path: &str) -> Exported {
        let started = Instant::now();
        loop {
            if let Some(found) = self.spans().into_iter().find(|exported| {
                exported.span.name == "request"
                    && attribute(&exported.span.attributes, "path").as_deref() == Some(path)
            }) {
                return found;
            }
            let names: Vec<String> = self.spans().iter().map(|exported| exported.span.name.clone()).collect();
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no `request` span for {path} reached the collector within 15 s; spans received: {names:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(
    State(collector): State<Collector>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Vec<u8>) {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    if content_type != Some("application/x-protobuf") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new());
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    collector.received.lock().expect("collector lock").push(request);
    (StatusCode::OK, ExportTraceServiceResponse { partial_success: None }.encode_to_vec())
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        other => format!("{other:?}"),
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).map(text)
}

/// Every string the exported spans carry: names, attributes, events, resource.
fn everything_exported(spans: &[Exported]) -> String {
    let mut all = String::new();
    let mut push = |attributes: &[KeyValue]| {
        for kv in attributes {
            all.push_str(&format!("{}={}\n", kv.key, kv.value.as_ref().map(text).unwrap_or_default()));
        }
    };
    for exported in spans {
        push(&exported.resource);
        push(&exported.span.attributes);
        for event in &exported.span.events {
            push(&event.attributes);
        }
    }
    for exported in spans {
        all.push_str(&exported.span.name);
        all.push('\n');
        for event in &exported.span.events {
            all.push_str(&event.name);
            all.push('\n');
        }
    }
    all
}

/// `tessera serve` in `dir`, exporting to `endpoint`, with no `OTEL_*` from the outside.
fn serve_command(dir: &Dir, endpoint: &str, schedule_delay_ms: u64) -> Command {
    let mut command = dir.command(&["serve", "--listen", "127.0.0.1:0"]);
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_SERVICE_NAME", "tessera-test")
        // The batch span processor's delay between exports (5 s by default).
        .env("OTEL_BSP_SCHEDULE_DELAY", schedule_delay_ms.to_string());
    command
}

fn confidential_client(dir: &Dir) -> (String, String) {
    dir.run(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let created = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Traced",
        "--scope",
        "contact.read",
        "--output",
        "json",
    ]));
    let client_id = created["client_id"].as_str().expect("client_id").to_owned();
    let secret = created["client_secret"].as_str().expect("client_secret").to_owned();
    (client_id, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_are_exported_by_otlp_http() {
    let (collector, endpoint) = Collector::start().await;
    let dir = Dir::new();
    let (client_id, secret) = confidential_client(&dir);
    let server = ServeProcess::start(serve_command(&dir, &endpoint, 100));

    let response = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    let access_token = response.json::<serde_json::Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();

    let exported = collector.wait_for_request_span("/token").await;
    assert_eq!(attribute(&exported.span.attributes, "method").as_deref(), Some("POST"));
    assert!(attribute(&exported.span.attributes, "request_id").is_some_and(|id| !id.is_empty()));
    assert_eq!(attribute(&exported.resource, "service.name").as_deref(), Some("tessera-test"));
    assert_eq!(attribute(&exported.resource, "service.version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(exported.span.trace_id.len(), 16, "a valid trace id");

    let all = everything_exported(&collector.spans());
    assert!(!all.contains(&secret), "the client secret was exported:\n{all}");
    assert!(!all.contains(&access_token), "the access token was exported:\n{all}");

    let output = server.output();
    assert!(
        output.contains(&format!("exporting traces by OTLP/HTTP (protobuf) to {endpoint}/v1/traces")),
        "the log says where spans go:\n{output}"
    );
}

/// A `tessera serve` process we can send SIGTERM to.
struct Stoppable {
    child: Child,
    issuer: String,
}

impl Stoppable {
    fn start(mut command: Command) -> Stoppable {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (found, issuer) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.trim().strip_prefix("issuer:") {
                    let _ = found.send(issuer.trim().to_owned());
                }
            }
        });
        let issuer = match issuer.recv_timeout(Duration::from_secs(30)) {
            Ok(issuer) => issuer,
            Err(_) => {
                let _ = child.kill();
                panic!("tessera did not print its issuer within 30s");
            }
        };
        Stoppable { child, issuer }
    }

    /// SIGTERM, then waits (up to 15 s) for a clean exit.
    async fn terminate(&mut self) {
        let sent =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                assert!(status.success(), "tessera serve exited with {status} on SIGTERM");
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "tessera serve did not exit within 15 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_spans_are_exported_when_the_server_stops() {
    let (collector, endpoint) = Collector::start().await;
    let dir = Dir::new();
    // Ten minutes between scheduled exports: only the shutdown sends them.
    let mut server = Stoppable::start(serve_command(&dir, &endpoint, 600_000));
    let response =
        reqwest::get(format!("{}/.well-known/openid-configuration", server.issuer)).await.expect("discovery");
    assert_eq!(response.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(collector.spans().is_empty(), "nothing is exported before the schedule delay or shutdown");

    server.terminate().await;
    let exported = collector.wait_for_request_span("/.well-known/openid-configuration").await;
    assert_eq!(attribute(&exported.span.attributes, "method").as_deref(), Some("GET"));
}
