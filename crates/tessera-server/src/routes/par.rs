//! `POST /par`: Pushed Authorization Requests (RFC 9126). The client
//! authenticates as at `/token`, the core validates the parameters as an
//! authorization request, and the store keeps them (the hash of the
//! `request_uri` only) until `/authorize` takes them, once. A DPoP proof sent
//! with the push binds the code to its key (RFC 9449 §10.1).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_core::par::{
    PUSHED_REQUEST_LIFETIME, bind_to_proof_key, new_request_uri, push_authorization_request,
    pushed_reference, resolve_pushed_request,
};
use tessera_core::request::FormParams;

use crate::dpop::{check_proof, proof_header, with_nonce};
use crate::error::{ServerError, no_store};
use crate::limits::ClientLimit;
use crate::random::random_token;
use crate::routes::client_auth::authenticate_client;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

pub(super) async fn par(State(state): State<AppState>, headers: HeaderMap, form: OAuthForm) -> Response {
    let response = match push(&state, &headers, &form).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    with_nonce(&state, response)
}

async fn push(state: &AppState, headers: &HeaderMap, form: &OAuthForm) -> Result<Response, ServerError> {
    let client = authenticate_client(state, form, ClientLimit::Token).await?;
    let proof_jkt = match proof_header(headers)? {
        Some(proof) => Some(check_proof(state, &proof, "POST", &state.endpoint("/par"), None).await?.jkt),
        None => None,
    };
    let params = bind_to_proof_key(&form.params, proof_jkt.as_deref())?;
    // 256 bits: the request_uri is a bearer reference to the request.
    let request_uri = new_request_uri(&random_token(32)?);
    let now = unix_now();
    let pushed =
        push_authorization_request(&state.settings().authorize_policy, &client, &params, &request_uri, now)?;
    state.store().save_pushed_request(&pushed, now).await?;
    tracing::info!(client_id = %client.client_id, "authorization request pushed");
    let body = json!({ "request_uri": request_uri, "expires_in": PUSHED_REQUEST_LIFETIME });
    Ok(no_store((StatusCode::CREATED, Json(body))))
}

/// At `/authorize`: the parameters of the pushed request a `request_uri`
/// names, taken from the store (so used once), or `params` unchanged when
/// there is none. The flow then carries these resolved parameters through
/// login and consent, never the spent `request_uri`, sealed as pushed
/// (`RequestSeals::seal_pushed`) for when the server or client requires PAR.
/// `Err` is the error page: the redirect URI is unknown until the request is found.
pub(super) async fn resolve(
    state: &AppState,
    params: FormParams,
) -> Result<Result<FormParams, Response>, ServerError> {
    let reference = match pushed_reference(&params) {
        Ok(None) => return Ok(Ok(params)),
        Ok(Some(reference)) => reference,
        Err(err) => return Ok(Err(state.pages().error(&err))),
    };
    let now = unix_now();
    let taken = state.store().take_pushed_request(&reference.request_uri_hash, now).await?;
    Ok(resolve_pushed_request(&reference, taken, now)
        .map(|params| state.request_seals().seal_pushed(&params, now))
        .map_err(|err| state.pages().error(&err)))
}
