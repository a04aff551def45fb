//! `/admin/api/tokens`: admin API tokens. A token acts as the user who made
//! it, with that user's role at the time of use. The token itself is shown
//! once, at creation; listings show its id and dates, never its hash.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tessera_store::AdminTokenRecord;
use utoipa::ToSchema;

use crate::admin::auth::ApiActor;
use crate::admin::service;
use crate::error::{ServerError, no_store};
use crate::routes::admin_api::extract::{ApiJson, ApiPath};
use crate::routes::admin_api::openapi::{
    BadRequest, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use crate::state::AppState;

/// The longest lifetime a token may be given: ten years. Longer is "never",
/// which is what leaving `expires_in_seconds` out means.
const MAX_LIFETIME_SECONDS: u64 = 10 * 366 * 24 * 60 * 60;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenView {
    token_id: String,
    name: String,
    /// The user the token acts as.
    user_id: String,
    /// Unix time, in seconds.
    created_at: u64,
    /// Unix time, in seconds; `null` if the token does not expire.
    expires_at: Option<u64>,
    /// Unix time, in seconds; `null` if never used.
    last_used_at: Option<u64>,
}

impl From<AdminTokenRecord> for TokenView {
    fn from(record: AdminTokenRecord) -> TokenView {
        TokenView {
            token_id: record.token_id,
            name: record.name,
            user_id: record.user_id,
            created_at: record.created_at,
            expires_at: record.expires_at,
            last_used_at: record.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenList {
    tokens: Vec<TokenView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    /// 1 to 100 printable characters, to recognise the token by.
    #[schema(min_length = 1)]
    name: String,
    /// Leave out for a token that does not expire.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 316224000)]
    expires_in_seconds: Option<u64>,
}

// No `Debug`: it holds a secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    /// Send as `Authorization: Bearer <token>`. Shown this once.
    token: String,
    #[serde(flatten)]
    record: TokenView,
}

/// Every token for an administrator; the caller's own for a developer.
#[utoipa::path(
    get,
    path = "/admin/api/tokens",
    operation_id = "listTokens",
    tag = "tokens",
    responses(
        (status = 200, description = "API tokens, without their secret part", body = TokenList),
        (status = 401, response = Unauthorized),
    )
)]
pub(crate) async fn list(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
) -> Result<Json<TokenList>, ServerError> {
    let tokens = service::list_tokens(&state, &actor).await?;
    Ok(Json(TokenList { tokens: tokens.into_iter().map(TokenView::from).collect() }))
}

/// Makes a token that acts as the caller.
#[utoipa::path(
    post,
    path = "/admin/api/tokens",
    operation_id = "createToken",
    tag = "tokens",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created; the token is shown this once", body = CreatedToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(crate) async fn create(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewToken>,
) -> Result<Response, ServerError> {
    let lifetime = match input.expires_in_seconds {
        None => None,
        Some(seconds @ 1..=MAX_LIFETIME_SECONDS) => Some(Duration::from_secs(seconds)),
        Some(_) => {
            return Err(tessera_core::ErrorCode::InvalidRequest
                .with(format!("expires_in_seconds is 1 to {MAX_LIFETIME_SECONDS} (ten years)"))
                .into());
        }
    };
    let created = service::create_token(&state, &actor, &input.name, lifetime).await?;
    let body = CreatedToken { token: created.token, record: TokenView::from(created.record) };
    Ok(no_store((StatusCode::CREATED, Json(body))))
}

#[utoipa::path(
    delete,
    path = "/admin/api/tokens/{token_id}",
    operation_id = "deleteToken",
    tag = "tokens",
    params(("token_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted; the token stops working at once"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn delete(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(token_id): ApiPath<String>,
) -> Result<StatusCode, ServerError> {
    service::delete_token(&state, &actor, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
