//! Client authentication for every endpoint that takes client credentials
//! (`/token`, `/introspect`, `/revoke`): load the client, let the core judge.

use std::sync::Arc;

use tessera_core::client::Client;
use tessera_core::client_auth::{authenticate, client_authentication_failed, presented_credentials};

use crate::error::ServerError;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

pub(crate) async fn authenticate_client(
    state: &AppState,
    form: &OAuthForm,
) -> Result<Arc<Client>, ServerError> {
    let presented = presented_credentials(form.authorization.as_deref(), &form.params)?;
    let client = state.find_client(&presented.client_id).await?.ok_or_else(client_authentication_failed)?;
    authenticate(&client, &presented, unix_now())?;
    Ok(client)
}
