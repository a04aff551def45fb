//! The one error type of the core: an OAuth error code plus a human-readable
//! description. Mapping codes to HTTP statuses and bodies is the server's job.

use std::fmt;

/// An error code defined by an OAuth RFC. `Display` gives the exact wire string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// RFC 6749 §5.2: missing, repeated or malformed parameter, or several
    /// client authentication methods at once.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient,
    /// RFC 6749 §5.2: the grant (code, refresh token, …) is invalid or expired.
    InvalidGrant,
    /// RFC 6749 §5.2: the client may not use this grant type.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is not supported by this server.
    UnsupportedGrantType,
    /// RFC 6749 §5.2: the scope is malformed or exceeds what the client was granted.
    InvalidScope,
    /// RFC 8707 §2: the requested resource is invalid or not allowed for the client.
    InvalidTarget,
    /// RFC 6749 §4.1.2.1: the server does not support this `response_type`.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1: the resource owner denied the request.
    AccessDenied,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` but the user is not logged in.
    LoginRequired,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` but consent is needed.
    ConsentRequired,
    /// OpenID Connect Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OpenID Connect Core §3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// RFC 7009 §2.2.1: the server cannot revoke this type of token.
    UnsupportedTokenType,
    /// RFC 6750 §3.1: a Bearer token is missing, expired, revoked or malformed.
    InvalidToken,
    /// RFC 6750 §3.1: the token lacks a scope the resource needs.
    InsufficientScope,
    /// RFC 7591 §3.2.2: a redirect URI in registration metadata is invalid.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: a registration metadata field is invalid.
    InvalidClientMetadata,
    /// RFC 9449 §5, §7.1: the DPoP proof is missing where required, malformed,
    /// replayed or does not match the request or the token.
    InvalidDpopProof,
    /// RFC 9449 §8: the server requires a fresh nonce in the DPoP proof.
    UseDpopNonce,
}

impl ErrorCode {
    /// The code as it appears in the `error` field of a response.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// Attaches a description, making an [`OAuthError`].
    pub fn with(self, description: impl Into<String>) -> OAuthError {
        OAuthError { code: self, description: description.into() }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error: the RFC code and a lowercase description for the caller.
///
/// Descriptions never contain secrets: they name parameters, not their values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
}
