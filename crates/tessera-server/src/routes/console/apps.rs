//! Applications: the MYP-style flow (add → "Generate keys" → the secret once),
//! and list, search, edit, rotate, disable and delete.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tessera_core::ErrorCode;
use tessera_core::client::Client;
use tessera_core::registration::ClientRegistration;

use super::form::ConsoleForm;
use super::page::{
    error_page, form_error, notice_text, render, see_other, take_one_time_secret, timestamp, to_value,
    with_one_time_secret,
};
use super::session::{ConsoleActor, Submission};
use crate::admin::service;
use crate::error::ServerError;
use crate::registry::ClientView;
use crate::routes::authorize::with_cookie;
use crate::state::AppState;

const PAGE_SIZE: u32 = 50;
/// The longest grace the console offers for an old secret.
const MAX_GRACE: Duration = Duration::from_secs(30 * 86_400);

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    q: Option<String>,
    offset: Option<u32>,
    notice: Option<String>,
}

/// `GET /admin/apps`.
pub(crate) async fn list(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Query(query): Query<ListQuery>,
) -> Response {
    let offset = query.offset.unwrap_or(0);
    let q = query.q.unwrap_or_default();
    let found = service::list_clients(&state, &actor.actor, Some(q.clone()), PAGE_SIZE, offset).await;
    let (clients, total) = match found {
        Ok(found) => found,
        Err(err) => return error_page(&state, &actor, err),
    };
    #[derive(Serialize)]
    struct Row<'a> {
        client_id: &'a str,
        name: &'a str,
        public: bool,
        disabled: bool,
        created: String,
    }
    let apps: Vec<Row<'_>> = clients
        .iter()
        .map(|client| Row {
            client_id: &client.client_id,
            name: &client.name,
            public: client.is_public(),
            disabled: client.disabled,
            created: timestamp(client.created_at),
        })
        .collect();
    let next_offset = (u64::from(offset + PAGE_SIZE) < total).then_some(offset + PAGE_SIZE);
    let previous_offset = (offset > 0).then(|| offset.saturating_sub(PAGE_SIZE));
    let page = context! {
        apps, total, q, next_offset, previous_offset, notice => notice_text(query.notice.as_deref()),
    };
    render(&state, &actor, "admin/apps.html", "apps", StatusCode::OK, page)
}

/// What the application form shows and submits.
#[derive(Debug, Default, Serialize)]
struct AppForm {
    name: String,
    org_url: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    client_type: String,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    /// One per line.
    resources: String,
    /// Seconds, or empty for the server's lifetime.
    access_token_lifetime: String,
    introspect_any_token: bool,
    pkce_optional: bool,
    dpop_bound_access_tokens: bool,
    require_pushed_authorization_requests: bool,
}

impl AppForm {
    fn from_submitted(form: &ConsoleForm) -> AppForm {
        AppForm {
            name: form.get("name").unwrap_or_default().to_owned(),
            org_url: form.get("org_url").unwrap_or_default().to_owned(),
            redirect_uris: form.all("redirect_uri"),
            post_logout_redirect_uris: form.all("post_logout_redirect_uri"),
            client_type: form.get("client_type").unwrap_or("confidential").to_owned(),
            grant_types: form.all("grant_type"),
            scopes: form.all("scope"),
            resources: form.get("resources").unwrap_or_default().to_owned(),
            access_token_lifetime: form.get("access_token_lifetime").unwrap_or_default().to_owned(),
            introspect_any_token: form.checked("introspect_any_token"),
            pkce_optional: form.checked("pkce_optional"),
            dpop_bound_access_tokens: form.checked("dpop_bound_access_tokens"),
            require_pushed_authorization_requests: form.checked("require_pushed_authorization_requests"),
        }
    }

    fn from_client(client: &Client) -> AppForm {
        let strings = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>();
        AppForm {
            name: client.name.clone(),
            org_url: client.org_url.clone().unwrap_or_default(),
            redirect_uris: strings(&mut client.redirect_uris.iter().map(ToString::to_string)),
            post_logout_redirect_uris: strings(
                &mut client.post_logout_redirect_uris.iter().map(ToString::to_string),
            ),
            client_type: if client.is_public() { "public" } else { "confidential" }.to_owned(),
            grant_types: strings(&mut client.grant_types.iter().map(ToString::to_string)),
            scopes: strings(&mut client.scopes.iter().map(ToString::to_string)),
            resources: strings(&mut client.resources.iter().map(ToString::to_string)).join("\n"),
            access_token_lifetime: client.access_token_lifetime.map(|s| s.to_string()).unwrap_or_default(),
            introspect_any_token: client.may_introspect_any_token,
            pkce_optional: !client.require_pkce,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
        }
    }

