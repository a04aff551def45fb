//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): the claims about the
//! token's user that its scopes release. Bearer errors follow RFC 6750.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use tessera_core::ErrorCode;
use tessera_core::id_token::user_claims;
use tessera_core::scope::ScopeSet;

use crate::error::{ServerError, no_store};
use crate::routes::extract::bearer_token;
use crate::state::AppState;
use crate::unix_now;

pub(super) async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let invalid =
        || ServerError::from(ErrorCode::InvalidToken.with("the access token is invalid, expired or revoked"));
    let token = bearer_token(&headers)?;
    let claims = state.keys().verify_access_token(&token).ok_or_else(invalid)?;
    let now = unix_now();
    let live = claims.iss == state.issuer() && claims.nbf <= now && now < claims.exp;
    if !live || state.is_access_token_revoked(&claims.jti).await? {
        return Err(invalid());
    }
    let scope = ScopeSet::parse(&claims.scope).map_err(|_| invalid())?;
    if !scope.contains("openid") {
        return Err(ErrorCode::InsufficientScope
            .with("the access token was not granted the openid scope")
            .into());
    }
    let user =
        state.store().find_user(&claims.sub).await?.filter(|user| !user.disabled).ok_or_else(invalid)?;
    Ok(no_store(Json(user_claims(&user, &scope))))
}
