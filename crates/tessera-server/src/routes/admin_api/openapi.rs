//! The admin API's OpenAPI 3.1 document, derived by utoipa from the handlers'
//! `#[utoipa::path]` annotations and the wire types, and served at
//! `/admin/api/openapi.json` without authentication. The error responses
//! every operation shares are defined once here.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use crate::error::ServerError;
use crate::routes::admin_api::{audit, clients, scopes, tokens, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Manage applications, scopes, users and admin API tokens, and read the audit \
                       trail. Authenticate with an admin API token: `Authorization: Bearer <token>`. \
                       Errors are JSON `{\"error\", \"error_description\"}` with an RFC 6749 style code.",
    ),
    paths(
        openapi_json,
        clients::list,
        clients::create,
        clients::read,
        clients::update,
        clients::delete,
        clients::rotate_secret,
        clients::disable,
        clients::enable,
        scopes::list,
        scopes::create,
        scopes::delete,
        users::list,
        users::create,
        users::read,
        users::update,
        users::set_password,
        users::consents,
        users::revoke_consent,
        tokens::list,
        tokens::create,
        tokens::delete,
        audit::search,
    ),
    components(
        schemas(ApiError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType
        )
    ),
    modifiers(&BearerToken),
    security(("bearer" = [])),
    tags(
        (name = "applications", description = "OAuth clients"),
        (name = "scopes", description = "The scope registry"),
        (name = "users", description = "Accounts, roles and consents (administrators only)"),
        (name = "tokens", description = "Admin API tokens"),
        (name = "audit", description = "The audit trail (administrators only)"),
        (name = "meta", description = "This document"),
    )
)]
pub(crate) struct ApiDoc;

/// Every error body: an RFC 6749 §5.2 style code and a human-readable sentence.
/// The schema only: `ServerError` writes the bodies.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ApiError {
    /// `invalid_request`, `invalid_client_metadata`, `invalid_redirect_uri`,
    /// `invalid_scope`, `invalid_token`, `access_denied`, `not_found`, `conflict`…
    error: String,
    error_description: String,
}

/// Malformed input (`invalid_request`), or metadata that breaks a rule
/// (`invalid_client_metadata`, `invalid_redirect_uri`, `invalid_scope`).
#[derive(ToResponse)]
#[allow(dead_code)] // Only its schema is used: the bodies come from `ServerError`.
pub(crate) struct BadRequest(ApiError);

/// No admin API token, or one that is unknown, expired, or whose user is
/// disabled or no longer a developer or administrator (`invalid_token`).
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tessera-admin\"`")))]
#[allow(dead_code)]
pub(crate) struct Unauthorized(ApiError);

/// The caller's role does not allow this (`access_denied`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub(crate) struct Forbidden(ApiError);

/// Nothing by that id that the caller may see (`not_found`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub(crate) struct NotFound(ApiError);

/// The name is taken, or the thing is still in use (`conflict`); the description says which.
#[derive(ToResponse)]
#[allow(dead_code)]
pub(crate) struct Conflict(ApiError);

/// The body is over 64 KiB (`invalid_request`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub(crate) struct PayloadTooLarge(ApiError);

/// The body is not sent as `application/json` (`invalid_request`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub(crate) struct UnsupportedMediaType(ApiError);

/// Declares the `bearer` scheme that the document's global `security` names.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An admin API token (`tsa_…`), made with `POST /admin/api/tokens` or the CLI"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document, serialized once: it is fixed at compile time.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| ApiDoc::openapi().to_json().map_err(|err| err.to_string()));

/// This document.
#[utoipa::path(
    get,
    path = "/admin/api/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi_json() -> Result<Response, ServerError> {
    let document =
        DOCUMENT.as_ref().map_err(|err| ServerError::Internal(format!("openapi document: {err}")))?;
    let mut response = document.clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
