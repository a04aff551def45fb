//! `POST /login`: check the password (argon2id, on the blocking pool), start a
//! fresh session, and resume the pending authorization request, or go to the
//! account page for an account login.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::ErrorCode;
use tessera_core::request::FormParams;

use crate::admin::audit::Entry;
use crate::cookies::{SESSION_COOKIE, csrf_matches, read_cookie, set_cookie};
use crate::error::ServerError;
use crate::limits::with_retry_after;
use crate::routes::authorize::{ACCOUNT_PAGE, Pending, login_page, pending_request, with_cookie};
use crate::routes::extract::PageForm;
use crate::state::AppState;
use crate::{throttle, unix_now, users};

pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, ServerError> {
    // Either an authorization request to resume, or the account pages.
    let resume = match form.get("request") {
        None if form.get("return_to") == Some(ACCOUNT_PAGE) => {
            if !csrf_matches(&headers, form.get("csrf")) {
                return Ok(state.pages().error(&expired_form()));
            }
            None
        }
        request => match submitted_request(&state, &headers, form.get("csrf"), request).await? {
            Ok(submitted) => Some(submitted),
            Err(response) => return Ok(response),
        },
    };
    let pending = resume.as_ref().map(|(_, pending)| pending);
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default().to_owned();
    let ip = peer.ip().to_string();
    let now = unix_now();
    if let Some(wait) = throttle::login_wait(&state, username, Some(peer.ip()), now) {
        let message = throttle::wait_message(wait);
        let page = login_page(&state, &headers, pending, Some(&message), StatusCode::TOO_MANY_REQUESTS)?;
        return Ok(with_retry_after(page, wait));
    }
    let Some(user) = users::check_credentials(state.store(), username, password).await? else {
        state.throttle().record_failure(username, &ip, now);
        tracing::info!(%ip, "login failed");
        let entry =
            Entry::new(format!("user:{}", username.chars().take(64).collect::<String>()), "login.failed")
                .detail("surface", "account")
                .ip(Some(peer.ip()))
                .failed();
        state.audit().record(entry).await;
        let message = "The username or password is incorrect.";
        return login_page(&state, &headers, pending, Some(message), StatusCode::OK);
    };
    state.throttle().record_success(username);

    let lifetime = state.settings().session_lifetime;
    let replaced = read_cookie(&headers, SESSION_COOKIE);
    let session_id =
        users::start_session(state.store(), &user.user_id, replaced.as_deref(), now, lifetime).await?;
    tracing::info!(user_id = %user.user_id, "user signed in");
    let entry = Entry::new(format!("user:{}", user.username), "login.succeeded")
        .detail("surface", "account")
        .ip(Some(peer.ip()));
    state.audit().record(entry).await;

    // Resume the request (it must not ask for a login again), or go to the account page.
    let target = match &resume {
        Some((params, pending)) => {
            let mut resumed = params.with_value_filtered("prompt", |prompt| {
                let kept: Vec<&str> =
                    prompt.split(' ').filter(|value| !matches!(*value, "login" | "select_account")).collect();
                kept.join(" ")
            });
            // The server changed a pushed request's parameters, so it seals them again.
            if pending.pushed {
                resumed = state.request_seals().seal_pushed(&resumed, now);
            }
            format!("/authorize?{}", resumed.encode())
        }
        None => ACCOUNT_PAGE.to_owned(),
    };
    let location = HeaderValue::from_str(&target)
        .map_err(|_| ServerError::Internal("resumed request is not a valid header".into()))?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    let cookie = set_cookie(SESSION_COOKIE, &session_id, lifetime, state.settings().secure_cookies)?;
    Ok(with_cookie(response, Some(cookie)))
}

/// The pending request a login or consent form carries: the CSRF token must
/// match, and the request passes the core's checks again. `Err` is the page or
/// redirect to answer with.
pub(super) async fn submitted_request(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
    request: Option<&str>,
) -> Result<Result<(FormParams, Pending), Response>, ServerError> {
    if !csrf_matches(headers, csrf) {
        return Ok(Err(state.pages().error(&expired_form())));
    }
    let params = match FormParams::parse(request.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(err) => return Ok(Err(state.pages().error(&err))),
    };
    Ok(pending_request(state, &params).await?.map(|pending| (params, pending)))
}

pub(super) fn expired_form() -> tessera_core::OAuthError {
    ErrorCode::InvalidRequest
        .with("this form has expired or did not come from this site; go back and try again")
}
