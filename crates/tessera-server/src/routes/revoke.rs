//! `POST /revoke` (RFC 7009). Unknown, malformed and expired tokens get a 200:
//! the client's goal, a token that no longer works, is already met.

use axum::extract::State;
use axum::response::Response;
use tessera_core::introspection::TokenRequestByValue;
use tessera_core::revocation::{revoke_access_token, revoke_refresh_token};
use tessera_core::secret::SecretHash;

use crate::error::{ServerError, no_store};
use crate::limits::ClientLimit;
use crate::routes::client_auth::authenticate_client;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

pub(super) async fn revoke(State(state): State<AppState>, form: OAuthForm) -> Result<Response, ServerError> {
    let caller = authenticate_client(&state, &form, ClientLimit::Token).await?;
    let request = TokenRequestByValue::parse(&form.params)?;
    let now = unix_now();
    if let Some(claims) = state.keys().verify_access_token(&request.token) {
        if let Some(revocation) = revoke_access_token(&caller, claims, now)? {
            state.revoke_access_token(&revocation.jti, revocation.expires_at, now).await?;
            tracing::info!(client_id = %caller.client_id, jti = %revocation.jti, "access token revoked");
        }
    } else if let Some(found) = state.store().find_refresh_token(&SecretHash::of(&request.token)).await? {
        let family = revoke_refresh_token(&caller, &found.record)?;
        if state.store().revoke_refresh_family(&family, now).await? {
            tracing::info!(client_id = %caller.client_id, %family, "refresh token family revoked");
        }
    }
    Ok(no_store(()))
}
