//! The admin JSON API under `/admin/api/`: a thin shell over `admin::service`.
//! Each handler authenticates the caller (`ApiActor`, an admin API token),
//! extracts and checks the JSON, calls one service function and serializes
//! its answer. Who may do what, and every rule about the data, is the
//! service's and the core's; nothing here decides it.
//!
//! Every error is `ServerError`'s JSON `{"error", "error_description"}`,
//! including malformed bodies, queries and paths (`extract`). The OpenAPI
//! document (`openapi`) is derived from these handlers and their types, so
//! it cannot drift from them; `tests/schemathesis/run.sh` checks the server
//! against it.

mod audit;
mod clients;
mod extract;
mod openapi;
mod scopes;
mod tokens;
mod users;

use axum::Router;
use axum::routing::{MethodRouter, delete, get, post};

use crate::state::AppState;

/// Every `/admin/api/…` route. A method a path does not have is a JSON 405 with `Allow`.
pub(crate) fn routes() -> Router<AppState> {
    let route = |methods: MethodRouter<AppState>| methods.fallback(extract::method_not_allowed);
    Router::new()
        .route("/admin/api/openapi.json", route(get(openapi::openapi_json)))
        .route("/admin/api/clients", route(get(clients::list).post(clients::create)))
        .route(
            "/admin/api/clients/{client_id}",
            route(get(clients::read).put(clients::update).delete(clients::delete)),
        )
        .route("/admin/api/clients/{client_id}/secret", route(post(clients::rotate_secret)))
        .route("/admin/api/clients/{client_id}/disable", route(post(clients::disable)))
        .route("/admin/api/clients/{client_id}/enable", route(post(clients::enable)))
        .route("/admin/api/scopes", route(get(scopes::list).post(scopes::create)))
        .route("/admin/api/scopes/{name}", route(delete(scopes::delete)))
        .route("/admin/api/users", route(get(users::list).post(users::create)))
        .route("/admin/api/users/{user_id}", route(get(users::read).patch(users::update)))
        .route("/admin/api/users/{user_id}/password", route(post(users::set_password)))
        .route("/admin/api/users/{user_id}/consents", route(get(users::consents)))
        .route("/admin/api/users/{user_id}/consents/{client_id}", route(delete(users::revoke_consent)))
        .route("/admin/api/tokens", route(get(tokens::list).post(tokens::create)))
        .route("/admin/api/tokens/{token_id}", route(delete(tokens::delete)))
        .route("/admin/api/audit", route(get(audit::search)))
}
