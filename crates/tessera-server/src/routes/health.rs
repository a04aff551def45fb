//! Liveness and readiness for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// The process is up.
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its store answers.
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "store not reachable");
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
