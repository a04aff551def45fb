//! `GET`/`POST /authorize` (RFC 6749 §4.1.1): validate the request in the core,
//! then send the user through login and consent, or straight back to the
//! client with a code.
//!
//! The pending request travels through the login and consent forms as its own
//! encoded parameters and is validated again at every step, so nothing the
//! browser sends back is trusted without the core's checks.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use tessera_core::authorize::{
    AuthorizationRequest, AuthorizeError, issue_code, needs_consent, needs_login,
    validate_authorization_request,
};
use tessera_core::client::Client;
use tessera_core::client_auth::is_valid_client_id;
use tessera_core::metadata_document::ClientIdUrl;
use tessera_core::par::ensure_pushed;
use tessera_core::request::FormParams;
use tessera_core::scope::ScopeSet;
use tessera_core::user::User;
use tessera_core::{ErrorCode, OAuthError};
use tessera_store::SessionRecord;
use url::Url;

use crate::client_documents::ClientLookup;
use crate::cookies::{SESSION_COOKIE, csrf_token, read_cookie};
use crate::error::ServerError;
use crate::random::random_token;
use crate::routes::extract::{PageForm, PageQuery};
use crate::state::AppState;
use crate::unix_now;

pub(crate) async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(params): PageQuery,
) -> Result<Response, ServerError> {
    authorize(&state, &headers, params).await
}

/// OpenID Connect Core §3.1.2.1: the same request may come as a form POST.
pub(super) async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(params): PageForm,
) -> Result<Response, ServerError> {
    authorize(&state, &headers, params).await
}

/// A validated request together with the client it is for.
pub(super) struct Pending {
    pub(super) client: Arc<Client>,
    pub(super) request: AuthorizationRequest,
    /// The request's parameters, re-encoded for the forms' hidden field.
    pub(super) encoded: String,
    /// The parameters are a pushed request's, sealed when its request_uri was used.
    pub(super) pushed: bool,
}

/// Validates `params` as an authorization request; `Err` is the response to send.
pub(super) async fn pending_request(
    state: &AppState,
    params: &FormParams,
) -> Result<Result<Pending, Response>, ServerError> {
    let client = match params.get("client_id") {
        Some(id) if is_valid_client_id(id) => match state.lookup_client(id).await? {
            ClientLookup::Found(client) => Some(client),
            ClientLookup::Unknown => None,
            // A metadata document that could not be used: say why, on our page.
            ClientLookup::Refused(err) => return Ok(Err(state.pages().error(&err))),
        },
        _ => None,
    };
    let validated =
        validate_authorization_request(&state.settings().authorize_policy, client.as_deref(), params);
    let request = match validated {
        Ok(request) => request,
        Err(err) => return Ok(Err(authorize_error(state, err)?)),
    };
    let client = client.ok_or_else(|| ServerError::Internal("validated request without client".into()))?;
    let pushed = state.request_seals().is_pushed(params, unix_now());
    let required = state.settings().require_pushed_authorization_requests;
    if let Err(err) = ensure_pushed(required, &client, &request, pushed) {
        return Ok(Err(authorize_error(state, err)?));
    }
    Ok(Ok(Pending { client, request, encoded: params.encode(), pushed }))
}

/// An error page, or the error sent back to the client, as the core decided.
fn authorize_error(state: &AppState, err: AuthorizeError) -> Result<Response, ServerError> {
    match err {
        AuthorizeError::Page(err) => Ok(state.pages().error(&err)),
        AuthorizeError::Redirect { redirect_uri, error, state: client_state } => redirect_to_client(
            state,
            redirect_uri.as_str(),
            &[("error", error.code.as_str()), ("error_description", &error.description)],
            client_state.as_deref(),
        ),
    }
}

async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    params: FormParams,
) -> Result<Response, ServerError> {
    // RFC 9126 §4: a request_uri stands for the parameters pushed under it.
    let params = match super::par::resolve(state, params).await? {
        Ok(params) => params,
        Err(response) => return Ok(response),
    };
    let pending = match pending_request(state, &params).await? {
        Ok(pending) => pending,
        Err(response) => return Ok(response),
    };
    let now = unix_now();
    let signed_in = signed_in_user(state, headers, now).await?;
    let auth_time = signed_in.as_ref().map(|(session, _)| session.auth_time);
    let Some((session, user)) = signed_in.filter(|_| !needs_login(&pending.request, auth_time, now)) else {
        if pending.request.prompt.none {
            return redirect_error(
                state,
                &pending.request,
                ErrorCode::LoginRequired.with("the user is not signed in"),
            );
        }
        return login_page(state, headers, Some(&pending), None, StatusCode::OK);
    };
    let granted = state.store().find_consent(&user.user_id, &pending.client.client_id).await?;
    if needs_consent(&pending.request, granted.as_ref()) {
        if pending.request.prompt.none {
            return redirect_error(
                state,
                &pending.request,
                ErrorCode::ConsentRequired.with("the user has not approved these scopes"),
            );
        }
        return consent_page(state, headers, &pending, &user).await;
    }
    let scope = pending.request.scope.clone();
    state.client_used(&pending.client);
    issue_code_and_redirect(state, &pending.request, &user, scope, session.auth_time).await
}

