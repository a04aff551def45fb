//! Extractors that turn raw requests into the core's input types, refusing
//! anything RFC 6749 does not allow before a handler runs.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tessera_core::ErrorCode;
use tessera_core::request::FormParams;

use crate::error::ServerError;
use crate::state::AppState;

/// Token-endpoint bodies are a few hundred bytes; anything near this is abuse.
pub(crate) const FORM_BODY_LIMIT: usize = 16 * 1024;

/// A form-encoded POST body, with the request's `Authorization` header.
pub(crate) struct OAuthForm {
    pub(crate) params: FormParams,
    pub(crate) authorization: Option<String>,
    /// The peer's address, for the audit trail.
    pub(crate) peer: Option<std::net::IpAddr>,
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = ServerError;

    async fn from_request(request: Request, _state: &S) -> Result<OAuthForm, ServerError> {
        if request.uri().query().is_some_and(|query| !query.is_empty()) {
            return Err(ErrorCode::InvalidRequest
                .with("parameters and credentials must be sent in the form body, never in the URL query")
                .into());
        }
        let headers = request.headers();
        if !is_form_urlencoded(headers) {
            return Err(ErrorCode::InvalidRequest
                .with("the body must be application/x-www-form-urlencoded")
                .into());
        }
        let authorization = match headers.get(header::AUTHORIZATION) {
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| ErrorCode::InvalidClient.with("malformed HTTP Basic credentials"))?
                    .to_owned(),
            ),
            None => None,
        };
        let peer = peer_ip(request.extensions());
        let body = axum::body::to_bytes(request.into_body(), FORM_BODY_LIMIT)
            .await
            .map_err(|_| ServerError::PayloadTooLarge(FORM_BODY_LIMIT))?;
        Ok(OAuthForm { params: FormParams::parse(&body)?, authorization, peer })
    }
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1).
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Result<String, ServerError> {
    let missing = || ErrorCode::InvalidToken.with("a Bearer token is required");
    let header = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let (scheme, token) =
        header.to_str().map_err(|_| missing())?.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing().into());
    }
    Ok(token.to_owned())
}

/// A form posted by one of Tessera's own pages. A malformed one is answered
/// with an error page rather than JSON: a person is reading.
pub(crate) struct PageForm(pub(crate) FormParams);

impl FromRequest<AppState> for PageForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<PageForm, Response> {
        match OAuthForm::from_request(request, state).await {
            Ok(form) => Ok(PageForm(form.params)),
            Err(ServerError::OAuth(err)) => Err(state.pages().error(&err)),
            Err(other) => Err(other.into_response()),
        }
    }
}

/// The query string of a page request (`/authorize`, `/logout`), checked like a
/// form: repeated parameters are refused, with an error page.
pub(crate) struct PageQuery(pub(crate) FormParams);

impl FromRequestParts<AppState> for PageQuery {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<PageQuery, Response> {
        FormParams::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(PageQuery)
            .map_err(|err| state.pages().error(&err))
    }
}

/// The address of the peer that sent a request (from its extensions), when
/// the server recorded it. Never a forwarded header: anyone could write that.
pub(crate) fn peer_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip())
}

/// Whether the body is declared `application/x-www-form-urlencoded` (any parameters).
pub(crate) fn is_form_urlencoded(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}
