//! Registry operations shared by every way in (CLI today; admin API and
//! `/register` later): generate credentials, apply the core's rules, store.

use std::time::Duration;

use tessera_core::client::{Client, PreviousSecret};
use tessera_core::client_auth::AuthMethod;
use tessera_core::registration::{ClientRegistration, register_client, reregister_client};
use tessera_core::scope::{Scope, ScopeSet};
use tessera_core::secret::SecretHash;
use tessera_core::{ErrorCode, UnixTime};
use tessera_store::{ScopeRecord, Store};

use crate::error::ServerError;
use crate::random::{new_client_id, new_client_secret};

/// A client just registered, with its secret in clear text this one time.
pub struct CreatedClient {
    pub client: Client,
    /// `None` for public clients.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for CreatedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedClient").field("client", &self.client).finish_non_exhaustive()
    }
}

pub async fn create_client(
    store: &dyn Store,
    registration: ClientRegistration,
    now: UnixTime,
) -> Result<CreatedClient, ServerError> {
    register_and_store(store, registration, None, None, now).await
}

/// A client registered in the developer portal, owned by `owner` (a user id).
pub async fn create_owned_client(
    store: &dyn Store,
    registration: ClientRegistration,
    owner: Option<String>,
    now: UnixTime,
) -> Result<CreatedClient, ServerError> {
    register_and_store(store, registration, None, owner, now).await
}

/// A client registered through RFC 7591, with its RFC 7592 registration access token.
pub struct DynamicallyCreatedClient {
    pub created: CreatedClient,
    pub registration_access_token: String,
}

pub async fn create_dynamic_client(
    store: &dyn Store,
    registration: ClientRegistration,
    now: UnixTime,
) -> Result<DynamicallyCreatedClient, ServerError> {
    let registration_access_token = new_client_secret()?;
    let token_hash = SecretHash::of(&registration_access_token);
    let created = register_and_store(store, registration, Some(token_hash), None, now).await?;
    Ok(DynamicallyCreatedClient { created, registration_access_token })
}

/// Applies the core's registration rules to fresh credentials and stores the client.
async fn register_and_store(
    store: &dyn Store,
    registration: ClientRegistration,
    registration_token_hash: Option<SecretHash>,
    owner: Option<String>,
    now: UnixTime,
) -> Result<CreatedClient, ServerError> {
    let known_scopes = known_scopes(store).await?;
    let secret = new_client_secret()?;
    let mut client = register_client(registration, &known_scopes, new_client_id()?, &secret, now)?;
    client.registration_token_hash = registration_token_hash;
    client.owner = owner;
    store.create_client(&client).await?;
    // A private_key_jwt client is confidential but never uses a secret: the
    // one generated is kept only as a hash nobody knows the input of.
    let client_secret =
        (!client.is_public() && client.auth_method != AuthMethod::PrivateKeyJwt).then_some(secret);
    Ok(CreatedClient { client, client_secret })
}

/// RFC 7592 §2.2: replaces a client's metadata, keeping its identity and secrets.
pub async fn update_dynamic_client(
    store: &dyn Store,
    existing: &Client,
    registration: ClientRegistration,
) -> Result<Client, ServerError> {
    let updated = reregistered(store, existing, registration).await?;
    if !store.update_client(&updated).await? {
        return Err(ErrorCode::InvalidToken.with("the client no longer exists").into());
    }
    Ok(updated)
}

/// `existing` with new metadata, checked against the registry but not stored.
pub async fn reregistered(
    store: &dyn Store,
    existing: &Client,
    registration: ClientRegistration,
) -> Result<Client, ServerError> {
    let known_scopes = known_scopes(store).await?;
    Ok(reregister_client(existing, registration, &known_scopes)?)
}

/// Issues a new secret. The old one keeps working for `grace` (none if zero).
pub async fn rotate_secret(
    store: &dyn Store,
    client_id: &str,
    grace: Duration,
    now: UnixTime,
) -> Result<String, ServerError> {
    let mut client = find_existing(store, client_id).await?;
    if client.auth_method == AuthMethod::PrivateKeyJwt {
        return Err(ErrorCode::InvalidRequest
            .with("this client authenticates with private_key_jwt: it has no secret to rotate")
            .into());
    }
    let Some(current) = client.secret_hash.take() else {
        return Err(ErrorCode::InvalidRequest.with("public clients have no secret to rotate").into());
    };
    let secret = new_client_secret()?;
    client.secret_hash = Some(SecretHash::of(&secret));
    client.previous_secret =
        (!grace.is_zero()).then(|| PreviousSecret { hash: current, expires_at: now + grace.as_secs() });
    store.update_client(&client).await?;
    Ok(secret)
}

