//! Token requests (RFC 6749 §4–§6): which grant a request asks for, and the
//! rules of each grant.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh;
pub mod token_exchange;

use crate::client::GrantType;
use crate::error::{ErrorCode, OAuthError};
use crate::request::FormParams;

pub use authorization_code::AuthorizationCodeRequest;
pub use client_credentials::ClientCredentialsRequest;
pub use refresh::RefreshTokenRequest;
pub use token_exchange::TokenExchangeRequest;

/// A token request, parsed by its `grant_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode(AuthorizationCodeRequest),
    ClientCredentials(ClientCredentialsRequest),
    RefreshToken(RefreshTokenRequest),
    TokenExchange(TokenExchangeRequest),
}

impl TokenRequest {
    pub fn parse(form: &FormParams) -> Result<TokenRequest, OAuthError> {
        let raw = form.require("grant_type")?;
        match GrantType::parse(raw) {
            Some(GrantType::ClientCredentials) => {
                Ok(TokenRequest::ClientCredentials(ClientCredentialsRequest::parse(form)?))
            }
            Some(GrantType::AuthorizationCode) => {
                Ok(TokenRequest::AuthorizationCode(AuthorizationCodeRequest::parse(form)?))
            }
            Some(GrantType::RefreshToken) => Ok(TokenRequest::RefreshToken(RefreshTokenRequest::parse(form)?)),
            Some(GrantType::TokenExchange) => {
                Ok(TokenRequest::TokenExchange(TokenExchangeRequest::parse(form)?))
            }
            None => Err(ErrorCode::UnsupportedGrantType.with(format!(
                "grant type `{raw}` is not supported; supported: authorization_code, client_credentials, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange"
            ))),
        }
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            TokenRequest::AuthorizationCode(_) => GrantType::AuthorizationCode,
            TokenRequest::ClientCredentials(_) => GrantType::ClientCredentials,
            TokenRequest::RefreshToken(_) => GrantType::RefreshToken,
            TokenRequest::TokenExchange(_) => GrantType::TokenExchange,
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[track_caller]
    fn check(body: &str, expect: Expect) {
        let actual = match FormParams::parse(body.as_bytes()).and_then(|f| TokenRequest::parse(&f)) {
            Ok(request) => format!("{request:?}"),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn dispatches_on_grant_type() {
        check(
            "grant_type=client_credentials&scope=a",
            expect![[
                r#"ClientCredentials(ClientCredentialsRequest { scope: Some(ScopeSet({Scope("a")})), resources: [] })"#
            ]],
        );
        check("scope=a", expect!["Err(invalid_request: missing required parameter `grant_type`)"]);
        check(
            "grant_type=password&username=u&password=p",
            expect![
                "Err(unsupported_grant_type: grant type `password` is not supported; supported: authorization_code, client_credentials, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange)"
            ],
        );
    }
}