    /// The core's registration input. `existing` keeps an edited client's type
    /// and, where still allowed, its default scopes.
    fn to_registration(&self, existing: Option<&Client>) -> Result<ClientRegistration, ServerError> {
        let access_token_lifetime = match self.access_token_lifetime.as_str() {
            "" => None,
            raw => Some(raw.parse::<u64>().map_err(|_| {
                ErrorCode::InvalidClientMetadata
                    .with("the access token lifetime is a whole number of seconds")
            })?),
        };
        let public = existing.map_or(self.client_type == "public", Client::is_public);
        let default_scopes = existing.map(|client| {
            client
                .default_scopes
                .iter()
                .map(ToString::to_string)
                .filter(|scope| self.scopes.contains(scope))
                .collect()
        });
        Ok(ClientRegistration {
            name: self.name.clone(),
            org_url: (!self.org_url.is_empty()).then(|| self.org_url.clone()),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            grant_types: self.grant_types.clone(),
            scopes: self.scopes.clone(),
            default_scopes: default_scopes.filter(|defaults: &Vec<String>| !defaults.is_empty()),
            resources: self
                .resources
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            public,
            token_endpoint_auth_method: existing.map(|client| client.auth_method.as_str().to_owned()),
            may_introspect_any_token: self.introspect_any_token,
            pkce_optional: self.pkce_optional,
            access_token_lifetime,
            // An existing client's keys stay (see `reregister_client`).
            jwks: None,
            jwks_uri: None,
            allow_http_jwks_uri: false,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
        })
    }
}

/// The add or edit form, with an error when a submission was refused.
async fn form_page(
    state: &AppState,
    actor: &ConsoleActor,
    app: Option<&Client>,
    form: &AppForm,
    error: Option<String>,
) -> Response {
    let scopes = match service::list_scopes(state).await {
        Ok(scopes) => scopes,
        Err(err) => return error_page(state, actor, err),
    };
    let scopes: Vec<_> =
        scopes.iter().map(|s| context! { name => s.name.as_str(), description => &s.description }).collect();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = context! {
        app => app.map(ClientView::from).map(to_value),
        form => to_value(form),
        scopes,
        error,
        server_lifetime => state.policy().access_token_lifetime,
    };
    render(state, actor, "admin/app_form.html", "apps", status, page)
}

/// `GET /admin/apps/new`.
pub(crate) async fn new_form(State(state): State<AppState>, actor: ConsoleActor) -> Response {
    let form = AppForm { client_type: "confidential".into(), ..AppForm::default() };
    form_page(&state, &actor, None, &form, None).await
}

/// `POST /admin/apps`: "Generate keys".
pub(crate) async fn create(
    State(state): State<AppState>,
    Submission { actor, form }: Submission,
) -> Response {
    let submitted = AppForm::from_submitted(&form);
    let created = match submitted.to_registration(None) {
        Ok(registration) => service::create_client(&state, &actor.actor, registration).await,
        Err(err) => Err(err),
    };
    match created {
        Ok(created) => {
            let path = app_path(&created.client.client_id);
            let response = see_other(&path, Some("created"));
            match &created.client_secret {
                Some(secret) => {
                    with_one_time_secret(&state, response, &secret_purpose(&created.client.client_id), secret)
                        .unwrap_or_else(|err| error_page(&state, &actor, err))
                }
                None => response,
            }
        }
        Err(err) => match form_error(&err) {
            Some(message) => form_page(&state, &actor, None, &submitted, Some(message)).await,
            None => error_page(&state, &actor, err),
        },
    }
}

fn app_path(client_id: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    format!("/admin/apps/{encoded}")
}

