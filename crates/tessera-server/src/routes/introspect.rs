//! `POST /introspect` (RFC 7662). Anything that is not an active token the
//! caller may see is `{"active": false}`, whatever the reason.
//!
//! A caller that asks for `application/token-introspection+jwt` gets the same
//! answer signed as a JWT (RFC 9701); errors stay plain JSON either way.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use tessera_core::client::Client;
use tessera_core::introspection::{
    INTROSPECTION_JWT_MEDIA_TYPE, INTROSPECTION_JWT_TYP, Introspection, IntrospectionFormat,
    TokenRequestByValue, ensure_may_introspect, introspect_access_token, introspect_refresh_token,
    introspection_response_claims,
};
use tessera_core::jwt;
use tessera_core::secret::SecretHash;

use crate::error::{ServerError, no_store};
use crate::keys::{KeySet, SigningKey};
use crate::limits::ClientLimit;
use crate::routes::client_auth::authenticate_client;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<Response, ServerError> {
    let format = IntrospectionFormat::negotiate(accept(&headers).as_deref());
    let caller = authenticate_client(&state, &form, ClientLimit::Introspect).await?;
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
                // A disabled user's tokens are inactive, as at the token endpoint.
                let (rotated, revoked) =
                    (found.rotated_at.is_some(), found.revoked_at.is_some() || found.user_disabled);
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
    let body = introspection_body(&state, answer);
    let mut response = match format {
        IntrospectionFormat::Json => no_store(Json(body)),
        IntrospectionFormat::Jwt => {
            let claims = introspection_response_claims(state.policy(), &caller, body, now);
            let signed =
                jwt::encode(response_signer(&state.keys()).as_ref(), INTROSPECTION_JWT_TYP, &claims)?;
            no_store((
                [(header::CONTENT_TYPE, HeaderValue::from_static(INTROSPECTION_JWT_MEDIA_TYPE))],
                signed,
            ))
        }
    };
    // The representation depends on `Accept` (RFC 9110 §12.5.5).
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

/// The key that signs RFC 9701 answers, and so the one algorithm discovery's
/// `introspection_signing_alg_values_supported` lists: the current ES256 key.
/// The `typ` `token-introspection+jwt` keeps an answer from passing for an
/// access token signed by the same key. RFC 9701 §6 registration metadata
/// (`introspection_signed_response_alg`) is not supported, so every caller
/// gets this algorithm.
pub(super) fn response_signer(keys: &KeySet) -> Arc<SigningKey> {
    Arc::clone(&keys.access_token_signer)
}

/// Every `Accept` line, joined as one list (RFC 9110 §5.3); `None` if absent
/// or not visible ASCII.
fn accept(headers: &HeaderMap) -> Option<String> {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    values.peek()?;
    values.map(|value| value.to_str().ok()).collect::<Option<Vec<_>>>().map(|values| values.join(","))
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
            // RFC 9449 §6.2: a DPoP-bound token's key, for the resource to check.
            if let Some(cnf) = claims.cnf {
                body["token_type"] = Value::from(tessera_core::dpop::TOKEN_TYPE);
                body["cnf"] = json!({ "jkt": cnf.jkt });
            }
            // RFC 8693 §4.1: who acts for the subject of a delegated token.
            if let Some(act) = claims.act {
                body["act"] = json!(act);
            }
            body
        }
    }
}
