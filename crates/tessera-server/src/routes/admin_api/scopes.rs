//! `/admin/api/scopes`: the scope registry. Every console user may read it
//! (developers choose from it); changing it is for administrators, as
//! `admin::service` decides.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_store::ScopeRecord;
use utoipa::ToSchema;

use crate::admin::auth::ApiActor;
use crate::admin::service;
use crate::error::ServerError;
use crate::routes::admin_api::extract::{ApiJson, ApiPath};
use crate::routes::admin_api::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScopeView {
    name: String,
    /// Shown to people on consent pages.
    description: String,
    /// Unix time, in seconds.
    created_at: u64,
}

impl From<ScopeRecord> for ScopeView {
    fn from(record: ScopeRecord) -> ScopeView {
        ScopeView {
            name: record.name.as_str().to_owned(),
            description: record.description,
            created_at: record.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScopeList {
    scopes: Vec<ScopeView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewScope {
    /// RFC 6749 §3.3 scope syntax: printable ASCII without spaces, quotes or backslashes.
    #[schema(pattern = r"^[!#-\[\]-~]+$")]
    name: String,
    /// Shown to people on consent pages; required.
    #[schema(min_length = 1)]
    description: String,
}

#[utoipa::path(
    get,
    path = "/admin/api/scopes",
    operation_id = "listScopes",
    tag = "scopes",
    responses(
        (status = 200, description = "Every registered scope", body = ScopeList),
        (status = 401, response = Unauthorized),
    )
)]
pub(crate) async fn list(
    ApiActor(_actor): ApiActor,
    State(state): State<AppState>,
) -> Result<Json<ScopeList>, ServerError> {
    let scopes = service::list_scopes(&state).await?;
    Ok(Json(ScopeList { scopes: scopes.into_iter().map(ScopeView::from).collect() }))
}

/// Adds a scope to the registry. Administrators only.
#[utoipa::path(
    post,
    path = "/admin/api/scopes",
    operation_id = "createScope",
    tag = "scopes",
    request_body = NewScope,
    responses(
        (status = 201, description = "Registered", body = ScopeView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(crate) async fn create(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewScope>,
) -> Result<(StatusCode, Json<ScopeView>), ServerError> {
    let record = service::create_scope(&state, &actor, &input.name, &input.description).await?;
    Ok((StatusCode::CREATED, Json(ScopeView::from(record))))
}

/// Removes a scope. Refused with 409 while any client holds it. Administrators only.
#[utoipa::path(
    delete,
    path = "/admin/api/scopes/{name}",
    operation_id = "deleteScope",
    tag = "scopes",
    params(("name" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn delete(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ServerError> {
    service::delete_scope(&state, &actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