/// The signed-in user of this browser, if the session is live and the user enabled.
pub(super) async fn signed_in_user(
    state: &AppState,
    headers: &HeaderMap,
    now: u64,
) -> Result<Option<(SessionRecord, User)>, ServerError> {
    let Some(cookie) = read_cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let hash = tessera_core::secret::SecretHash::of(&cookie);
    let Some(session) = state.store().find_session(&hash, now).await? else { return Ok(None) };
    let user = state.store().find_user(&session.user_id).await?.filter(|user| !user.disabled);
    Ok(user.map(|user| (session, user)))
}

#[derive(Serialize)]
struct LoginContext<'a> {
    client_name: Option<&'a str>,
    /// The host of a metadata-document client's URL (its only proven identity).
    client_host: Option<String>,
    org_url: Option<&'a str>,
    csrf: String,
    request: &'a str,
    return_to: Option<&'a str>,
    username: &'a str,
    error: Option<&'a str>,
}

/// The one page an account login returns to; never taken from the request.
pub(super) const ACCOUNT_PAGE: &str = "/account/applications";

/// The login page, for a pending authorization request or (with `None`) for
/// the account pages.
pub(super) fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    pending: Option<&Pending>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, ServerError> {
    let (csrf, set_cookie) = csrf_token(headers, state.settings().secure_cookies)?;
    let context = LoginContext {
        client_name: pending.map(|pending| pending.client.name.as_str()),
        client_host: pending.and_then(|pending| metadata_document_host(&pending.client)),
        org_url: pending.and_then(|pending| pending.client.org_url.as_deref()),
        csrf,
        request: pending.map_or("", |pending| pending.encoded.as_str()),
        return_to: pending.is_none().then_some(ACCOUNT_PAGE),
        username: pending.and_then(|pending| pending.request.login_hint.as_deref()).unwrap_or(""),
        error,
    };
    Ok(with_cookie(state.pages().render("login.html", status, context), set_cookie))
}

#[derive(Serialize)]
struct ScopeChoice {
    name: String,
    description: String,
    /// `openid` is what the request is for; it cannot be unticked.
    required: bool,
}

#[derive(Serialize)]
struct ConsentContext<'a> {
    client_name: &'a str,
    /// The host of a metadata-document client's URL, shown prominently: the
    /// name is the client's own claim, the host is who serves it (§8.5).
    client_host: Option<String>,
    org_url: Option<&'a str>,
    username: &'a str,
    csrf: String,
    request: &'a str,
    scopes: Vec<ScopeChoice>,
    /// RFC 8707: the services the token will reach, when the request named them.
    resources: Vec<&'a str>,
}

pub(super) async fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    pending: &Pending,
    user: &User,
) -> Result<Response, ServerError> {
    let registry = state.store().list_scopes().await?;
    let scopes = pending
        .request
        .scope
        .iter()
        .map(|scope| ScopeChoice {
            name: scope.to_string(),
            description: registry
                .iter()
                .find(|record| &record.name == scope)
                .map_or_else(|| scope.to_string(), |record| record.description.clone()),
            required: scope.as_str() == "openid",
        })
        .collect();
    let (csrf, set_cookie) = csrf_token(headers, state.settings().secure_cookies)?;
    let context = ConsentContext {
        client_name: &pending.client.name,
        client_host: metadata_document_host(&pending.client),
        org_url: pending.client.org_url.as_deref(),
        username: user.username.as_str(),
        csrf,
        request: &pending.encoded,
        scopes,
        resources: pending.request.resources.iter().map(|resource| resource.as_str()).collect(),
    };
    Ok(with_cookie(state.pages().render("consent.html", StatusCode::OK, context), set_cookie))
}

/// The host of a client known by its metadata document (its id is the URL).
fn metadata_document_host(client: &Client) -> Option<String> {
    if !ClientIdUrl::is_candidate(&client.client_id) {
        return None;
    }
    ClientIdUrl::parse(&client.client_id, true).ok().map(|url| url.host().to_owned())
}

/// Issues a code for `scope` and sends the browser back to the client with it.
pub(super) async fn issue_code_and_redirect(
    state: &AppState,
    request: &AuthorizationRequest,
    user: &User,
    scope: ScopeSet,
    auth_time: u64,
) -> Result<Response, ServerError> {
    let code = random_token(32)?;
    let record = issue_code(
        &state.settings().authorize_policy,
        request,
        &user.user_id,
        scope,
        auth_time,
        &code,
        unix_now(),
    );
    state.store().create_code(&record).await?;
    tracing::info!(client_id = %request.client_id, user_id = %user.user_id, "authorization code issued");
    redirect_to_client(state, request.redirect_uri.as_str(), &[("code", &code)], request.state.as_deref())
}

pub(super) fn redirect_error(
    state: &AppState,
    request: &AuthorizationRequest,
    error: OAuthError,
) -> Result<Response, ServerError> {
    redirect_to_client(
        state,
        request.redirect_uri.as_str(),
        &[("error", error.code.as_str()), ("error_description", &error.description)],
        request.state.as_deref(),
    )
}

/// A 303 to the client's redirect URI with `params`, `state` and `iss` (RFC 9207) added.
fn redirect_to_client(
    state: &AppState,
    redirect_uri: &str,
    params: &[(&str, &str)],
    client_state: Option<&str>,
) -> Result<Response, ServerError> {
    let mut url = Url::parse(redirect_uri)
        .map_err(|_| ServerError::Internal("stored redirect URI does not parse".into()))?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(client_state) = client_state {
            query.append_pair("state", client_state);
        }
        query.append_pair("iss", state.issuer());
    }
    let location = HeaderValue::from_str(url.as_str())
        .map_err(|_| ServerError::Internal("redirect is not a valid header".into()))?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
