//! Rendering console pages: the shared context (who is signed in, the CSRF
//! token, the section), the headers, error pages, and one-time secrets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Serialize;
use tessera_core::UnixTime;
use tessera_store::StoreError;

use super::session::ConsoleActor;
use crate::cookies::{CookieScope, read_cookie, set_scoped_cookie};
use crate::error::ServerError;
use crate::state::AppState;

/// Console cookies go only to `/admin`, and never with a cross-site request.
pub(crate) const CONSOLE_COOKIES: CookieScope = CookieScope { path: "/admin", same_site: "Strict" };

/// The console runs its one script from its own origin; nothing inline.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Renders `template` for a signed-in actor.
pub(crate) fn render(
    state: &AppState,
    actor: &ConsoleActor,
    template: &str,
    section: &str,
    status: StatusCode,
    page: Value,
) -> Response {
    let me = context! {
        username => actor.actor.user.username.as_str(),
        role => actor.actor.role().as_str(),
        is_admin => actor.actor.is_admin(),
    };
    let context = context! { me, csrf => &actor.csrf, section, ..page };
    let mut response = render_bare(state, template, status, context);
    if let Some(cookie) = &actor.csrf_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// Renders a page that needs no session (login).
pub(crate) fn render_bare(state: &AppState, template: &str, status: StatusCode, context: Value) -> Response {
    let mut response = state.pages().render(template, status, context);
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_CSP));
    response
}

/// The page for an error the console cannot recover from by re-showing a form.
pub(crate) fn error_page(state: &AppState, actor: &ConsoleActor, err: ServerError) -> Response {
    let (status, heading, message) = match err {
        ServerError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", why),
        ServerError::Missing(what) => (StatusCode::NOT_FOUND, "Not found", what),
        ServerError::OAuth(err) => (StatusCode::BAD_REQUEST, "That did not work", err.description),
        ServerError::Store(StoreError::Conflict(what)) => (StatusCode::CONFLICT, "That did not work", what),
        ServerError::Unauthenticated => return Redirect::to("/admin/login").into_response(),
        internal => {
            tracing::error!(error = %internal, "console error");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The error was logged.".to_owned())
        }
    };
    render(state, actor, "admin/error.html", "", status, context! { heading, message })
}

/// The message of an error a person can fix by changing the form, if it is one.
pub(crate) fn form_error(err: &ServerError) -> Option<String> {
    match err {
        ServerError::OAuth(err) => Some(err.description.clone()),
        ServerError::Store(StoreError::Conflict(what)) => Some(what.clone()),
        _ => None,
    }
}

/// After a successful POST: back to a page, with a fixed notice (never user input).
pub(crate) fn see_other(path: &str, notice: Option<&'static str>) -> Response {
    match notice {
        Some(notice) => Redirect::to(&format!("{path}?notice={notice}")).into_response(),
        None => Redirect::to(path).into_response(),
    }
}

/// The text of a notice named in the query.
pub(crate) fn notice_text(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "saved" => "Saved.",
        "created" => "Created.",
        "deleted" => "Deleted.",
        "disabled" => "Disabled.",
        "enabled" => "Enabled.",
        "rotated" => "A new secret was generated.",
        "password" => "The password was changed.",
        "revoked" => "Revoked.",
        _ => return None,
    })
}

/// Sends a freshly generated secret to the next page, sealed in a cookie that
/// page opens once (and deletes).
pub(crate) fn with_one_time_secret(
    state: &AppState,
    mut response: Response,
    purpose: &str,
    secret: &str,
) -> Result<Response, ServerError> {
    let sealed = state.secret_box().seal(purpose, secret.as_bytes())?;
    let cookie =
        set_scoped_cookie(ONE_TIME_COOKIE, &sealed, CONSOLE_COOKIES, 300, state.settings().secure_cookies)?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

const ONE_TIME_COOKIE: &str = "tessera_console_secret";

/// The secret sealed for `purpose`, if the browser brought one; the cookie is
/// deleted from the response either way, so a reload shows nothing.
pub(crate) fn take_one_time_secret(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    purpose: &str,
) -> (Option<String>, Option<HeaderValue>) {
    let Some(sealed) = read_cookie(headers, ONE_TIME_COOKIE) else { return (None, None) };
    let secret = state.secret_box().open(purpose, &sealed).and_then(|bytes| String::from_utf8(bytes).ok());
    let delete =
        set_scoped_cookie(ONE_TIME_COOKIE, "", CONSOLE_COOKIES, 0, state.settings().secure_cookies).ok();
    (secret, delete)
}

/// `2026-11-23T17:40:00Z`.
pub(crate) fn timestamp(at: UnixTime) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(at)).to_string()
}

pub(crate) fn to_value(value: impl Serialize) -> Value {
    Value::from_serialize(value)
}

/// `GET /admin/assets/console.css`.
pub(crate) async fn stylesheet() -> Response {
    asset(include_str!("../../../assets/console.css"), "text/css; charset=utf-8")
}

/// `GET /admin/assets/console.js`.
pub(crate) async fn script() -> Response {
    asset(include_str!("../../../assets/console.js"), "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
