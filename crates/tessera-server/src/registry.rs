//! Registry operations shared by every way in (CLI today; admin API and
//! `/register` later): generate credentials, apply the core's rules, store.

use tessera_core::client::Client;
use tessera_core::registration::{ClientRegistration, register_client};
use tessera_core::scope::{Scope, ScopeSet};
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
    let known_scopes: ScopeSet = store.list_scopes().await?.into_iter().map(|record| record.name).collect();
    let secret = new_client_secret()?;
    let client = register_client(registration, &known_scopes, new_client_id()?, &secret, now)?;
    store.create_client(&client).await?;
    let client_secret = (!client.is_public()).then_some(secret);
    Ok(CreatedClient { client, client_secret })
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
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub resources: Vec<String>,
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
            redirect_uris: strings(&mut client.redirect_uris.iter().map(ToString::to_string)),
            grant_types: strings(&mut client.grant_types.iter().map(ToString::to_string)),
            scopes: strings(&mut client.scopes.iter().map(ToString::to_string)),
            default_scopes: strings(&mut client.default_scopes.iter().map(ToString::to_string)),
            resources: strings(&mut client.resources.iter().map(ToString::to_string)),
            created_at: client.created_at,
        }
    }
}
