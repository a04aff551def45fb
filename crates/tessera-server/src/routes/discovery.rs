//! Authorization server metadata (RFC 8414, OpenID Connect Discovery) and the
//! JWKS. Metadata lists only what this server really does.
//!
//! The metadata is rendered once and served as kept bytes until the scopes or
//! the key set change (`changes`); everything else in it is fixed at start.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_core::client_auth::AuthMethod;
use tessera_core::jwt::Signer;

use crate::error::ServerError;
use crate::signatures::verified_algorithm_names;
use crate::state::AppState;

pub(super) async fn metadata(State(state): State<AppState>) -> Result<Response, ServerError> {
    let document = state.discovery_document().get_or_render(render_metadata(&state)).await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], document).into_response())
}

async fn render_metadata(state: &AppState) -> Result<Bytes, ServerError> {
    let scopes: Vec<String> =
        state.store().list_scopes().await?.into_iter().map(|record| record.name.to_string()).collect();
    let challenge_methods: &[&str] =
        if state.settings().authorize_policy.allow_plain_pkce { &["S256", "plain"] } else { &["S256"] };
    let secret_methods = [
        AuthMethod::ClientSecretBasic.as_str(),
        AuthMethod::ClientSecretPost.as_str(),
        AuthMethod::PrivateKeyJwt.as_str(),
    ];
    let assertion_algs = verified_algorithm_names();
    let mut metadata = json!({
        "issuer": state.issuer(),
        "authorization_endpoint": state.endpoint("/authorize"),
        "token_endpoint": state.endpoint("/token"),
        "jwks_uri": state.endpoint("/jwks.json"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ],
        "code_challenge_methods_supported": challenge_methods,
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": secret_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint": state.endpoint("/introspect"),
        "introspection_endpoint_auth_methods_supported": secret_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        // RFC 9701 §7: the signed answer to `Accept: application/token-introspection+jwt`.
        // No `introspection_encryption_*`: answers are signed, never encrypted.
        "introspection_signing_alg_values_supported":
            [super::introspect::response_signer(&state.keys()).algorithm().as_str()],
        "revocation_endpoint": state.endpoint("/revoke"),
        "revocation_endpoint_auth_methods_supported": [
            AuthMethod::ClientSecretBasic.as_str(),
            AuthMethod::ClientSecretPost.as_str(),
            AuthMethod::PrivateKeyJwt.as_str(),
            AuthMethod::None.as_str(),
        ],
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "pushed_authorization_request_endpoint": state.endpoint("/par"),
        "require_pushed_authorization_requests": state.settings().require_pushed_authorization_requests,
        "dpop_signing_alg_values_supported":
            verified_algorithm_names(),
        "registration_endpoint": state.endpoint("/register"),
        "userinfo_endpoint": state.endpoint("/userinfo"),
        "end_session_endpoint": state.endpoint("/logout"),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp",
            "name", "preferred_username", "email", "email_verified",
        ],
    });
    // draft-ietf-oauth-client-id-metadata-document §6, only when such clients are accepted.
    if state.settings().client_id_metadata_documents.is_some() {
        metadata["client_id_metadata_document_supported"] = json!(true);
    }
    let serialized = serde_json::to_vec(&metadata)
        .map_err(|err| ServerError::Internal(format!("serializing the discovery metadata: {err}")))?;
    Ok(Bytes::from(serialized))
}

pub(super) async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = state.keys().jwks_json.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
