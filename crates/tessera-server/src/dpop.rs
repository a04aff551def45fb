//! DPoP (RFC 9449) at the server: the `DPoP` header read, the signature
//! checked (`signatures::AwsLcVerifier`), and the proof's `jti` recorded once in the store, so a
//! replay is refused whichever replica it reaches. With `require_dpop_nonce`,
//! proofs must carry a nonce from `RequestSeals`, handed out in `DPoP-Nonce`.
//! The rules themselves are the core's (`tessera_core::dpop`).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::dpop::{ProofContext, VerifiedProof, verify_proof};
use tessera_core::{ErrorCode, OAuthError};

use crate::error::{ServerError, no_store};
use crate::signatures::{AwsLcVerifier, verified_algorithm_names};
use crate::state::AppState;
use crate::unix_now;

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";

/// The response header that hands out a nonce (RFC 9449 §8.1); a browser
/// client behind CORS must be allowed to read it.
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// The one `DPoP` header of a request, if any. Several are refused (RFC 9449
/// §4.3 check 1).
pub fn proof_header(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let mut values = headers.get_all(DPOP_HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ErrorCode::InvalidDpopProof.with("more than one DPoP header"));
    }
    let value =
        value.to_str().map_err(|_| ErrorCode::InvalidDpopProof.with("the DPoP header is not ASCII"))?;
    Ok(Some(value.trim().to_owned()))
}

/// Verifies `proof` for a request of `method` to `uri` (and, at a resource,
/// for `access_token`), then records its `jti` once: a replay is
/// `invalid_dpop_proof`.
pub async fn check_proof(
    state: &AppState,
    proof: &str,
    method: &str,
    uri: &str,
    access_token: Option<&str>,
) -> Result<VerifiedProof, ServerError> {
    let now = unix_now();
    let accepted_nonces =
        state.settings().require_dpop_nonce.then(|| state.request_seals().accepted_dpop_nonces(now));
    let context = ProofContext {
        method,
        uri,
        now,
        access_token,
        accepted_nonces: accepted_nonces.as_ref().map(|nonces| nonces.as_slice()),
    };
    let verified = verify_proof(proof, &context, &AwsLcVerifier)?;
    if !state.store().record_jti_once(&verified.replay_key(), verified.remember_until(), now).await? {
        return Err(ErrorCode::InvalidDpopProof.with("the DPoP proof was already used").into());
    }
    Ok(verified)
}

/// `response` with a fresh `DPoP-Nonce` when the server requires nonces: on
/// success, for the next proof, and on `use_dpop_nonce`, for the retry (RFC
/// 9449 §8.2 lets any response carry one).
pub fn with_nonce(state: &AppState, mut response: Response) -> Response {
    if state.settings().require_dpop_nonce
        && let Ok(nonce) = HeaderValue::from_str(&state.request_seals().dpop_nonce(unix_now()))
    {
        response.headers_mut().insert(DPOP_NONCE_HEADER, nonce);
    }
    response
}

/// An error at a resource (userinfo) for a request with the DPoP scheme:
/// 401 with a `DPoP` challenge (RFC 9449 §7.1), which also lists the
/// algorithms accepted.
pub fn resource_error(err: ServerError) -> Response {
    let ServerError::OAuth(err) = err else { return err.into_response() };
    let status = match err.code {
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    let code = match err.code {
        ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce | ErrorCode::InsufficientScope => err.code,
        _ => ErrorCode::InvalidToken,
    };
    let algs: Vec<&str> = verified_algorithm_names();
    let challenge = format!("DPoP algs=\"{}\", error=\"{}\"", algs.join(" "), code.as_str());
    let body = serde_json::json!({ "error": code.as_str(), "error_description": err.description });
    let mut response = no_store((status, axum::Json(body)));
    if let Ok(challenge) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}
