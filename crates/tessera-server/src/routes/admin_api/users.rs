//! `/admin/api/users`: accounts, their roles and their consents. Administrators
//! only (`admin::service` checks). A password goes in, never out: no view here
//! has a field for its hash.

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tessera_core::user::{Role, User};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::admin::auth::ApiActor;
use crate::admin::service;
use crate::error::ServerError;
use crate::routes::admin_api::extract::{ApiJson, ApiPath};
use crate::routes::admin_api::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use crate::state::AppState;
use crate::users::NewUser;

/// A role by its name. Read with `Role::parse`, so the names and the error
/// for an unknown one are the core's; the schema lists `Role::ALL`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoleName(Role);

impl Serialize for RoleName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for RoleName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RoleName, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Role::parse(&raw).map(RoleName).map_err(|err| serde::de::Error::custom(err.description))
    }
}

impl PartialSchema for RoleName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Role::ALL.map(Role::as_str)))
            .description(Some(
                "`user` may only sign in to approve applications; `developer` also manages their own \
                 applications; `admin` manages everything",
            ))
            .into()
    }
}

impl ToSchema for RoleName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Role")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView {
    /// Stable and opaque: the `sub` of the user's tokens.
    user_id: String,
    username: String,
    email: Option<String>,
    name: Option<String>,
    role: RoleName,
    disabled: bool,
    /// Unix time, in seconds.
    created_at: u64,
}

impl From<User> for UserView {
    fn from(user: User) -> UserView {
        UserView {
            user_id: user.user_id,
            username: user.username.as_str().to_owned(),
            email: user.email,
            name: user.name,
            role: RoleName(user.role),
            disabled: user.disabled,
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserList {
    users: Vec<UserView>,
}

// No `Debug`: it holds a password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserInput {
    /// 1 to 64 letters, digits or `. _ @ + -`, not starting with `-` (`Username::parse`).
    #[schema(pattern = "^[A-Za-z0-9._@+][A-Za-z0-9._@+-]{0,63}$")]
    username: String,
    /// 8 to 1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    #[serde(default)]
    email: Option<String>,
    /// The person's name, 1 to 200 printable characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Default `user`.
    #[serde(default)]
    role: Option<RoleName>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChanges {
    /// Administrators cannot demote themselves.
    #[serde(default)]
    role: Option<RoleName>,
    /// A disabled user cannot sign in, and their API tokens stop working.
    /// Administrators cannot disable themselves.
    #[serde(default)]
    disabled: Option<bool>,
}

// No `Debug`: it holds a password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    /// 8 to 1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsentView {
    client_id: String,
    /// The approved scopes, space-separated.
    scope: String,
    /// Unix time, in seconds.
    granted_at: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsentList {
    consents: Vec<ConsentView>,
}

#[utoipa::path(
    get,
    path = "/admin/api/users",
    operation_id = "listUsers",
    tag = "users",
    responses(
        (status = 200, description = "Every user", body = UserList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub(crate) async fn list(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
) -> Result<Json<UserList>, ServerError> {
    let users = service::list_users(&state, &actor).await?;
    Ok(Json(UserList { users: users.into_iter().map(UserView::from).collect() }))
}

#[utoipa::path(
    post,
    path = "/admin/api/users",
    operation_id = "createUser",
    tag = "users",
    request_body = NewUserInput,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(crate) async fn create(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewUserInput>,
) -> Result<(StatusCode, Json<UserView>), ServerError> {
    let new = NewUser {
        username: input.username,
        password: input.password,
        email: input.email,
        email_verified: false,
        name: input.name,
        role: input.role.map_or(Role::User, |role| role.0),
    };
    let user = service::create_user(&state, &actor, new).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(user))))
}

#[utoipa::path(
    get,
    path = "/admin/api/users/{user_id}",
    operation_id = "getUser",
    tag = "users",
    params(("user_id" = String, Path)),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn read(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<UserView>, ServerError> {
    let user = service::find_user(&state, &actor, &user_id).await?;
    Ok(Json(UserView::from(user)))
}

/// Changes a user's role, or disables or re-enables them.
#[utoipa::path(
    patch,
    path = "/admin/api/users/{user_id}",
    operation_id = "updateUser",
    tag = "users",
    params(("user_id" = String, Path)),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The updated user", body = UserView),
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
    ApiPath(user_id): ApiPath<String>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> Result<Json<UserView>, ServerError> {
    let role = changes.role.map(|role| role.0);
    let user = service::update_user(&state, &actor, &user_id, role, changes.disabled).await?;
    Ok(Json(UserView::from(user)))
}

#[utoipa::path(
    post,
    path = "/admin/api/users/{user_id}/password",
    operation_id = "setUserPassword",
    tag = "users",
    params(("user_id" = String, Path)),
    request_body = NewPassword,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(crate) async fn set_password(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(input): ApiJson<NewPassword>,
) -> Result<StatusCode, ServerError> {
    service::reset_password(&state, &actor, &user_id, input.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The applications a user has approved, and for which scopes.
#[utoipa::path(
    get,
    path = "/admin/api/users/{user_id}/consents",
    operation_id = "listUserConsents",
    tag = "users",
    params(("user_id" = String, Path)),
    responses(
        (status = 200, description = "The user's consents", body = ConsentList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn consents(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<ConsentList>, ServerError> {
    let consents = service::list_consents(&state, &actor, &user_id).await?;
    let consents = consents
        .into_iter()
        .map(|(client_id, scope, granted_at)| ConsentView { client_id, scope, granted_at })
        .collect();
    Ok(Json(ConsentList { consents }))
}

/// Withdraws a user's consent to an application and revokes that pair's refresh tokens.
#[utoipa::path(
    delete,
    path = "/admin/api/users/{user_id}/consents/{client_id}",
    operation_id = "revokeUserConsent",
    tag = "users",
    params(("user_id" = String, Path), ("client_id" = String, Path)),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn revoke_consent(
    ApiActor(actor): ApiActor,
    State(state): State<AppState>,
    ApiPath((user_id, client_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ServerError> {
    service::revoke_consent(&state, &actor, &user_id, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
