//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): the claims about the
//! token's user that its scopes release. Bearer errors follow RFC 6750.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use tessera_core::ErrorCode;
use tessera_core::id_token::user_claims;
use tessera_core::scope::ScopeSet;

use crate::dpop::check_proof;
use crate::error::{ServerError, no_store};
use crate::routes::extract::bearer_token;
use crate::state::AppState;
use crate::unix_now;

pub(super) async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    // RFC 9449 §7.1: `Authorization: DPoP <token>` with a proof; its errors
    // are answered with a DPoP challenge, and §9: a nonce for the next proof.
    if let Some(token) = dpop_token(&headers) {
        let response = match with_dpop(&state, &method, &headers, &token).await {
            Ok(response) => response,
            Err(err) => crate::dpop::resource_error(err),
        };
        return Ok(crate::dpop::with_nonce(&state, response));
    }
    let token = bearer_token(&headers)?;
    answer(&state, &token, false).await
}

/// The token of an `Authorization: DPoP` header, if that is the scheme.
fn dpop_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case(tessera_core::dpop::TOKEN_TYPE).then(|| token.trim().to_owned())
}

async fn with_dpop(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    token: &str,
) -> Result<Response, ServerError> {
    let proof = crate::dpop::proof_header(headers)?
        .ok_or_else(|| ErrorCode::InvalidDpopProof.with("a DPoP proof is required with the DPoP scheme"))?;
    let claims = state.keys().verify_access_token(token).ok_or_else(|| {
        ServerError::from(ErrorCode::InvalidToken.with("the access token is invalid, expired or revoked"))
    })?;
    let Some(cnf) = &claims.cnf else {
        return Err(ErrorCode::InvalidToken.with("the access token is not DPoP-bound").into());
    };
    let verified =
        check_proof(state, &proof, method.as_str(), &state.endpoint("/userinfo"), Some(token)).await?;
    if verified.jkt != cnf.jkt {
        return Err(ErrorCode::InvalidDpopProof.with("the DPoP proof's key is not the token's").into());
    }
    answer(state, token, true).await
}

/// The user's claims for a token; `proven` when a DPoP proof of the token's
/// key came with it (RFC 9449 §7.2: a bound token is never a Bearer token).
async fn answer(state: &AppState, token: &str, proven: bool) -> Result<Response, ServerError> {
    let invalid =
        || ServerError::from(ErrorCode::InvalidToken.with("the access token is invalid, expired or revoked"));
    let claims = state.keys().verify_access_token(token).ok_or_else(invalid)?;
    if claims.cnf.is_some() && !proven {
        return Err(ErrorCode::InvalidToken
            .with("a DPoP-bound token must be sent with the DPoP scheme")
            .into());
    }
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
