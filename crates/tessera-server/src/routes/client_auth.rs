//! Client authentication for every endpoint that takes client credentials
//! (`/token`, `/introspect`, `/revoke`, `/par`): load the client, let the core judge.

use std::sync::Arc;

use tessera_core::client::Client;
use tessera_core::client_assertion::AssertionContext;
use tessera_core::client_auth::{
    AuthMethod, PresentedCredentials, authenticate, authenticate_assertion, client_authentication_failed,
    presented_credentials,
};
use tessera_core::secret::SecretHash;

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
    let client = state.find_client(&presented.client_id).await?.ok_or_else(client_authentication_failed)?;
    let now = unix_now();
    match presented.method {
        AuthMethod::PrivateKeyJwt => authenticate_with_assertion(state, &client, &presented, now).await?,
        _ => authenticate(&client, &presented, now)?,
    }
    limits.admit_client(limit, &client.client_id, state.metrics())?;
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
    // Only inline keys for now: a client registered with `jwks_uri` alone
    // cannot authenticate until fetching is built (registration refuses it).
    let keys = client.jwks.as_ref().ok_or_else(client_authentication_failed)?;
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
