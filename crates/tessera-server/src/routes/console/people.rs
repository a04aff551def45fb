//! Scopes, users, activity and API tokens: the administrator's pages (and a
//! developer's own API tokens).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tessera_core::ErrorCode;
use tessera_core::user::Role;
use tessera_store::AuditQuery;

use super::page::{
    error_page, form_error, notice_text, render, see_other, take_one_time_secret, timestamp,
    with_one_time_secret,
};
use super::session::{ConsoleActor, Submission};
use crate::admin::service;
use crate::error::ServerError;
use crate::routes::authorize::with_cookie;
use crate::state::AppState;
use crate::users::NewUser;

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    notice: Option<String>,
}

/// Renders a page's data, or the error that kept it from loading.
fn page_or_error(
    state: &AppState,
    actor: &ConsoleActor,
    template: &str,
    section: &str,
    page: Result<minijinja::Value, ServerError>,
) -> Response {
    match page {
        Ok(page) => render(state, actor, template, section, StatusCode::OK, page),
        Err(err) => error_page(state, actor, err),
    }
}

/// After a form: back to `path` with a notice, the form's error on the page
/// it came from, or an error page.
async fn after_form(
    state: &AppState,
    actor: &ConsoleActor,
    outcome: Result<(), ServerError>,
    path: &str,
    notice: &'static str,
) -> Response {
    match outcome {
        Ok(()) => see_other(path, Some(notice)),
        Err(err) => match form_error(&err) {
            Some(message) => {
                let heading = "That did not work";
                let page = context! { heading, message, back => path };
                render(state, actor, "admin/error.html", "", StatusCode::BAD_REQUEST, page)
            }
            None => error_page(state, actor, err),
        },
    }
}

// ---- scopes -------------------------------------------------------------

/// `GET /admin/scopes`.
pub(crate) async fn scopes(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let page = async {
        if !actor.actor.is_admin() {
            return Err(ServerError::Forbidden("only administrators manage scopes".into()));
        }
        let scopes = service::list_scopes(&state).await?;
        let scopes: Vec<_> = scopes
            .iter()
            .map(|s| context! { name => s.name.as_str(), description => &s.description })
            .collect();
        Ok(context! { scopes, notice => notice_text(query.notice.as_deref()) })
    };
    page_or_error(&state, &actor, "admin/scopes.html", "scopes", page.await)
}

/// `POST /admin/scopes`.
pub(crate) async fn add_scope(
    State(state): State<AppState>,
    Submission { actor, form }: Submission,
) -> Response {
    let name = form.get("name").unwrap_or_default();
    let description = form.get("description").unwrap_or_default();
    let outcome = service::create_scope(&state, &actor.actor, name, description).await.map(drop);
    after_form(&state, &actor, outcome, "/admin/scopes", "created").await
}

/// `POST /admin/scopes/{name}/delete`: refused, with the holders named, while in use.
pub(crate) async fn delete_scope(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Submission { actor, form: _ }: Submission,
) -> Response {
    let outcome = service::delete_scope(&state, &actor.actor, &name).await;
    after_form(&state, &actor, outcome, "/admin/scopes", "deleted").await
}

// ---- users --------------------------------------------------------------

/// `GET /admin/users`.
pub(crate) async fn users(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let page = async {
        let users = service::list_users(&state, &actor.actor).await?;
        let users: Vec<_> = users
            .iter()
            .map(|user| {
                context! {
                    user_id => &user.user_id, username => user.username.as_str(), name => &user.name,
                    role => user.role.as_str(), disabled => user.disabled,
                }
            })
            .collect();
        Ok(context! { users, notice => notice_text(query.notice.as_deref()) })
    };
    page_or_error(&state, &actor, "admin/users.html", "users", page.await)
}

/// `POST /admin/users`.
pub(crate) async fn add_user(
    State(state): State<AppState>,
    Submission { actor, form }: Submission,
) -> Response {
    let outcome = async {
        let new = NewUser {
            username: form.get("username").unwrap_or_default().to_owned(),
            password: form.raw("password").unwrap_or_default().to_owned(),
            email: form.get("email").map(str::to_owned),
            email_verified: false,
            name: form.get("name").map(str::to_owned),
            role: Role::parse(form.get("role").unwrap_or("user"))?,
        };
        service::create_user(&state, &actor.actor, new).await.map(drop)
    };
    after_form(&state, &actor, outcome.await, "/admin/users", "created").await
}

/// `GET /admin/users/{user_id}`.
pub(crate) async fn user(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Path(user_id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let page = async {
        let user = service::find_user(&state, &actor.actor, &user_id).await?;
        let consents = service::list_consents(&state, &actor.actor, &user_id).await?;
        let consents: Vec<_> = consents
            .iter()
            .map(|(client_id, scope, at)| context! { client_id, scope, granted => timestamp(*at) })
            .collect();
        let user = context! {
            user_id => &user.user_id, username => user.username.as_str(), email => &user.email,
            name => &user.name, role => user.role.as_str(), disabled => user.disabled,
        };
        Ok(context! { user, consents, notice => notice_text(query.notice.as_deref()) })
    };
    page_or_error(&state, &actor, "admin/user.html", "users", page.await)
}

fn user_path(user_id: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(user_id.as_bytes()).collect();
    format!("/admin/users/{encoded}")
}

/// `POST /admin/users/{user_id}`: role and status.
pub(crate) async fn update_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    Submission { actor, form }: Submission,
) -> Response {
    let outcome = async {
        let role = Role::parse(form.get("role").unwrap_or("user"))?;
        let disabled = form.checked("disabled");
        service::update_user(&state, &actor.actor, &user_id, Some(role), Some(disabled)).await.map(drop)
    };
    after_form(&state, &actor, outcome.await, &user_path(&user_id), "saved").await
}

