//! What the console and the admin API can do, and who may do it. Both are thin
//! shells over these functions: each checks the actor's role, calls the
//! registry (and so the core's rules), and records the change in the audit
//! trail before acknowledging it.

use std::net::IpAddr;
use std::time::Duration;

use tessera_core::ErrorCode;
use tessera_core::client::Client;
use tessera_core::registration::ClientRegistration;
use tessera_core::secret::SecretHash;
use tessera_core::user::{Role, User, check_new_password};
use tessera_store::{AdminTokenRecord, AuditEvent, AuditQuery, ClientQuery, ScopeRecord};

use super::audit::Entry;
use crate::error::ServerError;
use crate::random::{new_client_id, new_client_secret};
use crate::registry::{self, CreatedClient};
use crate::state::AppState;
use crate::unix_now;
use crate::users::{self, NewUser};

/// The most rows one list call returns.
pub const MAX_PAGE: u32 = 200;

/// Who is asking: a console or API user, with the role they hold now.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    /// The admin API token used, if the request came through the API.
    pub token_id: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    /// How the audit trail names the actor.
    pub fn audit_name(&self) -> String {
        match &self.token_id {
            Some(token_id) => format!("user:{} (api-token:{token_id})", self.user.username),
            None => format!("user:{}", self.user.username),
        }
    }

    fn entry(&self, action: &'static str, target: impl Into<String>) -> Entry {
        Entry::new(self.audit_name(), action).target(target).ip(self.ip)
    }

    fn require_admin(&self) -> Result<(), ServerError> {
        if self.is_admin() {
            return Ok(());
        }
        Err(ServerError::Forbidden("only administrators may do this".into()))
    }
}

/// Writes the audit record of a change; the change is acknowledged only after.
async fn audit(state: &AppState, entry: Entry) -> Result<(), ServerError> {
    state.audit().record_now(state.store(), entry).await?;
    Ok(())
}

// ---- applications -------------------------------------------------------

/// One page of the applications the actor may see: every one for an
/// administrator, their own for a developer.
pub async fn list_clients(
    state: &AppState,
    actor: &Actor,
    text: Option<String>,
    limit: u32,
    offset: u32,
) -> Result<(Vec<Client>, u64), ServerError> {
    let query = ClientQuery {
        owner: (!actor.is_admin()).then(|| actor.user.user_id.clone()),
        text: text.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty()),
        limit: limit.clamp(1, MAX_PAGE),
        offset,
    };
    Ok(state.store().search_clients(&query).await?)
}

/// A client the actor may manage. Another developer's client is "not found",
/// so that its existence is not revealed.
pub async fn find_client(state: &AppState, actor: &Actor, client_id: &str) -> Result<Client, ServerError> {
    let client = state.store().find_client(client_id).await?;
    match client {
        Some(client) if actor.is_admin() || client.owner.as_deref() == Some(actor.user.user_id.as_str()) => {
            Ok(client)
        }
        _ => Err(ServerError::Missing(format!("no application with client_id `{client_id}`"))),
    }
}

/// Registers an application. A developer owns it; only an administrator may
/// grant it the right to introspect every token or make PKCE optional.
pub async fn create_client(
    state: &AppState,
    actor: &Actor,
    registration: ClientRegistration,
) -> Result<CreatedClient, ServerError> {
    check_privileged_metadata(actor, &registration)?;
    let owner = (!actor.is_admin()).then(|| actor.user.user_id.clone());
    let created = registry::create_owned_client(state.store(), registration, owner, unix_now()).await?;
    let client = &created.client;
    audit(
        state,
        actor
            .entry("client.created", &client.client_id)
            .detail("name", client.name.as_str())
            .detail("public", client.is_public()),
    )
    .await?;
    state.client_changed();
    Ok(created)
}

/// Replaces an application's metadata, keeping its id, secret and owner.
pub async fn update_client(
    state: &AppState,
    actor: &Actor,
    client_id: &str,
    registration: ClientRegistration,
) -> Result<Client, ServerError> {
    let existing = find_client(state, actor, client_id).await?;
    // A developer's edit keeps what an administrator granted, and may not add to it.
    let granted = |asked: bool, has: bool| {
        if actor.is_admin() {
            Ok(asked)
        } else if asked && !has {
            Err(ServerError::Forbidden(
                "only administrators may let a client introspect every token or skip PKCE".into(),
            ))
        } else {
            Ok(has)
        }
    };
    let introspect_any_token =
        granted(registration.may_introspect_any_token, existing.may_introspect_any_token)?;
    let pkce_optional = granted(registration.pkce_optional, !existing.require_pkce)?;
    let lifetime = registration.access_token_lifetime;
    let mut updated = registry::reregistered(state.store(), &existing, registration).await?;
    if updated.is_public() && pkce_optional {
        return Err(ErrorCode::InvalidClientMetadata.with("public clients always need PKCE").into());
    }
    updated.may_introspect_any_token = introspect_any_token;
    updated.require_pkce = updated.is_public() || !pkce_optional;
    updated.access_token_lifetime = lifetime;
    if !state.store().update_client(&updated).await? {
        return Err(ServerError::Missing(format!("no application with client_id `{client_id}`")));
    }
    audit(state, actor.entry("client.updated", client_id).detail("name", updated.name.as_str())).await?;
    state.client_changed();
    Ok(updated)
}

