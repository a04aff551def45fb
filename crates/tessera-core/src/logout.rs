//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): who asks to
//! end the session, and where the browser may go afterwards. A redirect goes
//! only to a URI the client registered for it, exactly as registered.

use serde::Deserialize;

use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::request::FormParams;

/// The parameters of a logout request (§2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

impl LogoutRequest {
    pub fn parse(params: &FormParams) -> LogoutRequest {
        let get = |name: &str| params.get(name).map(str::to_owned);
        LogoutRequest {
            id_token_hint: get("id_token_hint"),
            client_id: get("client_id"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
        }
    }
}

/// The claims Tessera reads from a signature-verified ID token hint. Expired
/// ID tokens are fine as hints (§2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdTokenHint {
    pub iss: String,
    pub aud: String,
    pub sub: String,
}

/// Where the browser goes once the session has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterLogout {
    /// To the client's registered URI, with `state` if one was sent.
    Redirect { uri: String, state: Option<String> },
    /// A page saying the user is signed out.
    SignedOutPage,
}

/// The client a logout request names, by its `client_id` or its hint's `aud`.
pub fn logout_client_id<'a>(
    request: &'a LogoutRequest,
    hint: Option<&'a IdTokenHint>,
    issuer: &str,
) -> Result<Option<&'a str>, OAuthError> {
    if request.id_token_hint.is_some() && hint.is_none_or(|hint| hint.iss != issuer) {
        return Err(ErrorCode::InvalidRequest.with("id_token_hint is not an ID token issued by this server"));
    }
    match (request.client_id.as_deref(), hint.map(|hint| hint.aud.as_str())) {
        (Some(sent), Some(aud)) if sent != aud => {
            Err(ErrorCode::InvalidRequest.with("client_id differs from the audience of id_token_hint"))
        }
        (Some(sent), _) => Ok(Some(sent)),
        (None, aud) => Ok(aud),
    }
}

/// Decides where the browser goes; `client` is the one `logout_client_id` named.
pub fn after_logout(request: &LogoutRequest, client: Option<&Client>) -> Result<AfterLogout, OAuthError> {
    let Some(uri) = &request.post_logout_redirect_uri else { return Ok(AfterLogout::SignedOutPage) };
    let Some(client) = client else {
        return Err(ErrorCode::InvalidRequest
            .with("post_logout_redirect_uri needs client_id or id_token_hint to name the application"));
    };
    if !client.post_logout_redirect_uris.iter().any(|registered| registered.as_str() == uri) {
        return Err(
            ErrorCode::InvalidRequest.with("post_logout_redirect_uri is not registered for this application")
        );
    }
    Ok(AfterLogout::Redirect { uri: uri.clone(), state: request.state.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::redirect_uri::RedirectUri;

    const ISSUER: &str = "https://auth.example.com";

    fn hint(aud: &str) -> IdTokenHint {
        IdTokenHint { iss: ISSUER.into(), aud: aud.into(), sub: "user-1".into() }
    }

    fn request(query: &str) -> LogoutRequest {
        LogoutRequest::parse(&FormParams::parse(query.as_bytes()).expect("form"))
    }

    #[test]
    fn the_client_comes_from_client_id_or_the_hint() {
        let with_hint = request("id_token_hint=x");
        assert_eq!(logout_client_id(&with_hint, Some(&hint("app")), ISSUER), Ok(Some("app")));
        let by_id = request("client_id=app");
        assert_eq!(logout_client_id(&by_id, None, ISSUER), Ok(Some("app")));
        let both = request("client_id=other&id_token_hint=x");
        assert!(logout_client_id(&both, Some(&hint("app")), ISSUER).is_err(), "they must agree");
        assert!(logout_client_id(&with_hint, None, ISSUER).is_err(), "an unverifiable hint is refused");
        let foreign = IdTokenHint { iss: "https://elsewhere.example.com".into(), ..hint("app") };
        assert!(logout_client_id(&with_hint, Some(&foreign), ISSUER).is_err());
        assert_eq!(logout_client_id(&request(""), None, ISSUER), Ok(None));
    }

    #[test]
    fn redirects_only_to_registered_uris() {
        let client = Client {
            post_logout_redirect_uris: vec![RedirectUri::parse("https://app.example.com/bye").expect("uri")],
            ..fixtures::client("app")
        };
        let good = request("post_logout_redirect_uri=https://app.example.com/bye&state=s1");
        assert_eq!(
            after_logout(&good, Some(&client)),
            Ok(AfterLogout::Redirect { uri: "https://app.example.com/bye".into(), state: Some("s1".into()) })
        );
        let evil = request("post_logout_redirect_uri=https://evil.example.com/");
        assert!(after_logout(&evil, Some(&client)).is_err());
        assert!(after_logout(&good, None).is_err(), "no client, no redirect");
        assert_eq!(after_logout(&request(""), Some(&client)), Ok(AfterLogout::SignedOutPage));
    }
}
