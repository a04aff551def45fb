//! `POST /revoke` (RFC 7009). Unknown, malformed and expired tokens get a 200:
//! the client's goal, a token that no longer works, is already met.

use axum::extract::State;
use axum::response::Response;
use tessera_core::introspection::TokenRequestByValue;
use tessera_core::revocation::revoke_access_token;

use crate::error::{ServerError, no_store};
use crate::routes::client_auth::authenticate_client;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

pub(super) async fn revoke(State(state): State<AppState>, form: OAuthForm) -> Result<Response, ServerError> {
    let caller = authenticate_client(&state, &form).await?;
    let request = TokenRequestByValue::parse(&form.params)?;
    // Refresh tokens do not exist yet; once they do, they are looked up here too.
    if let Some(claims) = state.keys().verify_access_token(&request.token) {
        let now = unix_now();
        if let Some(revocation) = revoke_access_token(&caller, claims, now)? {
            state.store().revoke_access_token(&revocation.jti, revocation.expires_at, now).await?;
            tracing::info!(client_id = %caller.client_id, jti = %revocation.jti, "access token revoked");
        }
    }
    Ok(no_store(()))
}