/// A sealed secret opens only on its own application's page.
fn secret_purpose(client_id: &str) -> String {
    format!("client-secret:{client_id}")
}

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /admin/apps/{client_id}`: the application, with its new secret once.
pub(crate) async fn show(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Path(client_id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let client = match service::find_client(&state, &actor.actor, &client_id).await {
        Ok(client) => client,
        Err(err) => return error_page(&state, &actor, err),
    };
    let (new_secret, delete_cookie) =
        take_one_time_secret(&state, actor.headers(), &secret_purpose(&client_id));
    let page = context! {
        app => to_value(ClientView::from(&client)),
        new_secret,
        created => timestamp(client.created_at),
        server_lifetime => state.policy().access_token_lifetime,
        notice => notice_text(query.notice.as_deref()),
    };
    with_cookie(render(&state, &actor, "admin/app.html", "apps", StatusCode::OK, page), delete_cookie)
}

/// `GET /admin/apps/{client_id}/edit`.
pub(crate) async fn edit_form(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Path(client_id): Path<String>,
) -> Response {
    match service::find_client(&state, &actor.actor, &client_id).await {
        Ok(client) => form_page(&state, &actor, Some(&client), &AppForm::from_client(&client), None).await,
        Err(err) => error_page(&state, &actor, err),
    }
}

/// `POST /admin/apps/{client_id}`: save an edit.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    Submission { actor, form }: Submission,
) -> Response {
    let existing = match service::find_client(&state, &actor.actor, &client_id).await {
        Ok(client) => client,
        Err(err) => return error_page(&state, &actor, err),
    };
    let submitted = AppForm::from_submitted(&form);
    let updated = match submitted.to_registration(Some(&existing)) {
        Ok(registration) => service::update_client(&state, &actor.actor, &client_id, registration).await,
        Err(err) => Err(err),
    };
    match updated {
        Ok(_) => see_other(&app_path(&client_id), Some("saved")),
        Err(err) => match form_error(&err) {
            Some(message) => form_page(&state, &actor, Some(&existing), &submitted, Some(message)).await,
            None => error_page(&state, &actor, err),
        },
    }
}

/// `POST /admin/apps/{client_id}/secret`.
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    Submission { actor, form }: Submission,
) -> Response {
    let grace = match form.get("grace").unwrap_or("0").parse::<u64>() {
        Ok(seconds) if Duration::from_secs(seconds) <= MAX_GRACE => Duration::from_secs(seconds),
        _ => {
            let err = ErrorCode::InvalidRequest.with("the grace period is 0 to 30 days, in seconds");
            return error_page(&state, &actor, err.into());
        }
    };
    match service::rotate_client_secret(&state, &actor.actor, &client_id, grace).await {
        Ok(secret) => {
            let response = see_other(&app_path(&client_id), Some("rotated"));
            with_one_time_secret(&state, response, &secret_purpose(&client_id), &secret)
                .unwrap_or_else(|err| error_page(&state, &actor, err))
        }
        Err(err) => error_page(&state, &actor, err),
    }
}

/// `POST /admin/apps/{client_id}/disable`.
pub(crate) async fn disable(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    Submission { actor, form: _ }: Submission,
) -> Response {
    set_disabled(state, actor, client_id, true).await
}

/// `POST /admin/apps/{client_id}/enable`.
pub(crate) async fn enable(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    Submission { actor, form: _ }: Submission,
) -> Response {
    set_disabled(state, actor, client_id, false).await
}

async fn set_disabled(state: AppState, actor: ConsoleActor, client_id: String, disabled: bool) -> Response {
    match service::set_client_disabled(&state, &actor.actor, &client_id, disabled).await {
        Ok(()) => see_other(&app_path(&client_id), Some(if disabled { "disabled" } else { "enabled" })),
        Err(err) => error_page(&state, &actor, err),
    }
}

/// `GET /admin/apps/{client_id}/delete`: the confirmation.
pub(crate) async fn confirm_delete(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Path(client_id): Path<String>,
) -> Response {
    match service::find_client(&state, &actor.actor, &client_id).await {
        Ok(client) => {
            let page = context! { app => to_value(ClientView::from(&client)) };
            render(&state, &actor, "admin/delete_app.html", "apps", StatusCode::OK, page)
        }
        Err(err) => error_page(&state, &actor, err),
    }
}

/// `POST /admin/apps/{client_id}/delete`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    Submission { actor, form: _ }: Submission,
) -> Response {
    match service::delete_client(&state, &actor.actor, &client_id).await {
        Ok(()) => see_other("/admin/apps", Some("deleted")),
        Err(err) => error_page(&state, &actor, err),
    }
}