/// Disables or re-enables a client. A disabled client cannot authenticate, its
/// access tokens introspect as inactive, and its refresh tokens are revoked
/// (re-enabling does not bring them back).
pub async fn set_client_disabled(
    store: &dyn Store,
    client_id: &str,
    disabled: bool,
) -> Result<(), ServerError> {
    let mut client = find_existing(store, client_id).await?;
    client.disabled = disabled;
    store.update_client(&client).await?;
    if disabled {
        store.revoke_client_refresh_tokens(client_id, crate::unix_now()).await?;
    }
    Ok(())
}

/// Creates an RFC 7591 initial access token; returned in clear this one time.
pub async fn create_registration_token(
    store: &dyn Store,
    lifetime: Option<Duration>,
    now: UnixTime,
) -> Result<String, ServerError> {
    let token = new_client_secret()?;
    let expires_at = lifetime.map(|lifetime| now + lifetime.as_secs());
    store.create_registration_token(&SecretHash::of(&token), now, expires_at).await?;
    Ok(token)
}

async fn known_scopes(store: &dyn Store) -> Result<ScopeSet, ServerError> {
    Ok(store.list_scopes().await?.into_iter().map(|record| record.name).collect())
}

async fn find_existing(store: &dyn Store, client_id: &str) -> Result<Client, ServerError> {
    store.find_client(client_id).await?.ok_or_else(|| {
        ErrorCode::InvalidRequest
            .with(format!("no client with id `{client_id}` (list them with `tessera client list`)"))
            .into()
    })
}

pub async fn create_scope(
    store: &dyn Store,
    name: &str,
    description: &str,
    now: UnixTime,
) -> Result<ScopeRecord, ServerError> {
    let description = description.trim();
    if description.is_empty() {
        return Err(ErrorCode::InvalidRequest
            .with("a scope needs a description: it is shown to people on consent pages")
            .into());
    }
    if description.chars().count() > 500 || description.chars().any(char::is_control) {
        return Err(ErrorCode::InvalidRequest
            .with("a scope description is at most 500 printable characters")
            .into());
    }
    let record =
        ScopeRecord { name: Scope::parse(name)?, description: description.to_owned(), created_at: now };
    store.create_scope(&record).await?;
    Ok(record)
}

/// A client as shown to operators (CLI `--output json`, admin API): never a secret.
#[derive(Debug, serde::Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub org_url: Option<String>,
    pub public: bool,
    pub token_endpoint_auth_method: String,
    pub disabled: bool,
    pub introspect_any_token: bool,
    pub require_pkce: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub resources: Vec<String>,
    /// Seconds; `None` means the server's lifetime.
    pub access_token_lifetime: Option<u64>,
    /// RFC 9449 §5.2: token requests without a DPoP proof are refused.
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: authorization requests only through the PAR endpoint.
    pub require_pushed_authorization_requests: bool,
    /// The user id of the developer who registered it in the portal.
    pub owner: Option<String>,
    pub created_at: UnixTime,
}

impl From<&Client> for ClientView {
    fn from(client: &Client) -> ClientView {
        let strings = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<String>>();
        ClientView {
            client_id: client.client_id.clone(),
            name: client.name.clone(),
            org_url: client.org_url.clone(),
            public: client.is_public(),
            token_endpoint_auth_method: client.auth_method.as_str().to_owned(),
            disabled: client.disabled,
            introspect_any_token: client.may_introspect_any_token,
            require_pkce: client.require_pkce,
            redirect_uris: strings(&mut client.redirect_uris.iter().map(ToString::to_string)),
            post_logout_redirect_uris: strings(
                &mut client.post_logout_redirect_uris.iter().map(ToString::to_string),
            ),
            grant_types: strings(&mut client.grant_types.iter().map(ToString::to_string)),
            scopes: strings(&mut client.scopes.iter().map(ToString::to_string)),
            default_scopes: strings(&mut client.default_scopes.iter().map(ToString::to_string)),
            resources: strings(&mut client.resources.iter().map(ToString::to_string)),
            access_token_lifetime: client.access_token_lifetime,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            owner: client.owner.clone(),
            created_at: client.created_at,
        }
    }
}
