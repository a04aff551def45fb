//! The signed-in user's own pages: "Connected applications" lists what they
//! approved and lets them revoke it (the consent is forgotten and the refresh
//! tokens it led to are revoked).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::cookies::{csrf_matches, csrf_token};
use crate::error::ServerError;
use crate::routes::authorize::{ACCOUNT_PAGE, login_page, signed_in_user, with_cookie};
use crate::routes::extract::PageForm;
use crate::routes::login::expired_form;
use crate::state::AppState;
use crate::unix_now;

#[derive(Serialize)]
struct Application {
    client_id: String,
    name: String,
    org_url: Option<String>,
    /// The descriptions of the granted scopes.
    scopes: Vec<String>,
}

#[derive(Serialize)]
struct ApplicationsContext {
    username: String,
    csrf: String,
    applications: Vec<Application>,
}

pub(super) async fn applications(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let Some((_, user)) = signed_in_user(&state, &headers, unix_now()).await? else {
        return login_page(&state, &headers, None, None, StatusCode::OK);
    };
    let registry = state.store().list_scopes().await?;
    let mut applications = Vec::new();
    for (client_id, scope, _) in state.store().list_consents(&user.user_id).await? {
        let Some(client) = state.find_client(&client_id).await? else { continue };
        let scopes = scope
            .iter()
            .map(|scope| {
                registry
                    .iter()
                    .find(|record| &record.name == scope)
                    .map_or_else(|| scope.to_string(), |record| record.description.clone())
            })
            .collect();
        applications.push(Application {
            client_id,
            name: client.name.clone(),
            org_url: client.org_url.clone(),
            scopes,
        });
    }
    let (csrf, set_csrf) = csrf_token(&headers, state.settings().secure_cookies)?;
    let context = ApplicationsContext { username: user.username.to_string(), csrf, applications };
    Ok(with_cookie(state.pages().render("applications.html", StatusCode::OK, context), set_csrf))
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, ServerError> {
    if !csrf_matches(&headers, form.get("csrf")) {
        return Ok(state.pages().error(&expired_form()));
    }
    let Some((_, user)) = signed_in_user(&state, &headers, unix_now()).await? else {
        return login_page(&state, &headers, None, None, StatusCode::OK);
    };
    if let Some(client_id) = form.get("client_id")
        && state.store().withdraw_consent(&user.user_id, client_id, unix_now()).await?
    {
        tracing::info!(user_id = %user.user_id, %client_id, "user revoked an application's access");
    }
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_static(ACCOUNT_PAGE))]).into_response())
}
