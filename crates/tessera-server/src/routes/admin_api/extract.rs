//! Extractors for the admin API: a JSON body, a query string and path
//! parameters, each refusing bad input with the API's JSON error shape
//! (`invalid_request`, or 415 / 413) instead of axum's plain-text rejections.
//!
//! They check form only; every rule about what the values mean belongs to
//! `admin::service` and the core.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_core::ErrorCode;

use crate::error::ServerError;

/// Admin API bodies are a few kilobytes at most (a client's metadata).
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// A JSON object in the request body, deserialized into `T`. Input types use
/// `#[serde(deny_unknown_fields)]`, so a misspelt field is an error, not ignored.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<ApiJson<T>, Response> {
        if !is_json(request.headers()) {
            return Err(unsupported_media_type());
        }
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > BODY_LIMIT as u64) {
            return Err(ServerError::PayloadTooLarge(BODY_LIMIT).into_response());
        }
        let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| ServerError::PayloadTooLarge(BODY_LIMIT).into_response())?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|err| invalid_request(format!("the body is not valid JSON: {err}")))?;
        // Every input is an object; serde would also read a struct from an array.
        if !value.is_object() {
            return Err(invalid_request("the body must be a JSON object".into()));
        }
        if has_nul(&value) {
            return Err(invalid_request(NUL_REFUSED.into()));
        }
        T::deserialize(value).map(ApiJson).map_err(|err| invalid_request(format!("invalid body: {err}")))
    }
}

/// A query string deserialized into `T` (use `#[serde(deny_unknown_fields)]`).
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiQuery<T>, Response> {
        let query = parts.uri.query().unwrap_or_default().as_bytes();
        if form_urlencoded::parse(query).any(|(name, value)| name.contains('\0') || value.contains('\0')) {
            return Err(invalid_request(NUL_REFUSED.into()));
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

/// Path parameters deserialized into `T` (a `String`, or a tuple of them).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiPath<T>, Response> {
        let value = match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => value,
            Err(rejection) => return Err(path_rejection(rejection)),
        };
        let raw = RawPathParams::from_request_parts(parts, state).await.map_err(|rejection| {
            invalid_request(format!("invalid path parameter: {}", rejection.body_text()))
        })?;
        // Ids are generated printable strings: a control character can name nothing,
        // and PostgreSQL cannot even compare text holding a NUL.
        if let Some((name, _)) = raw.iter().find(|(_, value)| value.chars().any(char::is_control)) {
            return Err(invalid_request(format!("the path parameter `{name}` holds a control character")));
        }
        Ok(ApiPath(value))
    }
}

/// The answer to a method a path does not have. The router adds `Allow`.
pub(crate) async fn method_not_allowed() -> Response {
    with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::InvalidRequest.with("this path does not answer that method; see the Allow header"),
    )
}

/// PostgreSQL text cannot hold NUL, so a NUL that reached the store would be
/// a 500 there and fine on SQLite; refusing it here answers the same everywhere.
const NUL_REFUSED: &str = "strings must not contain NUL characters";

fn is_json(headers: &HeaderMap) -> bool {
    let Some(mime) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
    else {
        return false;
    };
    let mime = mime.trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.iter().any(|(name, value)| name.contains('\0') || has_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn invalid_request(description: String) -> Response {
    ServerError::from(ErrorCode::InvalidRequest.with(description)).into_response()
}

fn unsupported_media_type() -> Response {
    with_status(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::InvalidRequest.with("the body must be JSON, sent as `Content-Type: application/json`"),
    )
}

/// `err`'s JSON body and headers under another status than its RFC one.
fn with_status(status: StatusCode, err: tessera_core::OAuthError) -> Response {
    let mut response = ServerError::from(err).into_response();
    *response.status_mut() = status;
    response
}

fn query_rejection(rejection: QueryRejection) -> Response {
    invalid_request(format!("invalid query string: {}", rejection.body_text()))
}

fn path_rejection(rejection: PathRejection) -> Response {
    match rejection {
        // A route without the parameters its handler reads: our bug, not the caller's.
        PathRejection::MissingPathParams(_) => ServerError::Internal(rejection.body_text()).into_response(),
        _ => invalid_request(format!("invalid path parameter: {}", rejection.body_text())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        let headers = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static(value));
            headers
        };
        for json in ["application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"] {
            assert!(is_json(&headers(json)), "{json}");
        }
        for other in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", "json"] {
            assert!(!is_json(&headers(other)), "{other}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn nul_is_found_anywhere() {
        assert!(has_nul(&serde_json::json!({ "a": ["x", "y\u{0}"] })));
        assert!(has_nul(&serde_json::json!({ "a\u{0}": 1 })));
        assert!(!has_nul(&serde_json::json!({ "a": ["x", 1, null, true] })));
    }
}
