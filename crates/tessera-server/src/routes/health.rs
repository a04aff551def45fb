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
