//! Console sign-in: the session cookie, the extractor every page uses, and
//! the login and logout forms.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use tessera_core::secret::SecretHash;

use super::form::ConsoleForm;
use super::page::{CONSOLE_COOKIES, render_bare};
use crate::admin::Actor;
use crate::admin::audit::Entry;
use crate::admin::auth::console_user;
use crate::cookies::{csrf_matches, csrf_token, read_cookie, set_scoped_cookie};
use crate::error::ServerError;
use crate::limits::with_retry_after;
use crate::routes::extract::peer_ip;
use crate::state::AppState;
use crate::{throttle, unix_now, users};

const CONSOLE_SESSION_COOKIE: &str = "tessera_admin";

/// A signed-in developer or administrator, and the CSRF token for the page's forms.
pub(crate) struct ConsoleActor {
    pub(crate) actor: Actor,
    pub(crate) csrf: String,
    /// Set when the browser had no CSRF cookie yet.
    pub(crate) csrf_cookie: Option<HeaderValue>,
    headers: HeaderMap,
}

impl ConsoleActor {
    /// The page refusing a submitted form without this browser's CSRF token, if it lacks it.
    fn csrf_rejection(&self, state: &AppState, form: &ConsoleForm) -> Option<Response> {
        if csrf_matches(&self.headers, form.get("csrf")) {
            return None;
        }
        let heading = "The form expired";
        let message = "Reload the page and try again.";
        Some(super::page::render(
            state,
            self,
            "admin/error.html",
            "",
            StatusCode::FORBIDDEN,
            context! { heading, message },
        ))
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// A console form from a signed-in actor, its CSRF token already checked.
/// Every console POST takes this, so that none can forget the check.
pub(crate) struct Submission {
    pub(crate) actor: ConsoleActor,
    pub(crate) form: ConsoleForm,
}

impl FromRequest<AppState> for Submission {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Submission, Response> {
        let (mut parts, body) = request.into_parts();
        let actor = ConsoleActor::from_request_parts(&mut parts, state).await?;
        let form = ConsoleForm::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(rejection) = actor.csrf_rejection(state, &form) {
            return Err(rejection);
        }
        Ok(Submission { actor, form })
    }
}

impl FromRequestParts<AppState> for ConsoleActor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ConsoleActor, Response> {
        let to_login = || {
            let path = parts.uri.path_and_query().map_or("/admin", |path| path.as_str());
            let next = if parts.method == axum::http::Method::GET { path } else { "/admin" };
            let query: String =
                form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
            Redirect::to(&format!("/admin/login?{query}")).into_response()
        };
        let Some(session_id) = read_cookie(&parts.headers, CONSOLE_SESSION_COOKIE) else {
            return Err(to_login());
        };
        let store = state.store();
        let session = store
            .find_session(&SecretHash::of(&session_id), unix_now())
            .await
            .map_err(|err| ServerError::from(err).into_response())?;
        let Some(session) = session else { return Err(to_login()) };
        let user =
            store.find_user(&session.user_id).await.map_err(|err| ServerError::from(err).into_response())?;
        // Read afresh on every request: a demoted or disabled account loses the console at once.
        let Some(user) = console_user(user) else { return Err(to_login()) };
        let (csrf, csrf_cookie) = csrf_token(&parts.headers, state.settings().secure_cookies)
            .map_err(IntoResponse::into_response)?;
        Ok(ConsoleActor {
            actor: Actor { user, token_id: None, ip: peer_ip(&parts.extensions) },
            csrf,
            csrf_cookie,
            headers: parts.headers.clone(),
        })
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// Only a console path, so the login form cannot be made to send anyone elsewhere.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with("/admin") && !next.starts_with("//") && !next.contains('\\') => next,
        _ => "/admin/apps",
    }
}

/// `GET /admin/login`.
pub(crate) async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ServerError> {
    login_form(&state, &headers, safe_next(query.next.as_deref()), "", None, StatusCode::OK)
}

fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, ServerError> {
    let (csrf, cookie) = csrf_token(headers, state.settings().secure_cookies)?;
    let mut response =
        render_bare(state, "admin/login.html", status, context! { csrf, next, username, error });
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /admin/login`.
pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: ConsoleForm,
) -> Result<Response, ServerError> {
    let ip = Some(peer.ip());
    let next = safe_next(form.get("next")).to_owned();
    let username = form.get("username").unwrap_or_default().to_owned();
    if !csrf_matches(&headers, form.get("csrf")) {
        let message = "The form expired. Sign in again.";
        return login_form(&state, &headers, &next, &username, Some(message), StatusCode::FORBIDDEN);
    }
    let ip_text = ip.map(|ip| ip.to_string()).unwrap_or_default();
    let now = unix_now();
    if let Some(wait) = throttle::login_wait(&state, &username, ip, now) {
        let message = throttle::wait_message(wait);
        let page =
            login_form(&state, &headers, &next, &username, Some(&message), StatusCode::TOO_MANY_REQUESTS)?;
        return Ok(with_retry_after(page, wait));
    }
    let password = form.raw("password").unwrap_or_default().to_owned();
    let user = users::check_credentials(state.store(), &username, password).await?;
    let Some(user) = console_user(user) else {
        state.throttle().record_failure(&username, &ip_text, now);
        let entry =
            Entry::new(format!("user:{}", username.chars().take(64).collect::<String>()), "login.failed")
                .detail("surface", "console")
                .ip(ip)
                .failed();
        state.audit().record(entry).await;
        let message = "The username or password is incorrect, or the account has no access to the console.";
        return login_form(&state, &headers, &next, &username, Some(message), StatusCode::OK);
    };
    state.throttle().record_success(&username);
    let lifetime = state.settings().admin_session_lifetime;
    let replaced = read_cookie(&headers, CONSOLE_SESSION_COOKIE);
    let session_id =
        users::start_session(state.store(), &user.user_id, replaced.as_deref(), now, lifetime).await?;
    let entry =
        Entry::new(format!("user:{}", user.username), "login.succeeded").detail("surface", "console").ip(ip);
    state.audit().record(entry).await;
    let cookie = set_scoped_cookie(
        CONSOLE_SESSION_COOKIE,
        &session_id,
        CONSOLE_COOKIES,
        lifetime,
        state.settings().secure_cookies,
    )?;
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /admin/logout`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    Submission { actor, form: _ }: Submission,
) -> Result<Response, ServerError> {
    if let Some(session_id) = read_cookie(actor.headers(), CONSOLE_SESSION_COOKIE) {
        state.store().delete_session(&SecretHash::of(&session_id)).await?;
    }
    let cookie =
        set_scoped_cookie(CONSOLE_SESSION_COOKIE, "", CONSOLE_COOKIES, 0, state.settings().secure_cookies)?;
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
