//! `POST /token` (RFC 6749 §3.2): authenticate the client, decide the grant in
//! the core, sign, answer.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use tessera_core::ErrorCode;
use tessera_core::client::Client;
use tessera_core::grant::authorization_code::exchange_code;
use tessera_core::grant::client_credentials::grant_client_credentials;
use tessera_core::grant::{AuthorizationCodeRequest, TokenRequest};
use tessera_core::jwt;
use tessera_core::secret::SecretHash;
use tessera_core::token::{ACCESS_TOKEN_TYP, AccessTokenGrant};
use tessera_store::IssuedFromCode;

use crate::error::{ServerError, no_store};
use crate::random::new_token_id;
use crate::routes::client_auth::authenticate_client;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

/// RFC 6749 §5.1 success body.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    scope: String,
}

pub(super) async fn token(State(state): State<AppState>, form: OAuthForm) -> Result<Response, ServerError> {
    let request = TokenRequest::parse(&form.params)?;
    let client = authenticate_client(&state, &form).await?;

    let grant_type = request.grant_type();
    let grant = match request {
        TokenRequest::ClientCredentials(request) => {
            grant_client_credentials(state.policy(), &client, request, unix_now(), new_token_id()?)?
        }
        TokenRequest::AuthorizationCode(request) => redeem_code(&state, &client, &request).await?,
    };
    tracing::info!(client_id = %client.client_id, %grant_type, jti = %grant.claims.jti, "token issued");
    token_response(&state, grant)
}

/// Consumes the code atomically, then lets the core judge the request against
/// it. A code presented again revokes what it issued (RFC 6749 §4.1.2).
async fn redeem_code(
    state: &AppState,
    client: &Client,
    request: &AuthorizationCodeRequest,
) -> Result<AccessTokenGrant, ServerError> {
    let code_hash = SecretHash::of(&request.code);
    let now = unix_now();
    let invalid = || ErrorCode::InvalidGrant.with("the code is invalid, expired or already used");
    let Some(code) = state.store().consume_code(&code_hash, now).await? else {
        if let Some(issued) = state.store().find_tokens_of_consumed_code(&code_hash).await? {
            state
                .store()
                .revoke_access_token(&issued.access_token_jti, issued.access_token_expires_at, now)
                .await?;
            tracing::warn!(client_id = %client.client_id, jti = %issued.access_token_jti, "authorization code replayed: its tokens are revoked");
        }
        return Err(invalid().into());
    };
    let grant = exchange_code(state.policy(), client, request, &code, now, new_token_id()?)?;
    let user_active = state.store().find_user(&code.user_id).await?.is_some_and(|user| !user.disabled);
    if !user_active {
        return Err(invalid().into());
    }
    let issued = IssuedFromCode {
        access_token_jti: grant.claims.jti.clone(),
        access_token_expires_at: grant.claims.exp,
    };
    state.store().record_code_tokens(&code_hash, &issued).await?;
    Ok(grant)
}

fn token_response(state: &AppState, grant: AccessTokenGrant) -> Result<Response, ServerError> {
    let access_token =
        jwt::encode(state.keys().access_token_signer.as_ref(), ACCESS_TOKEN_TYP, &grant.claims)?;
    let body = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: grant.expires_in,
        scope: grant.scope.to_string(),
    };
    Ok(no_store(Json(body)))
}