/// `POST /admin/users/{user_id}/password`.
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    Submission { actor, form }: Submission,
) -> Response {
    let password = form.raw("password").unwrap_or_default().to_owned();
    let outcome = service::reset_password(&state, &actor.actor, &user_id, password).await;
    after_form(&state, &actor, outcome, &user_path(&user_id), "password").await
}

/// `POST /admin/users/{user_id}/consents/{client_id}/revoke`.
pub(crate) async fn revoke_consent(
    State(state): State<AppState>,
    Path((user_id, client_id)): Path<(String, String)>,
    Submission { actor, form: _ }: Submission,
) -> Response {
    let outcome = service::revoke_consent(&state, &actor.actor, &user_id, &client_id).await;
    after_form(&state, &actor, outcome, &user_path(&user_id), "revoked").await
}

// ---- activity -----------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct ActivityQuery {
    action: Option<String>,
    before: Option<i64>,
}

const ACTIVITY_PAGE: u32 = 100;

/// `GET /admin/activity`: the audit trail, newest first.
pub(crate) async fn activity(
    State(state): State<AppState>,
    actor: ConsoleActor,
    Query(query): Query<ActivityQuery>,
) -> Response {
    let action = query.action.filter(|action| !action.is_empty());
    let page = async {
        let search = AuditQuery {
            action: action.clone(),
            before_id: query.before,
            limit: ACTIVITY_PAGE,
            ..AuditQuery::default()
        };
        let events = service::search_audit(&state, &actor.actor, search).await?;
        let older =
            (events.len() == ACTIVITY_PAGE as usize).then(|| events.last().map(|e| e.event_id)).flatten();
        let events: Vec<_> = events
            .iter()
            .map(|event| {
                context! {
                    when => timestamp(event.at), actor => &event.actor, action => &event.action,
                    target => &event.target, outcome => event.outcome.as_str(), ip => &event.ip,
                    details => &event.details,
                }
            })
            .collect();
        Ok(context! { events, action => action.clone().unwrap_or_default(), older })
    };
    page_or_error(&state, &actor, "admin/activity.html", "activity", page.await)
}

// ---- API tokens ---------------------------------------------------------

const TOKEN_PURPOSE: &str = "admin-api-token";

/// `GET /admin/tokens`: the caller's tokens (every token for an administrator),
/// and a new token once after creating it.
pub(crate) async fn tokens(State(state): State<AppState>, actor: ConsoleActor) -> Response {
    let (new_token, delete_cookie) = take_one_time_secret(&state, actor.headers(), TOKEN_PURPOSE);
    let page = async {
        let tokens = service::list_tokens(&state, &actor.actor).await?;
        let users = if actor.actor.is_admin() { state.store().list_users().await? } else { Vec::new() };
        let username = |user_id: &str| {
            users
                .iter()
                .find(|user| user.user_id == user_id)
                .map_or_else(|| actor.actor.user.username.to_string(), |user| user.username.to_string())
        };
        let tokens: Vec<_> = tokens
            .iter()
            .map(|token| {
                context! {
                    token_id => &token.token_id, name => &token.name, username => username(&token.user_id),
                    created => timestamp(token.created_at), expires => token.expires_at.map(timestamp),
                    last_used => token.last_used_at.map(timestamp),
                }
            })
            .collect();
        Ok(context! { tokens, new_token })
    };
    with_cookie(page_or_error(&state, &actor, "admin/tokens.html", "tokens", page.await), delete_cookie)
}

/// `POST /admin/tokens`.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Submission { actor, form }: Submission,
) -> Response {
    let created = async {
        let lifetime =
            match form.get("expires_in") {
                None => None,
                Some(raw) => Some(Duration::from_secs(raw.parse::<u64>().map_err(|_| {
                    ErrorCode::InvalidRequest.with("the expiry is a whole number of seconds")
                })?)),
            };
        service::create_token(&state, &actor.actor, form.get("name").unwrap_or_default(), lifetime).await
    };
    match created.await {
        Ok(created) => {
            let response = see_other("/admin/tokens", None);
            with_one_time_secret(&state, response, TOKEN_PURPOSE, &created.token)
                .unwrap_or_else(|err| error_page(&state, &actor, err))
        }
        Err(err) => after_form(&state, &actor, Err(err), "/admin/tokens", "created").await,
    }
}

/// `POST /admin/tokens/{token_id}/delete`.
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    Path(token_id): Path<String>,
    Submission { actor, form: _ }: Submission,
) -> Response {
    let outcome = service::delete_token(&state, &actor.actor, &token_id).await;
    after_form(&state, &actor, outcome, "/admin/tokens", "revoked").await
}
