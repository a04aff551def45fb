//! Client authentication for every endpoint that takes client credentials
//! (`/token`, `/introspect`, `/revoke`, `/par`): load the client, let the core judge.

use std::sync::Arc;

use tessera_core::ErrorCode;
use tessera_core::client::Client;
use tessera_core::client_assertion::{AssertionContext, JwkSet, assertion_key_id};
use tessera_core::client_auth::{
    AuthMethod, PresentedCredentials, authenticate, authenticate_assertion, client_authentication_failed,
    presented_credentials,
};
use tessera_core::secret::SecretHash;

use crate::client_documents::ClientLookup;
use crate::error::ServerError;
use crate::limits::{ClientLimit, IpLimit};
use crate::routes::extract::OAuthForm;
use crate::signatures::AwsLcVerifier;
use crate::state::AppState;
use crate::unix_now;

/// Counted twice against the limits: by address before anything (so guessing
/// is slowed), by client once authenticated (so nobody can spend another
/// client's budget by naming it).
pub(crate) async fn authenticate_client(
    state: &AppState,
    form: &OAuthForm,
    limit: ClientLimit,
) -> Result<Arc<Client>, ServerError> {
    let limits = state.rate_limits();
    limits.admit_ip(IpLimit::ClientEndpoints, form.peer, state.metrics())?;
    let presented = presented_credentials(form.authorization.as_deref(), &form.params)?;
    let client = match state.lookup_client(&presented.client_id).await? {
        ClientLookup::Found(client) => client,
        ClientLookup::Unknown => return Err(client_authentication_failed().into()),
        // A metadata document that could not be used: an unusable client,
        // with the reason (it is about the client's own public document).
        ClientLookup::Refused(err) => return Err(ErrorCode::InvalidClient.with(err.description).into()),
    };
    let now = unix_now();
    match presented.method {
        AuthMethod::PrivateKeyJwt => authenticate_with_assertion(state, &client, &presented, now).await?,
        _ => authenticate(&client, &presented, now)?,
    }
    limits.admit_client(limit, &client.client_id, state.metrics())?;
    // Naming a public client proves nothing; credentials are a use.
    if presented.method != AuthMethod::None {
        state.client_used(&client);
    }
    Ok(client)
}

/// `private_key_jwt`: the signature and claims (core), then one-time use of
/// the `jti` across every replica (store).
async fn authenticate_with_assertion(
    state: &AppState,
    client: &Client,
    presented: &PresentedCredentials,
    now: u64,
) -> Result<(), ServerError> {
    let published;
    let keys: &JwkSet = match (&client.jwks, &client.jwks_uri, presented.assertion()) {
        (Some(registered), _, _) => registered,
        (None, Some(jwks_uri), Some(assertion)) => {
            let kid = assertion_key_id(assertion);
            published = state.client_documents().published_keys(jwks_uri, kid.as_deref()).await.map_err(|why| {
                tracing::warn!(client_id = %client.client_id, jwks_uri, error = %why, "a client's jwks_uri is not usable");
                ErrorCode::InvalidClient.with(format!("client authentication failed: the keys at the client's jwks_uri are not usable ({why})"))
            })?;
            &published
        }
        _ => return Err(client_authentication_failed().into()),
    };
    // The issuer or any of our endpoints that take client authentication:
    // they all name this authorization server and no other.
    let endpoints = ["/token", "/introspect", "/revoke", "/par"].map(|path| state.endpoint(path));
    let mut audiences: Vec<&str> = endpoints.iter().map(String::as_str).collect();
    audiences.push(state.issuer());
    let context = AssertionContext { audiences: &audiences, now };
    let verified = authenticate_assertion(client, presented, keys, context, &AwsLcVerifier)?;
    let key = SecretHash::of(&format!("client_assertion:{}:{}", client.client_id, verified.jti));
    if !state.store().record_jti_once(&key, verified.expires_at, now).await? {
        return Err(client_authentication_failed().into());
    }
    Ok(())
}