fn check_privileged_metadata(actor: &Actor, registration: &ClientRegistration) -> Result<(), ServerError> {
    if !actor.is_admin() && (registration.may_introspect_any_token || registration.pkce_optional) {
        return Err(ServerError::Forbidden(
            "only administrators may let a client introspect every token or skip PKCE".into(),
        ));
    }
    Ok(())
}

/// A new secret, shown once; the old one works for `grace`.
pub async fn rotate_client_secret(
    state: &AppState,
    actor: &Actor,
    client_id: &str,
    grace: Duration,
) -> Result<String, ServerError> {
    find_client(state, actor, client_id).await?;
    let secret = registry::rotate_secret(state.store(), client_id, grace, unix_now()).await?;
    audit(state, actor.entry("client.secret_rotated", client_id).detail("grace_seconds", grace.as_secs()))
        .await?;
    state.client_changed();
    Ok(secret)
}

pub async fn set_client_disabled(
    state: &AppState,
    actor: &Actor,
    client_id: &str,
    disabled: bool,
) -> Result<(), ServerError> {
    find_client(state, actor, client_id).await?;
    registry::set_client_disabled(state.store(), client_id, disabled).await?;
    let action = if disabled { "client.disabled" } else { "client.enabled" };
    audit(state, actor.entry(action, client_id)).await?;
    state.client_changed();
    Ok(())
}

pub async fn delete_client(state: &AppState, actor: &Actor, client_id: &str) -> Result<(), ServerError> {
    let client = find_client(state, actor, client_id).await?;
    state.store().delete_client(client_id).await?;
    audit(state, actor.entry("client.deleted", client_id).detail("name", client.name.as_str())).await?;
    state.client_changed();
    Ok(())
}

// ---- scopes -------------------------------------------------------------

/// Every console user may read the scopes (developers choose from them).
pub async fn list_scopes(state: &AppState) -> Result<Vec<ScopeRecord>, ServerError> {
    Ok(state.store().list_scopes().await?)
}

pub async fn create_scope(
    state: &AppState,
    actor: &Actor,
    name: &str,
    description: &str,
) -> Result<ScopeRecord, ServerError> {
    actor.require_admin()?;
    let record = registry::create_scope(state.store(), name, description, unix_now()).await?;
    state.scopes_changed();
    audit(state, actor.entry("scope.created", record.name.as_str())).await?;
    Ok(record)
}

/// Refused while any client holds the scope (the store says which).
pub async fn delete_scope(state: &AppState, actor: &Actor, name: &str) -> Result<(), ServerError> {
    actor.require_admin()?;
    if !state.store().delete_scope(name).await? {
        return Err(ServerError::Missing(format!("no scope named `{name}`")));
    }
    state.scopes_changed();
    audit(state, actor.entry("scope.deleted", name)).await?;
    Ok(())
}

// ---- users --------------------------------------------------------------

pub async fn list_users(state: &AppState, actor: &Actor) -> Result<Vec<User>, ServerError> {
    actor.require_admin()?;
    Ok(state.store().list_users().await?)
}

pub async fn find_user(state: &AppState, actor: &Actor, user_id: &str) -> Result<User, ServerError> {
    actor.require_admin()?;
    state
        .store()
        .find_user(user_id)
        .await?
        .ok_or_else(|| ServerError::Missing(format!("no user `{user_id}`")))
}

pub async fn create_user(state: &AppState, actor: &Actor, new: NewUser) -> Result<User, ServerError> {
    actor.require_admin()?;
    let user = users::add_user(state.store(), new, unix_now()).await?;
    audit(state, actor.entry("user.created", user.username.as_str()).detail("role", user.role.as_str()))
        .await?;
    Ok(user)
}

