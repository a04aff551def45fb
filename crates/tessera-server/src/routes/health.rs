//! Liveness and readiness for load balancers and orchestrators.

use axum::extract::State;
use std::time::Duration;

use axum::http::StatusCode;

use crate::state::AppState;

/// The process is up.
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// A readiness probe must answer quickly, even while the pool waits for a
/// database that does not answer.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// The process can serve: its store answers and its signing keys are loaded.
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.keys().published_kids().next().is_none() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no signing keys loaded");
    }
    match tokio::time::timeout(READINESS_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "store not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
        Err(_) => {
            tracing::warn!("store did not answer within {READINESS_TIMEOUT:?}");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

/// What the server answers while it waits for its database at start: alive,
/// not ready, and a 503 for every other path so a load balancer looks elsewhere.
pub(crate) fn starting_router() -> axum::Router {
    use axum::routing::get;
    let not_ready = || async {
        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "5")], "starting: database not reachable yet")
    };
    axum::Router::new().route("/healthz", get(healthz)).route("/readyz", get(not_ready)).fallback(not_ready)
}
