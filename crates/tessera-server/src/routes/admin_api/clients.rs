//! `/admin/api/clients`: applications (OAuth clients). Who may see and change
//! which client, and every metadata rule, is `admin::service`'s and the core's;
//! this module only translates JSON to `ClientRegistration` and `ClientView` back.

use std::borrow::Cow;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tessera_core::ErrorCode;
use tessera_core::client::{Client, GrantType};
use tessera_core::registration::ClientRegistration;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::admin::auth::ApiActor;
use crate::admin::service;
use crate::error::{ServerError, no_store};
use crate::registry::ClientView;
use crate::routes::admin_api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::admin_api::openapi::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use crate::state::AppState;

/// Rows per page when `limit` is not given.
const DEFAULT_PAGE: u32 = 50;
/// The longest a rotated-out secret may keep working.
const MAX_GRACE_SECONDS: u64 = 30 * 24 * 60 * 60;

/// An application as the API shows it: never a secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Application {
    client_id: String,
    name: String,
    /// The organisation's web site.
    org_url: Option<String>,
    public: bool,
    /// `client_secret_basic`, `client_secret_post`, or `none` for public clients.
    token_endpoint_auth_method: String,
    disabled: bool,
    introspect_any_token: bool,
    require_pkce: bool,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    #[schema(value_type = Vec<GrantTypeName>)]
    grant_types: Vec<String>,
    scopes: Vec<String>,
    default_scopes: Vec<String>,
    resources: Vec<String>,
    /// Seconds; `null` means the server's lifetime.
    access_token_lifetime: Option<u64>,
    /// RFC 9449 §5.2: token requests without a DPoP proof are refused.
    dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: authorization requests only through the PAR endpoint.
    require_pushed_authorization_requests: bool,
    /// The user id of the developer who registered it; `null` for an administrator's.
    owner: Option<String>,
    /// Unix time, in seconds.
    created_at: u64,
}

impl From<ClientView> for Application {
    // Destructured whole: a field added to `ClientView` fails to compile here
    // until the API (and so its OpenAPI schema) shows it too.
    fn from(view: ClientView) -> Application {
        let ClientView {
            client_id,
            name,
            org_url,
            public,
            token_endpoint_auth_method,
            disabled,
            introspect_any_token,
            require_pkce,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            default_scopes,
            resources,
            access_token_lifetime,
            dpop_bound_access_tokens,
            require_pushed_authorization_requests,
            owner,
            created_at,
        } = view;
        Application {
            client_id,
            name,
            org_url,
            public,
            token_endpoint_auth_method,
            disabled,
            introspect_any_token,
            require_pkce,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            default_scopes,
            resources,
            access_token_lifetime,
            dpop_bound_access_tokens,
            require_pushed_authorization_requests,
            owner,
            created_at,
        }
    }
}

impl From<&Client> for Application {
    fn from(client: &Client) -> Application {
        Application::from(ClientView::from(client))
    }
}

/// An application's metadata, for registering it or replacing it whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplicationInput {
    /// 1 to 200 printable characters.
    #[schema(min_length = 1)]
    name: String,
    /// The organisation's web site: an absolute http(s) URL.
    #[serde(default)]
    organisation_url: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `client_credentials`, `refresh_token`. Empty means
    /// `client_credentials` for a confidential client, plus the code flow when
    /// redirect URIs are given.
    #[serde(default)]
    #[schema(value_type = Vec<GrantTypeName>)]
    grant_types: Vec<String>,
    /// Scopes from the registry (`/admin/api/scopes`).
    #[serde(default)]
    scopes: Vec<String>,
    /// Granted when a request names none; `null` means every scope in `scopes`.
    #[serde(default)]
    default_scopes: Option<Vec<String>>,
    /// RFC 8707 resource indicators the client may ask tokens for.
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    client_type: ClientType,
    /// Seconds (`tessera_core::registration::ACCESS_TOKEN_LIFETIME_RANGE`);
    /// `null` means the server's lifetime.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 86400)]
    access_token_lifetime: Option<u64>,
    /// Lets the client introspect every token (resource servers). Administrators only.
    #[serde(default)]
    introspect_any_token: bool,
    /// Lets a confidential client use the code flow without PKCE. Administrators only.
    #[serde(default)]
    pkce_optional: bool,
    /// RFC 9449 §5.2: refuse the client's token requests that carry no DPoP proof.
    #[serde(default)]
    dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: accept the client's authorization requests only through the PAR endpoint.
    #[serde(default)]
    require_pushed_authorization_requests: bool,
}

/// A confidential client holds a secret; a public one (a browser or mobile app) cannot.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ClientType {
    #[default]
    Confidential,
    Public,
}

impl From<ApplicationInput> for ClientRegistration {
    fn from(input: ApplicationInput) -> ClientRegistration {
        ClientRegistration {
            name: input.name,
            org_url: input.organisation_url,
            redirect_uris: input.redirect_uris,
            post_logout_redirect_uris: input.post_logout_redirect_uris,
            grant_types: input.grant_types,
            scopes: input.scopes,
            default_scopes: input.default_scopes,
            resources: input.resources,
            public: input.client_type == ClientType::Public,
            token_endpoint_auth_method: None,
            may_introspect_any_token: input.introspect_any_token,
            pkce_optional: input.pkce_optional,
            access_token_lifetime: input.access_token_lifetime,
            jwks: None,
            jwks_uri: None,
            allow_http_jwks_uri: false,
            dpop_bound_access_tokens: input.dpop_bound_access_tokens,
            require_pushed_authorization_requests: input.require_pushed_authorization_requests,
        }
    }
}

