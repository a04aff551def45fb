//! The two header checks some vendor APIs add on top of the token: an API key
//! that must name the token's client (`x-myobapi-key` style), and a
//! per-resource credential (`x-myobapi-cftoken` style, Base64 `user:password`)
//! that only the service can judge, through a callback.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use http::{HeaderMap, HeaderName, Method, Uri};

use crate::error::GuardError;
use crate::token::VerifiedToken;

/// A decoded per-resource credential header. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ResourceCredentials {
    /// The part before the first `:`.
    pub username: String,
    password: String,
}

impl ResourceCredentials {
    /// The part after the first `:`.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for ResourceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceCredentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// What the service's credential callback is asked to judge.
#[derive(Debug, Clone)]
pub struct CredentialRequest {
    /// The decoded header, or `None` when the request has none.
    pub credentials: Option<ResourceCredentials>,
    /// The token, already verified.
    pub token: VerifiedToken,
    /// The request's method.
    pub method: Method,
    /// The request's URI, to tell which resource is asked for.
    pub uri: Uri,
}

/// The callback's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialDecision {
    /// Let the request through.
    Allow,
    /// Refuse it with 403; the message is sent to the client as
    /// `error_description`, so it should say what to fix, not why in detail.
    Deny(String),
}

/// A boxed future, as the callback's result is stored.
pub type CredentialFuture = Pin<Box<dyn Future<Output = CredentialDecision> + Send>>;

/// Judges per-resource credentials. Any `Fn(CredentialRequest) -> impl Future`
/// closure implements it.
pub trait CredentialVerifier: Send + Sync + 'static {
    /// Allows or denies one request.
    fn verify(&self, request: CredentialRequest) -> CredentialFuture;
}

impl<F, Fut> CredentialVerifier for F
where
    F: Fn(CredentialRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CredentialDecision> + Send + 'static,
{
    fn verify(&self, request: CredentialRequest) -> CredentialFuture {
        Box::pin(self(request))
    }
}

/// Checks that the API-key header names the token's client.
pub(crate) fn check_api_key(
    headers: &HeaderMap,
    header: &HeaderName,
    token: &VerifiedToken,
) -> Result<(), GuardError> {
    let mut values = headers.get_all(header).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(GuardError::InvalidToken(format!("the request needs exactly one {header} header")));
    };
    if value.as_bytes() != token.claims.client_id.as_bytes() {
        return Err(GuardError::InvalidToken(format!(
            "the {header} header does not name the token's client"
        )));
    }
    Ok(())
}

/// Base64 with or without padding: clients differ, and both are unambiguous.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes the credential header, if present. A header that is not Base64 of
/// `user:password` is a malformed request.
pub(crate) fn decode_resource_credentials(
    headers: &HeaderMap,
    header: &HeaderName,
) -> Result<Option<ResourceCredentials>, GuardError> {
    let mut values = headers.get_all(header).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(value), None) => value,
        (Some(_), Some(_)) => {
            return Err(GuardError::InvalidRequest(format!("the request has more than one {header} header")));
        }
    };
    let malformed =
        || GuardError::InvalidRequest(format!("the {header} header must be Base64 of user:password"));
    let trimmed = value.to_str().map_err(|_| malformed())?.trim();
    let decoded = LENIENT_STANDARD
        .decode(trimmed)
        .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (username, password) = text.split_once(':').ok_or_else(malformed)?;
    Ok(Some(ResourceCredentials { username: username.to_owned(), password: password.to_owned() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(value: &str) -> Result<Option<ResourceCredentials>, GuardError> {
        let header = HeaderName::from_static("x-myobapi-cftoken");
        let mut headers = HeaderMap::new();
        headers.insert(&header, value.parse().expect("header value"));
        decode_resource_credentials(&headers, &header)
    }

    #[test]
    fn credentials_decode_with_or_without_padding() {
        // "Administrator:" (empty password) and "user:pa:ss".
        let admin = decode("QWRtaW5pc3RyYXRvcjo=").expect("decodes").expect("present");
        assert_eq!((admin.username.as_str(), admin.password()), ("Administrator", ""));
        let user = decode("dXNlcjpwYTpzcw").expect("decodes").expect("present");
        assert_eq!((user.username.as_str(), user.password()), ("user", "pa:ss"));
        assert!(!format!("{user:?}").contains("pa:ss"));
    }

    #[test]
    fn malformed_credentials_are_a_bad_request() {
        assert!(matches!(decode("not base64!"), Err(GuardError::InvalidRequest(_))));
        // "nocolon"
        assert!(matches!(decode("bm9jb2xvbg=="), Err(GuardError::InvalidRequest(_))));
    }
}
