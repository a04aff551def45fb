//! The MYOB contract (source document 001): the authorize page at
//! `/oauth2/account/authorize`, the token endpoint at `POST /oauth2/v1/authorize`
//! for `authorization_code` and `refresh_token`, and a response with
//! `expires_in` as a string, `token_type: "bearer"` and, after a code, the
//! `user` who approved. Errors stay RFC 6749 errors.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tessera_core::client::GrantType;

use crate::error::{ServerError, no_store};
use crate::routes::authorize::authorize_get;
use crate::routes::extract::OAuthForm;
use crate::routes::token::issue;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/account/authorize", get(authorize_get))
        .route("/oauth2/v1/authorize", post(token).get(token_by_get))
}

async fn token(State(state): State<AppState>, form: OAuthForm) -> Result<Response, ServerError> {
    let issued = issue(&state, &form).await?;
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in.to_string(),
        "scope": issued.scope,
    });
    if let Some(refresh_token) = issued.refresh_token {
        body["refresh_token"] = Value::String(refresh_token);
    }
    if let Some(id_token) = issued.id_token {
        body["id_token"] = Value::String(id_token);
    }
    // The document's code response names the user; its refresh response does not.
    if issued.grant_type == GrantType::AuthorizationCode
        && let Some(user) = state.store().find_user(&issued.subject).await?
    {
        body["user"] = json!({ "uid": user.user_id, "username": user.username.as_str() });
    }
    Ok(no_store(Json(body)))
}

/// The document warns that a GET with the parameters in the query "will fail";
/// it does, and says what to do instead. The query is neither read nor logged.
async fn token_by_get() -> Response {
    let body = json!({
        "error": "invalid_request",
        "error_description": "POST the parameters to /oauth2/v1/authorize as an \
            application/x-www-form-urlencoded body; a GET with them in the URL query \
            fails, and exposes the client secret to every log on the way",
    });
    let mut response = no_store((StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response());
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}