/// A grant type by name, in the schema only: the core reads the strings
/// (`GrantType::parse`), so an unknown one is its `invalid_client_metadata`.
pub(crate) struct GrantTypeName;

impl PartialSchema for GrantTypeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(GrantType::ALL.map(GrantType::as_str)))
            .into()
    }
}

impl ToSchema for GrantTypeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("GrantType")
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Case-insensitive text in the name or the client id.
    search: Option<String>,
    /// Rows per page, default 50; clamped to 1 to 200.
    // Documented as what it is, a u32: utoipa would call it an int32 and so
    // promise that 2^31 is refused.
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    limit: Option<u32>,
    /// Rows to skip.
    #[serde(default)]
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    offset: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApplicationList {
    clients: Vec<Application>,
    /// How many match, over every page.
    total: u64,
}

// No `Debug`: it holds a secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedApplication {
    client: Application,
    /// Shown this once; `null` for a public client.
    client_secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateSecret {
    /// How long the previous secret keeps working, in seconds (at most 30 days).
    #[serde(default)]
    #[schema(maximum = 2592000)]
    grace_seconds: u64,
}

// No `Debug`: it holds a secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct NewSecret {
    /// Shown this once.
    client_secret: String,
}

/// The applications the caller may see: every one for an administrator, their own for a developer.
#[utoipa::path(
    get,
    path = "/admin/api/clients",
    operation_id = "listClients",
    tag = "applications",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of applications", body = ApplicationList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
pub(crate) async fn list(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ApplicationList>, ServerError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let (clients, total) = service::list_clients(&state, &actor, query.search, limit, query.offset).await?;
    Ok(Json(ApplicationList { clients: clients.iter().map(Application::from).collect(), total }))
}

/// Registers an application. A developer owns what they register.
#[utoipa::path(
    post,
    path = "/admin/api/clients",
    operation_id = "createClient",
    tag = "applications",
    request_body = ApplicationInput,
    responses(
        (status = 201, description = "Registered; the secret is shown this once", body = CreatedApplication),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(crate) async fn create(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ApplicationInput>,
) -> Result<Response, ServerError> {
    let created = service::create_client(&state, &actor, input.into()).await?;
    let body = CreatedApplication {
        client: Application::from(&created.client),
        client_secret: created.client_secret.clone(),
    };
    Ok(no_store((StatusCode::CREATED, Json(body))))
}

#[utoipa::path(
    get,
    path = "/admin/api/clients/{client_id}",
    operation_id = "getClient",
    tag = "applications",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The application", body = Application),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn read(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(client_id): ApiPath<String>,
) -> Result<Json<Application>, ServerError> {
    let client = service::find_client(&state, &actor, &client_id).await?;
    Ok(Json(Application::from(&client)))
}

/// Replaces an application's metadata; its id, secret and owner stay.
#[utoipa::path(
    put,
    path = "/admin/api/clients/{client_id}",
    operation_id = "updateClient",
    tag = "applications",
    params(("client_id" = String, Path)),
    request_body = ApplicationInput,
    responses(
        (status = 200, description = "The updated application", body = Application),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(crate) async fn update(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(input): ApiJson<ApplicationInput>,
) -> Result<Json<Application>, ServerError> {
    let client = service::update_client(&state, &actor, &client_id, input.into()).await?;
    Ok(Json(Application::from(&client)))
}

/// Deletes an application; its tokens stop working.
#[utoipa::path(
    delete,
    path = "/admin/api/clients/{client_id}",
    operation_id = "deleteClient",
    tag = "applications",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn delete(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(client_id): ApiPath<String>,
) -> Result<StatusCode, ServerError> {
    service::delete_client(&state, &actor, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new secret, shown once. The old one keeps working for `grace_seconds`.
#[utoipa::path(
    post,
    path = "/admin/api/clients/{client_id}/secret",
    operation_id = "rotateClientSecret",
    tag = "applications",
    params(("client_id" = String, Path)),
    request_body = RotateSecret,
    responses(
        (status = 200, description = "The new secret, shown this once", body = NewSecret),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(crate) async fn rotate_secret(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(input): ApiJson<RotateSecret>,
) -> Result<Response, ServerError> {
    if input.grace_seconds > MAX_GRACE_SECONDS {
        return Err(ErrorCode::InvalidRequest
            .with(format!("grace_seconds is at most {MAX_GRACE_SECONDS} (30 days)"))
            .into());
    }
    let grace = Duration::from_secs(input.grace_seconds);
    let client_secret = service::rotate_client_secret(&state, &actor, &client_id, grace).await?;
    Ok(no_store(Json(NewSecret { client_secret })))
}

/// Disables an application: it cannot authenticate, its access tokens
/// introspect as inactive and its refresh tokens are revoked.
#[utoipa::path(
    post,
    path = "/admin/api/clients/{client_id}/disable",
    operation_id = "disableClient",
    tag = "applications",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Disabled"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn disable(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(client_id): ApiPath<String>,
) -> Result<StatusCode, ServerError> {
    service::set_client_disabled(&state, &actor, &client_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enables a disabled application (revoked refresh tokens stay revoked).
#[utoipa::path(
    post,
    path = "/admin/api/clients/{client_id}/enable",
    operation_id = "enableClient",
    tag = "applications",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Enabled"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn enable(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(client_id): ApiPath<String>,
) -> Result<StatusCode, ServerError> {
    service::set_client_disabled(&state, &actor, &client_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