/// Changes a user's role or disables them. An administrator cannot demote or
/// disable themselves, so that the console never locks its last admin out by accident.
pub async fn update_user(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<User, ServerError> {
    let mut user = find_user(state, actor, user_id).await?;
    let is_self = user.user_id == actor.user.user_id;
    if is_self && (role.is_some_and(|role| role != Role::Admin) || disabled == Some(true)) {
        return Err(ServerError::Forbidden("you cannot demote or disable yourself".into()));
    }
    if let Some(role) = role {
        user.role = role;
    }
    if let Some(disabled) = disabled {
        user.disabled = disabled;
    }
    state.store().update_user(&user).await?;
    audit(
        state,
        actor
            .entry("user.updated", user.username.as_str())
            .detail("role", user.role.as_str())
            .detail("disabled", user.disabled),
    )
    .await?;
    Ok(user)
}

pub async fn reset_password(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    password: String,
) -> Result<(), ServerError> {
    let user = find_user(state, actor, user_id).await?;
    check_new_password(&password)?;
    users::set_password(state.store(), user.username.as_str(), password).await?;
    audit(state, actor.entry("user.password_reset", user.username.as_str())).await?;
    Ok(())
}

/// A user's approvals: (client id, scopes, when).
pub async fn list_consents(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> Result<Vec<(String, String, u64)>, ServerError> {
    find_user(state, actor, user_id).await?;
    let consents = state.store().list_consents(user_id).await?;
    Ok(consents.into_iter().map(|(client_id, scopes, at)| (client_id, scopes.to_string(), at)).collect())
}

pub async fn revoke_consent(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    client_id: &str,
) -> Result<(), ServerError> {
    let user = find_user(state, actor, user_id).await?;
    if !state.store().withdraw_consent(user_id, client_id, unix_now()).await? {
        return Err(ServerError::Missing(format!("`{}` has not approved `{client_id}`", user.username)));
    }
    audit(state, actor.entry("consent.revoked", user.username.as_str()).detail("client_id", client_id))
        .await?;
    Ok(())
}

// ---- admin API tokens ---------------------------------------------------

/// A token just made, in clear text this one time.
pub struct CreatedToken {
    pub record: AdminTokenRecord,
    pub token: String,
}

/// Every token for an administrator; a developer's own otherwise.
pub async fn list_tokens(state: &AppState, actor: &Actor) -> Result<Vec<AdminTokenRecord>, ServerError> {
    let only = (!actor.is_admin()).then_some(actor.user.user_id.as_str());
    Ok(state.store().list_admin_tokens(only).await?)
}

/// A token acting as the actor themselves.
pub async fn create_token(
    state: &AppState,
    actor: &Actor,
    name: &str,
    lifetime: Option<Duration>,
) -> Result<CreatedToken, ServerError> {
    let created = create_token_for(state.store(), &actor.user, name, lifetime).await?;
    audit(state, actor.entry("api_token.created", &created.record.token_id).detail("name", name)).await?;
    Ok(created)
}

/// Shared with the CLI (`tessera admin token create`).
pub async fn create_token_for(
    store: &dyn tessera_store::Store,
    user: &User,
    name: &str,
    lifetime: Option<Duration>,
) -> Result<CreatedToken, ServerError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ErrorCode::InvalidRequest.with("a token name is 1 to 100 printable characters").into());
    }
    if !user.role.may_use_console() {
        return Err(ServerError::Forbidden("only developers and administrators may hold API tokens".into()));
    }
    let now = unix_now();
    // A prefix tells secret scanners (and people) what leaked.
    let token = format!("tsa_{}", new_client_secret()?);
    let record = AdminTokenRecord {
        token_id: new_client_id()?,
        token_hash: SecretHash::of(&token),
        user_id: user.user_id.clone(),
        name: name.to_owned(),
        created_at: now,
        expires_at: lifetime.map(|lifetime| now + lifetime.as_secs()),
        last_used_at: None,
    };
    store.create_admin_token(&record).await?;
    Ok(CreatedToken { record, token })
}

pub async fn delete_token(state: &AppState, actor: &Actor, token_id: &str) -> Result<(), ServerError> {
    let only = (!actor.is_admin()).then_some(actor.user.user_id.as_str());
    if !state.store().delete_admin_token(token_id, only).await? {
        return Err(ServerError::Missing(format!("no API token `{token_id}`")));
    }
    audit(state, actor.entry("api_token.deleted", token_id)).await?;
    Ok(())
}

// ---- activity -----------------------------------------------------------

pub async fn search_audit(
    state: &AppState,
    actor: &Actor,
    mut query: AuditQuery,
) -> Result<Vec<AuditEvent>, ServerError> {
    actor.require_admin()?;
    query.limit = query.limit.clamp(1, MAX_PAGE);
    Ok(state.store().search_audit_events(&query).await?)
}
