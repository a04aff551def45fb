//! `POST /token` (RFC 6749 §3.2): authenticate the client, decide the grant in
//! the core, sign, answer.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use tessera_core::grant::TokenRequest;
use tessera_core::grant::client_credentials::grant_client_credentials;
use tessera_core::jwt;
use tessera_core::token::{ACCESS_TOKEN_TYP, AccessTokenGrant};

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

    let grant = match request {
        TokenRequest::ClientCredentials(request) => {
            grant_client_credentials(state.policy(), &client, request, unix_now(), new_token_id()?)?
        }
    };
    tracing::info!(client_id = %client.client_id, grant_type = %"client_credentials", jti = %grant.claims.jti, "token issued");
    token_response(&state, grant)
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
