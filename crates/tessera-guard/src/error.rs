//! The crate's one error type, and how each error becomes an RFC 6750 response.
//!
//! A rejection must tell the client what to do next (get a token, get a new
//! one, ask for more scope) without telling an attacker which check failed in
//! detail that matters: descriptions name the rule, never key material.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// Everything that can go wrong in the guard: a request it refuses, a
/// configuration it cannot use, or an issuer or upstream it cannot reach.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// No `Authorization: Bearer` credentials (RFC 6750 §3.1: the challenge
    /// carries no error code, the client should simply authenticate).
    #[error("the request has no bearer token")]
    MissingToken,
    /// The request is malformed (RFC 6750 `invalid_request`, 400).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The token is malformed, expired, revoked, or fails a check
    /// (RFC 6750 `invalid_token`, 401).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// RFC 9449 §7.1: the DPoP proof is missing, malformed, replayed or for
    /// another request or key (401, `DPoP` challenge `invalid_dpop_proof`).
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(String),
    /// RFC 9449 §7.1: the token presented with the DPoP scheme is not usable
    /// (401, `DPoP` challenge `invalid_token`).
    #[error("invalid DPoP token: {0}")]
    InvalidDpopToken(String),
    /// The token is valid but lacks a scope the route needs
    /// (RFC 6750 `insufficient_scope`, 403).
    #[error("insufficient scope: the route needs `{}`", .required.join(" "))]
    InsufficientScope {
        /// Every scope the route needs, as the challenge's `scope` lists them.
        required: Vec<String>,
    },
    /// The service's own credential callback refused the request (403).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The proxy has no route for this request and is configured to say 404.
    #[error("no route matches the request")]
    NotFound,
    /// The issuer (discovery, JWKS or introspection) could not be reached or
    /// answered nonsense. The guard fails closed with 503.
    #[error("authorization temporarily unavailable: {0}")]
    Unavailable(String),
    /// The proxy could not reach its upstream (502).
    #[error("upstream unreachable: {0}")]
    Upstream(String),
    /// The configuration cannot be used; the message names the setting.
    #[error("invalid guard configuration: {0}")]
    Config(String),
    /// Binding or serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl GuardError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            GuardError::MissingToken
            | GuardError::InvalidToken(_)
            | GuardError::InvalidDpopProof(_)
            | GuardError::InvalidDpopToken(_) => StatusCode::UNAUTHORIZED,
            GuardError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            GuardError::InsufficientScope { .. } | GuardError::AccessDenied(_) => StatusCode::FORBIDDEN,
            GuardError::NotFound => StatusCode::NOT_FOUND,
            GuardError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GuardError::Upstream(_) => StatusCode::BAD_GATEWAY,
            GuardError::Config(_) | GuardError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error code of the JSON body (and of the challenge, where RFC 6750
    /// defines one).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            GuardError::MissingToken => None,
            GuardError::InvalidRequest(_) => Some("invalid_request"),
            GuardError::InvalidToken(_) | GuardError::InvalidDpopToken(_) => Some("invalid_token"),
            GuardError::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            GuardError::InsufficientScope { .. } => Some("insufficient_scope"),
            GuardError::AccessDenied(_) => Some("access_denied"),
            GuardError::NotFound => Some("not_found"),
            GuardError::Unavailable(_) => Some("temporarily_unavailable"),
            GuardError::Upstream(_) => Some("bad_gateway"),
            GuardError::Config(_) | GuardError::Io(_) => Some("server_error"),
        }
    }

    /// The client-facing description. Internal errors are not described:
    /// their detail belongs in the log, not in the response.
    fn description(&self) -> Option<String> {
        match self {
            GuardError::MissingToken => None,
            GuardError::InvalidRequest(detail)
            | GuardError::InvalidToken(detail)
            | GuardError::InvalidDpopProof(detail)
            | GuardError::InvalidDpopToken(detail)
            | GuardError::AccessDenied(detail) => Some(detail.clone()),
            GuardError::InsufficientScope { required } => {
                Some(format!("the token needs the scope `{}`", required.join(" ")))
            }
            GuardError::NotFound => Some("no route matches the request".into()),
            GuardError::Unavailable(_) => Some("the authorization server cannot be reached".into()),
            GuardError::Upstream(_) => Some("the upstream service cannot be reached".into()),
            GuardError::Config(_) | GuardError::Io(_) => None,
        }
    }

    /// The `WWW-Authenticate` challenge, for the errors RFC 6750 §3 gives one.
    fn challenge(&self, realm: Option<&str>) -> Option<String> {
        if matches!(self, GuardError::InvalidDpopProof(_) | GuardError::InvalidDpopToken(_)) {
            let mut params = vec![format!("algs=\"{}\"", crate::dpop::DPOP_ALGS)];
            if let Some(realm) = realm {
                params.push(format!("realm=\"{}\"", quoted_string_safe(realm)));
            }
            params.push(format!("error=\"{}\"", self.code().unwrap_or_default()));
            if let Some(description) = self.description() {
                params.push(format!("error_description=\"{}\"", quoted_string_safe(&description)));
            }
            return Some(format!("DPoP {}", params.join(", ")));
        }
        let mut params = Vec::new();
        if let Some(realm) = realm {
            params.push(format!("realm=\"{}\"", quoted_string_safe(realm)));
        }
        match self {
            GuardError::MissingToken => {}
            GuardError::InvalidRequest(_) | GuardError::InvalidToken(_) => {
                params.push(format!("error=\"{}\"", self.code().unwrap_or_default()));
                if let Some(description) = self.description() {
                    params.push(format!("error_description=\"{}\"", quoted_string_safe(&description)));
                }
            }
            GuardError::InsufficientScope { required } => {
                params.push("error=\"insufficient_scope\"".into());
                params.push(format!("scope=\"{}\"", quoted_string_safe(&required.join(" "))));
            }
            _ => return None,
        }
        if params.is_empty() {
            return Some("Bearer".into());
        }
        Some(format!("Bearer {}", params.join(", ")))
    }

    /// The response for this error: status, `WWW-Authenticate` where RFC 6750
    /// defines one (with `realm` when given), and a small JSON body
    /// `{"error": ..., "error_description": ...}`.
    pub fn to_response(&self, realm: Option<&str>) -> Response<Full<Bytes>> {
        if matches!(self, GuardError::Config(_) | GuardError::Io(_) | GuardError::Unavailable(_)) {
            tracing::warn!(error = %self, "guard refused a request for an internal reason");
        }
        let mut body = serde_json::Map::new();
        if let Some(code) = self.code() {
            body.insert("error".into(), code.into());
        }
        if let Some(description) = self.description() {
            body.insert("error_description".into(), description.into());
        }
        let body = if body.is_empty() {
            Bytes::new()
        } else {
            Bytes::from(serde_json::Value::Object(body).to_string())
        };
        let mut response = Response::new(Full::new(body.clone()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        if !body.is_empty() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge(realm)
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// RFC 6750 §3 limits `error_description` (and we apply it to every quoted
/// parameter) to printable ASCII without `"` and `\`.
fn quoted_string_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge_of(error: &GuardError, realm: Option<&str>) -> String {
        let response = error.to_response(realm);
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|value| value.to_str().expect("ascii").to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(challenge_of(&GuardError::MissingToken, None), "Bearer");
        assert_eq!(challenge_of(&GuardError::MissingToken, Some("api")), "Bearer realm=\"api\"");
        assert_eq!(
            challenge_of(&GuardError::InvalidToken("the token \"expired\"".into()), None),
            "Bearer error=\"invalid_token\", error_description=\"the token 'expired'\""
        );
        assert_eq!(
            challenge_of(&GuardError::InsufficientScope { required: vec!["a".into(), "b".into()] }, None),
            "Bearer error=\"insufficient_scope\", scope=\"a b\""
        );
        assert_eq!(challenge_of(&GuardError::AccessDenied("no".into()), None), "");
    }
}
