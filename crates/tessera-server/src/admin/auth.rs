//! Who is calling the admin surfaces. The API takes a bearer token (stored
//! hashed); the console a session cookie scoped to `/admin`. Either way the
//! user is read afresh on every request, so a demotion or a disabled account
//! takes effect at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tessera_core::secret::SecretHash;
use tessera_core::user::User;

use super::Actor;
use crate::error::ServerError;
use crate::routes::extract::{bearer_token, peer_ip};
use crate::state::AppState;

/// An active user who may use the console: a developer or an administrator.
pub fn console_user(user: Option<User>) -> Option<User> {
    user.filter(|user| !user.disabled && user.role.may_use_console())
}

/// The caller of `/admin/api/…`, authenticated by an admin API token.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ApiActor, ServerError> {
        let token = bearer_token(&parts.headers).map_err(|_| ServerError::Unauthenticated)?;
        let store = state.store();
        let record = store
            .use_admin_token(&SecretHash::of(&token), crate::unix_now())
            .await?
            .ok_or(ServerError::Unauthenticated)?;
        let user =
            console_user(store.find_user(&record.user_id).await?).ok_or(ServerError::Unauthenticated)?;
        Ok(ApiActor(Actor { user, token_id: Some(record.token_id), ip: peer_ip(&parts.extensions) }))
    }
}
