//! Dynamic client registration (RFC 7591) at `POST /register`, behind an
//! initial access token, and client configuration management (RFC 7592) at
//! `/register/{client_id}`, behind the client's registration access token.
//!
//! The metadata document and its rules are the core's (`ClientMetadata`,
//! `register_client`, and the redirect host allow-list of
//! `dynamic_registration`, which applies here and not to clients an
//! administrator creates); this module reads the HTTP request, adds the
//! server's outbound policy and writes the RFC 7591 response.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tessera_core::ErrorCode;
use tessera_core::client::{Client, GrantType};
use tessera_core::client_auth::is_valid_client_id;
use tessera_core::registration::{ClientMetadata, ClientRegistration};
use tessera_core::secret::SecretHash;

use crate::error::{ServerError, no_store};
use crate::limits::IpLimit;
use crate::registry::{self, ClientView};
use crate::routes::extract::{bearer_token, peer_ip};
use crate::state::AppState;
use crate::unix_now;

const METADATA_BODY_LIMIT: usize = 64 * 1024;

pub(super) async fn register(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ServerError> {
    state.rate_limits().admit_ip(IpLimit::Register, peer_ip(request.extensions()), state.metrics())?;
    let token = bearer_token(request.headers())?;
    let token_hash = SecretHash::of(&token);
    let configured = state.settings().initial_access_token.as_ref().is_some_and(|hash| hash.matches(&token));
    if !configured && !state.store().is_registration_token_valid(&token_hash, unix_now()).await? {
        return Err(ErrorCode::InvalidToken.with("a valid initial access token is required").into());
    }
    let registration = checked_registration(&state, metadata_body(request).await?)?;
    let registered = registry::create_dynamic_client(state.store(), registration, unix_now()).await?;
    let client = &registered.created.client;
    tracing::info!(client_id = %client.client_id, "client registered dynamically");

    let mut body = metadata_response(&state, client);
    body["registration_access_token"] = json!(registered.registration_access_token);
    if let Some(secret) = &registered.created.client_secret {
        body["client_secret"] = json!(secret);
        body["client_secret_expires_at"] = json!(0);
    }
    Ok(no_store((StatusCode::CREATED, Json(body))))
}

pub(super) async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    request: Request,
) -> Result<Response, ServerError> {
    let client = managed_client(&state, &client_id, bearer_token(request.headers())?).await?;
    Ok(no_store(Json(metadata_response(&state, &client))))
}

pub(super) async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    request: Request,
) -> Result<Response, ServerError> {
    let client = managed_client(&state, &client_id, bearer_token(request.headers())?).await?;
    let mut metadata = metadata_body(request).await?;
    if metadata.client_id.as_deref() != Some(client.client_id.as_str()) {
        return Err(ErrorCode::InvalidRequest.with("`client_id` in the body must name this client").into());
    }
    let secret_matches = match (&client.secret_hash, metadata.client_secret.take()) {
        (_, None) => true,
        (Some(hash), Some(secret)) => hash.matches(&secret),
        (None, Some(_)) => false,
    };
    if !secret_matches {
        return Err(ErrorCode::InvalidRequest
            .with("`client_secret` does not match the client's secret")
            .into());
    }
    let registration = checked_registration(&state, metadata)?;
    let updated = registry::update_dynamic_client(state.store(), &client, registration).await?;
    state.client_changed();
    Ok(no_store(Json(metadata_response(&state, &updated))))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    request: Request,
) -> Result<Response, ServerError> {
    let client = managed_client(&state, &client_id, bearer_token(request.headers())?).await?;
    state.store().delete_client(&client.client_id).await?;
    state.client_changed();
    tracing::info!(client_id = %client.client_id, "client deleted through its registration access token");
    Ok(no_store(StatusCode::NO_CONTENT))
}

/// The client named in the path, if the request carries its registration
/// access token. Every failure is the same 401, so client ids are not probed.
async fn managed_client(state: &AppState, client_id: &str, token: String) -> Result<Client, ServerError> {
    let client = match is_valid_client_id(client_id) {
        true => state.store().find_client(client_id).await?,
        false => None,
    };
    match client {
        Some(client) if client.registration_token_hash.as_ref().is_some_and(|hash| hash.matches(&token)) => {
            Ok(client)
        }
        _ => Err(ErrorCode::InvalidToken
            .with("the registration access token is not valid for this client")
            .into()),
    }
}

async fn metadata_body(request: Request) -> Result<ClientMetadata, ServerError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ErrorCode::InvalidRequest.with("the body must be application/json").into());
    }
    let body = axum::body::to_bytes(request.into_body(), METADATA_BODY_LIMIT)
        .await
        .map_err(|_| ServerError::PayloadTooLarge(METADATA_BODY_LIMIT))?;
    Ok(ClientMetadata::from_json(&body)?)
}

/// The registration `metadata` asks for, with the server's outbound policy,
/// within the dynamic-registration redirect host allow-list.
fn checked_registration(
    state: &AppState,
    metadata: ClientMetadata,
) -> Result<ClientRegistration, ServerError> {
    let registration = ClientRegistration {
        // `[outbound] allow_http`, never the client's to choose.
        allow_http_jwks_uri: state.settings().outbound.allow_http,
        ..metadata.into_registration()?
    };
    state.settings().registration.allowed_redirect_hosts.check_registration(&registration)?;
    Ok(registration)
}

/// RFC 7591 §3.2.1 / RFC 7592 §3: the client's registered metadata.
fn metadata_response(state: &AppState, client: &Client) -> Value {
    let view = ClientView::from(client);
    let response_types: &[&str] =
        if client.has_grant_type(GrantType::AuthorizationCode) { &["code"] } else { &[] };
    let mut body = json!({
        "client_id": view.client_id,
        "client_id_issued_at": view.created_at,
        "client_name": view.name,
        "redirect_uris": view.redirect_uris,
        "post_logout_redirect_uris": view.post_logout_redirect_uris,
        "grant_types": view.grant_types,
        "response_types": response_types,
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "scope": view.scopes.join(" "),
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
        "registration_client_uri": state.endpoint(&format!("/register/{}", client.client_id)),
    });
    if let Some(client_uri) = view.org_url {
        body["client_uri"] = json!(client_uri);
    }
    if let Some(jwks) = &client.jwks {
        body["jwks"] = serde_json::from_str(jwks.as_json()).unwrap_or(Value::Null);
    }
    if let Some(jwks_uri) = &client.jwks_uri {
        body["jwks_uri"] = json!(jwks_uri);
    }
    body
}
