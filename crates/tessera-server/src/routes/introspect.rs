//! `POST /introspect` (RFC 7662). Anything that is not an active token the
//! caller may see is `{"active": false}`, whatever the reason.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use tessera_core::client::Client;
use tessera_core::introspection::{
    Introspection, TokenRequestByValue, ensure_may_introspect, introspect_access_token,
    introspect_refresh_token,
};
use tessera_core::secret::SecretHash;

use crate::error::{ServerError, no_store};
use crate::routes::client_auth::authenticate_client;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

pub(super) async fn introspect(
    State(state): State<AppState>,
    form: OAuthForm,
) -> Result<Response, ServerError> {
    let caller = authenticate_client(&state, &form).await?;
    ensure_may_introspect(&caller)?;
    let request = TokenRequestByValue::parse(&form.params)?;
    let now = unix_now();
    let answer = match state.keys().verify_access_token(&request.token) {
        Some(claims) => {
            let issuing_client = issuing_client(&state, &caller, &claims.client_id).await?;
            let revoked = state.is_access_token_revoked(&claims.jti).await?;
            introspect_access_token(state.policy(), &caller, claims, issuing_client.as_deref(), revoked, now)
        }
        None => match state.store().find_refresh_token(&SecretHash::of(&request.token)).await? {
            Some(found) => {
                let issuing_client = issuing_client(&state, &caller, &found.record.client_id).await?;
                let (rotated, revoked) = (found.rotated_at.is_some(), found.revoked_at.is_some());
                introspect_refresh_token(
                    &caller,
                    found.record,
                    rotated,
                    revoked,
                    issuing_client.as_deref(),
                    now,
                )
            }
            None => Introspection::Inactive,
        },
    };
    Ok(no_store(Json(introspection_body(&state, answer))))
}

/// The token's client as stored now; the caller itself needs no second lookup.
async fn issuing_client(
    state: &AppState,
    caller: &Arc<Client>,
    client_id: &str,
) -> Result<Option<Arc<Client>>, ServerError> {
    if client_id == caller.client_id {
        return Ok(Some(Arc::clone(caller)));
    }
    Ok(state.find_client(client_id).await?)
}

fn introspection_body(state: &AppState, answer: Introspection) -> Value {
    match answer {
        Introspection::Inactive => json!({ "active": false }),
        Introspection::ActiveRefreshToken(record) => json!({
            "active": true,
            "client_id": record.client_id,
            "sub": record.user_id,
            "scope": record.scope.to_string(),
            "exp": record.expires_at,
            "iat": record.created_at,
            "iss": state.issuer(),
        }),
        Introspection::Active(claims) => {
            let mut body = json!({
                "active": true,
                "token_type": "Bearer",
                "client_id": claims.client_id,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "exp": claims.exp,
                "iat": claims.iat,
                "nbf": claims.nbf,
                "jti": claims.jti,
            });
            if !claims.scope.is_empty() {
                body["scope"] = Value::String(claims.scope);
            }
            body
        }
    }
}
