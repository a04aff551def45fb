//! `/admin/api/audit`: the audit trail, newest first. Administrators only
//! (`admin::service` checks). Events never hold a secret: their writers see to it.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_store::{AuditEvent, AuditQuery};
use utoipa::{IntoParams, ToSchema};

use crate::admin::auth::ApiActor;
use crate::admin::service;
use crate::error::ServerError;
use crate::routes::admin_api::extract::ApiQuery;
use crate::routes::admin_api::openapi::{BadRequest, Forbidden, Unauthorized};
use crate::state::AppState;

/// Events per page when `limit` is not given.
const DEFAULT_PAGE: u32 = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// An action (`client.created`), or a prefix of one ending in `.` (`client.`).
    action: Option<String>,
    /// As the events name it, e.g. `user:alice (api-token:…)`.
    actor: Option<String>,
    /// A client id, a username, a scope or a token id.
    target: Option<String>,
    /// Only events older than this one (for the next page).
    before_id: Option<i64>,
    /// Events per page, default 50; clamped to 1 to 200.
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventView {
    event_id: i64,
    /// Unix time, in seconds.
    at: u64,
    /// `user:<username>`, with `(api-token:<id>)` when it came through the API.
    actor: String,
    /// Dotted, noun first: `client.created`, `user.updated`.
    action: String,
    target: Option<String>,
    #[schema(value_type = String, example = "success")]
    /// `success` or `failure`.
    outcome: &'static str,
    /// The caller's address, as the server saw it.
    ip: Option<String>,
    /// The action's particulars.
    details: Map<String, Value>,
}

impl From<AuditEvent> for EventView {
    fn from(event: AuditEvent) -> EventView {
        EventView {
            details: details_object(&event.details),
            event_id: event.event_id,
            at: event.at,
            actor: event.actor,
            action: event.action,
            target: event.target,
            outcome: event.outcome.as_str(),
            ip: event.ip,
        }
    }
}

/// The stored details, which their writer made a JSON object. Anything else is
/// passed on as text rather than dropped, so that nothing is hidden.
fn details_object(stored: &str) -> Map<String, Value> {
    match serde_json::from_str(stored) {
        Ok(Value::Object(details)) => details,
        _ => Map::from_iter([("unparsed".to_owned(), Value::String(stored.to_owned()))]),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventList {
    events: Vec<EventView>,
}

#[utoipa::path(
    get,
    path = "/admin/api/audit",
    operation_id = "searchAudit",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "Matching events, newest first", body = EventList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub(crate) async fn search(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<EventList>, ServerError> {
    let query = AuditQuery {
        action: params.action,
        actor: params.actor,
        target: params.target,
        before_id: params.before_id,
        limit: params.limit.unwrap_or(DEFAULT_PAGE),
    };
    let events = service::search_audit(&state, &actor, query).await?;
    Ok(Json(EventList { events: events.into_iter().map(EventView::from).collect() }))
}
