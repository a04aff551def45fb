//! `POST /introspect` (RFC 7662). Anything that is not an active token the
//! caller may see is `{"active": false}`, whatever the reason.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_core::introspection::{
    Introspection, TokenRequestByValue, ensure_may_introspect, introspect_access_token,
};

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
    let answer = match state.keys().verify_access_token(&request.token) {
        None => Introspection::Inactive,
        Some(claims) => {
            let issuing_client = if claims.client_id == caller.client_id {
                Some(caller.clone())
            } else {
                state.store().find_client(&claims.client_id).await?
            };
            let revoked = state.store().is_access_token_revoked(&claims.jti).await?;
            introspect_access_token(
                state.policy(),
                &caller,
                claims,
                issuing_client.as_ref(),
                revoked,
                unix_now(),
            )
        }
    };
    Ok(no_store(Json(introspection_body(answer))))
}

fn introspection_body(answer: Introspection) -> Value {
    match answer {
        Introspection::Inactive => json!({ "active": false }),
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
