//! Prometheus metrics, served at `/metrics` in the text exposition format.
//! Each server has its own registry (no process-wide globals), so tests can
//! run many servers in one process and read each one's counters.
//!
//! Labels never name a client, a user or a token: only routes, grant types,
//! outcomes and RFC error codes, so the set of series stays small and the
//! page reveals no identities.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::ServerError;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant_type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram>,
    grants: Family<GrantLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    store_duration: Family<OperationLabels, Histogram>,
    rate_limited: Family<LimitLabels, Counter>,
    live_refresh_families: Gauge,
}

/// 100 µs to about 6.5 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        let request_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            request_duration.clone(),
        );
        let grants = Family::<GrantLabels, Counter>::default();
        registry.register(
            "grants",
            "Token requests by grant type and outcome (issued, refused)",
            grants.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "oauth_errors",
            "Error responses of the token endpoint, by RFC error code",
            errors.clone(),
        );
        let store_duration = Family::<OperationLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "store_operation_duration_seconds",
            "Time spent in the store, by operation",
            store_duration.clone(),
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register("rate_limit_rejections", "Requests refused by a rate limit", rate_limited.clone());
        let live_refresh_families = Gauge::default();
        registry.register(
            "active_refresh_families",
            "Refresh token families that can still be used (recounted every minute)",
            live_refresh_families.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        registry.register("build_info", "The running version", build_info.clone());
        build_info.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION") }).set(1);
        Metrics {
            registry,
            requests,
            request_duration,
            grants,
            errors,
            store_duration,
            rate_limited,
            live_refresh_families,
        }
    }
}

impl Metrics {
    /// A token request's outcome: `grant_type` as requested (unknown types are
    /// folded into `other`, so a client cannot create series at will).
    pub fn grant(&self, grant_type: &str, error: Option<&'static str>) {
        let grant_type = match grant_type {
            "client_credentials" => "client_credentials",
            "authorization_code" => "authorization_code",
            "refresh_token" => "refresh_token",
            _ => "other",
        };
        let outcome = if error.is_some() { "refused" } else { "issued" };
        self.grants.get_or_create(&GrantLabels { grant_type, outcome }).inc();
        if let Some(error) = error {
            self.errors.get_or_create(&ErrorLabels { error }).inc();
        }
    }

    /// Records how long a store operation took.
    pub fn store_operation(&self, operation: &'static str, took: Duration) {
        self.store_duration.get_or_create(&OperationLabels { operation }).observe(took.as_secs_f64());
    }

    /// A request refused by a limit (`login_throttle`, …).
    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited.get_or_create(&LimitLabels { limit }).inc();
    }

    pub fn set_live_refresh_families(&self, count: u64) {
        self.live_refresh_families.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    fn encode(&self) -> Result<String, ServerError> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|err| ServerError::Internal(format!("encoding metrics: {err}")))?;
        Ok(text)
    }
}

/// Times `future` as store operation `operation`.
pub async fn timed<T>(state: &AppState, operation: &'static str, future: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let output = future.await;
    state.metrics().store_operation(operation, started.elapsed());
    output
}

/// Middleware: counts and times every request by its route pattern (never
/// its concrete path, which may hold ids).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |path| intern(path.as_str()));
    let method = method_label(request.method());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let metrics = state.metrics();
    metrics.request_duration.get_or_create(&RouteLabels { route }).observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels { method, route, status: response.status().as_u16() })
        .inc();
    response
}

/// The route patterns, each stored once for the life of the process: they
/// are the router's own paths, a fixed set, so labels need no allocation.
fn intern(route: &str) -> &'static str {
    static ROUTES: std::sync::LazyLock<std::sync::RwLock<std::collections::HashSet<&'static str>>> =
        std::sync::LazyLock::new(Default::default);
    if let Some(known) = ROUTES.read().ok().and_then(|routes| routes.get(route).copied()) {
        return known;
    }
    let Ok(mut routes) = ROUTES.write() else { return "unmatched" };
    if let Some(known) = routes.get(route) {
        return known;
    }
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    routes.insert(leaked);
    leaked
}

/// Standard methods by name; anything else shares one label.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>) -> Result<Response, ServerError> {
    let mut response = state.metrics().encode()?.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}
