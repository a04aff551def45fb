//! The RFC 7591 §2 client metadata document, as `POST /register` and an
//! RFC 7592 update carry it, and its translation into a [`ClientRegistration`].
//!
//! Only the members a client may set itself are read: permissions an operator
//! grants (`may_introspect_any_token`, `pkce_optional`, resources, token
//! lifetimes) and the server's outbound policy (`allow_http_jwks_uri`) never
//! come from this document.

use serde::Deserialize;
use serde_json::Value;

use super::ClientRegistration;
use crate::error::{ErrorCode, OAuthError};

/// The name given to a client whose metadata has no `client_name`.
pub const UNNAMED_CLIENT: &str = "Unnamed application";

/// RFC 7591 §2 client metadata. Members Tessera does not know are ignored, as §2 allows.
// The type name shows in serde's messages ("expected struct ClientMetadata"),
// which reach the client in error descriptions: renaming it changes the wire.
// No `Debug`: it may hold a client secret (an RFC 7592 update repeats it).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    /// Space-separated scope names.
    pub scope: Option<String>,
    /// The client's public keys (JWK Set) for private_key_jwt.
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: every token request carries a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: authorization requests only through the PAR endpoint.
    pub require_pushed_authorization_requests: bool,
    /// RFC 7592 §2.2: an update names the client, and may repeat its secret.
    /// Neither is part of the registration; the update handler checks them.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl ClientMetadata {
    /// Reads a JSON metadata document; anything that is not one is
    /// `invalid_client_metadata`, with serde's reason.
    pub fn from_json(body: &[u8]) -> Result<ClientMetadata, OAuthError> {
        serde_json::from_slice(body).map_err(|err| {
            ErrorCode::InvalidClientMetadata.with(format!("the body is not valid client metadata: {err}"))
        })
    }

    /// The registration this metadata asks for, before `register_client`
    /// applies the registration rules. Tessera issues only authorization
    /// codes, so `response_types` may name `code` and nothing else.
    pub fn into_registration(self) -> Result<ClientRegistration, OAuthError> {
        if let Some(unsupported) = self.response_types.iter().find(|response_type| *response_type != "code") {
            return Err(ErrorCode::InvalidClientMetadata
                .with(format!("response type `{unsupported}` is not supported; supported: code")));
        }
        Ok(ClientRegistration {
            name: self.client_name.unwrap_or_else(|| UNNAMED_CLIENT.into()),
            org_url: self.client_uri,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types: self.grant_types,
            scopes: self
                .scope
                .map(|scope| scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            default_scopes: None,
            resources: Vec::new(),
            public: false,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            may_introspect_any_token: false,
            pkce_optional: false,
            access_token_lifetime: None,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            allow_http_jwks_uri: false,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
        })
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[track_caller]
    fn check(body: &str, expect: Expect) {
        let actual =
            match ClientMetadata::from_json(body.as_bytes()).and_then(ClientMetadata::into_registration) {
                Ok(registration) => format!("{registration:?}"),
                Err(err) => format!("Err({err})"),
            };
        expect.assert_eq(&actual);
    }

    #[test]
    fn defaults_for_an_empty_document() {
        assert_eq!(
            ClientMetadata::from_json(b"{}").and_then(ClientMetadata::into_registration),
            Ok(ClientRegistration { name: UNNAMED_CLIENT.into(), ..ClientRegistration::default() })
        );
    }

    #[test]
    fn members_map_onto_the_registration() {
        check(
            r#"{"client_name":"Billing","client_uri":"https://example.com","redirect_uris":["https://a.example.com/cb"],
                "grant_types":["authorization_code"],"response_types":["code"],"scope":"  openid  read ",
                "token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://a.example.com/jwks",
                "dpop_bound_access_tokens":true,"public":true,"may_introspect_any_token":true,"unknown":1}"#,
            expect![[
                r#"ClientRegistration { name: "Billing", org_url: Some("https://example.com"), redirect_uris: ["https://a.example.com/cb"], post_logout_redirect_uris: [], grant_types: ["authorization_code"], scopes: ["openid", "read"], default_scopes: None, resources: [], public: false, token_endpoint_auth_method: Some("private_key_jwt"), may_introspect_any_token: false, pkce_optional: false, access_token_lifetime: None, jwks: None, jwks_uri: Some("https://a.example.com/jwks"), allow_http_jwks_uri: false, dpop_bound_access_tokens: true, require_pushed_authorization_requests: false }"#
            ]],
        );
    }

    #[test]
    fn only_the_code_response_type() {
        check(
            r#"{"response_types":["code","token"]}"#,
            expect!["Err(invalid_client_metadata: response type `token` is not supported; supported: code)"],
        );
    }

    #[test]
    fn malformed_documents() {
        check(
            r#"{"redirect_uris":"https://a.example.com/cb"}"#,
            expect![
                "Err(invalid_client_metadata: the body is not valid client metadata: invalid type: string \"https://a.example.com/cb\", expected a sequence at line 1 column 43)"
            ],
        );
        check(
            "7",
            expect![
                "Err(invalid_client_metadata: the body is not valid client metadata: invalid type: integer `7`, expected struct ClientMetadata at line 1 column 1)"
            ],
        );
    }

    #[test]
    fn update_members_stay_out_of_the_registration() {
        let metadata =
            ClientMetadata::from_json(br#"{"client_id":"abc","client_secret":"s3cret"}"#).expect("valid");
        assert_eq!(
            (metadata.client_id.as_deref(), metadata.client_secret.as_deref()),
            (Some("abc"), Some("s3cret"))
        );
    }
}
