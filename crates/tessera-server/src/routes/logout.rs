//! `GET`/`POST /logout` (OpenID Connect RP-Initiated Logout 1.0). With a valid
//! `id_token_hint` the session ends at once; without one the user confirms on
//! a CSRF-protected page, so a third-party link cannot sign them out.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::logout::{AfterLogout, LogoutRequest, after_logout, logout_client_id};
use tessera_core::request::FormParams;
use tessera_core::secret::SecretHash;
use url::Url;

use crate::cookies::{SESSION_COOKIE, csrf_matches, csrf_token, read_cookie, set_cookie};
use crate::error::ServerError;
use crate::routes::authorize::with_cookie;
use crate::routes::extract::{PageForm, PageQuery};
use crate::state::AppState;

#[derive(Serialize)]
struct LogoutContext<'a> {
    confirm: bool,
    client_name: Option<&'a str>,
    csrf: String,
    request: String,
}

pub(super) async fn logout_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(params): PageQuery,
) -> Result<Response, ServerError> {
    let request = LogoutRequest::parse(&params);
    let hint = request.id_token_hint.as_deref().and_then(|token| state.keys().verify_id_token_hint(token));
    let client_id = match logout_client_id(&request, hint.as_ref(), state.issuer()) {
        Ok(client_id) => client_id,
        Err(err) => return Ok(state.pages().error(&err)),
    };
    let client = match client_id {
        Some(id) => state.find_client(id).await?,
        None => None,
    };
    if let Err(err) = after_logout(&request, client.as_deref()) {
        return Ok(state.pages().error(&err));
    }
    if hint.is_some() {
        return end_session(&state, &headers, &request, client.as_deref()).await;
    }
    let (csrf, set_csrf) = csrf_token(&headers, state.settings().secure_cookies)?;
    let context = LogoutContext {
        confirm: true,
        client_name: client.as_deref().map(|client| client.name.as_str()),
        csrf,
        request: params.encode(),
    };
    Ok(with_cookie(state.pages().render("logout.html", StatusCode::OK, context), set_csrf))
}

/// The confirmation form's submission.
pub(super) async fn logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, ServerError> {
    if !csrf_matches(&headers, form.get("csrf")) {
        let expired =
            tessera_core::ErrorCode::InvalidRequest.with("this form has expired; go back and try again");
        return Ok(state.pages().error(&expired));
    }
    let params = FormParams::parse(form.get("request").unwrap_or_default().as_bytes()).unwrap_or_default();
    let request = LogoutRequest::parse(&params);
    let client = match request.client_id.as_deref() {
        Some(id) => state.find_client(id).await?,
        None => None,
    };
    end_session(&state, &headers, &request, client.as_deref()).await
}

async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    request: &LogoutRequest,
    client: Option<&tessera_core::client::Client>,
) -> Result<Response, ServerError> {
    if let Some(session) = read_cookie(headers, SESSION_COOKIE) {
        state.store().delete_session(&SecretHash::of(&session)).await?;
    }
    let clear = set_cookie(SESSION_COOKIE, "", 0, state.settings().secure_cookies)?;
    let response = match after_logout(request, client) {
        Ok(AfterLogout::Redirect { uri, state: client_state }) => {
            let mut url = Url::parse(&uri)
                .map_err(|_| ServerError::Internal("registered URI does not parse".into()))?;
            if let Some(client_state) = client_state {
                url.query_pairs_mut().append_pair("state", &client_state);
            }
            let location = HeaderValue::from_str(url.as_str())
                .map_err(|_| ServerError::Internal("redirect is not a valid header".into()))?;
            (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
        }
        Ok(AfterLogout::SignedOutPage) | Err(_) => {
            let context = LogoutContext {
                confirm: false,
                client_name: None,
                csrf: String::new(),
                request: String::new(),
            };
            state.pages().render("logout.html", StatusCode::OK, context)
        }
    };
    tracing::info!("session ended by logout");
    Ok(with_cookie(response, Some(clear)))
}
