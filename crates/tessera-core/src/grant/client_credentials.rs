//! The client credentials grant (RFC 6749 §4.4): a confidential client gets a
//! token for itself, limited to the scopes and resources it was registered for.

use crate::UnixTime;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::policy::TokenPolicy;
use crate::request::FormParams;
use crate::resource::Resource;
use crate::scope::{Scope, ScopeSet};
use crate::token::{AccessTokenGrant, client_resources, token_settings};

/// `grant_type=client_credentials` with its optional `scope` and `resource`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentialsRequest {
    /// `None` when the request omitted `scope`: the client's defaults apply.
    pub scope: Option<ScopeSet>,
    pub resources: Vec<Resource>,
}

impl ClientCredentialsRequest {
    pub fn parse(form: &FormParams) -> Result<ClientCredentialsRequest, OAuthError> {
        let scope = form.get("scope").map(ScopeSet::parse).transpose()?;
        Ok(ClientCredentialsRequest { scope, resources: parse_resources(form)? })
    }
}

/// RFC 8707 `resource` (repeatable), or the widespread single `audience` alias.
pub(crate) fn parse_resources(form: &FormParams) -> Result<Vec<Resource>, OAuthError> {
    let resources: Vec<Resource> = form.get_all("resource").map(Resource::parse).collect::<Result<_, _>>()?;
    match form.get("audience") {
        Some(_) if !resources.is_empty() => {
            Err(ErrorCode::InvalidRequest.with("send either `resource` or `audience`, not both"))
        }
        Some(audience) => Ok(vec![Resource::parse(audience)?]),
        None => Ok(resources),
    }
}

/// Decides the token a client gets for itself.
pub fn grant_client_credentials(
    policy: &TokenPolicy,
    client: &Client,
    request: ClientCredentialsRequest,
    now: UnixTime,
    token_id: String,
) -> Result<AccessTokenGrant, OAuthError> {
    client.ensure_grant_type(GrantType::ClientCredentials)?;
    if client.is_public() {
        return Err(
            ErrorCode::UnauthorizedClient.with("public clients cannot use the client_credentials grant")
        );
    }
    let scope = match request.scope {
        Some(requested) => {
            if let Some(user_only) = requested.iter().find(|scope| scope.is_user_only()) {
                return Err(ErrorCode::InvalidScope.with(format!(
                    "`{user_only}` needs a user and cannot be granted to a client acting for itself"
                )));
            }
            requested.ensure_within(&client.scopes)?;
            requested
        }
        None => client.default_scopes.filtered(|scope: &Scope| !scope.is_user_only()),
    };
    let resources = client_resources(client, request.resources)?;
    let settings = token_settings(policy, client, &resources)?;
    Ok(AccessTokenGrant::new(policy, client, client.client_id.clone(), settings, scope, now, token_id))
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::fixtures::policy;

    fn client() -> Client {
        Client {
            scopes: ScopeSet::parse("contact.read contact.write openid").expect("scopes"),
            default_scopes: ScopeSet::parse("contact.read openid").expect("scopes"),
            resources: vec![
                Resource::parse("https://api.example.com").expect("resource"),
                Resource::parse("https://files.example.com").expect("resource"),
            ],
            ..crate::fixtures::client("app")
        }
    }

    #[track_caller]
    fn check_with(client: &Client, body: &str, expect: Expect) {
        let outcome = FormParams::parse(body.as_bytes())
            .and_then(|form| ClientCredentialsRequest::parse(&form))
            .and_then(|request| {
                grant_client_credentials(&policy(), client, request, 1_700_000_000, "jti-1".into())
            });
        let actual = match outcome {
            Ok(grant) => format!(
                "expires_in={} scope={:?}\n{}",
                grant.expires_in,
                grant.scope.to_string(),
                serde_json::to_string_pretty(&grant.claims).expect("json")
            ),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[track_caller]
    fn check(body: &str, expect: Expect) {
        check_with(&client(), body, expect);
    }

    #[test]
    fn requested_scope_within_grant() {
        check(
            "scope=contact.write&resource=https://api.example.com",
            expect![[r#"
                expires_in=3600 scope="contact.write"
                {
                  "iss": "https://auth.example.com",
                  "sub": "app",
                  "aud": "https://api.example.com",
                  "client_id": "app",
                  "scope": "contact.write",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700003600,
                  "jti": "jti-1"
                }"#]],
        );
    }

    #[test]
    fn omitted_scope_gives_defaults_without_user_scopes_and_every_resource() {
        check(
            "",
            expect![[r#"
                expires_in=3600 scope="contact.read"
                {
                  "iss": "https://auth.example.com",
                  "sub": "app",
                  "aud": [
                    "https://api.example.com",
                    "https://files.example.com"
                  ],
                  "client_id": "app",
                  "scope": "contact.read",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700003600,
                  "jti": "jti-1"
                }"#]],
        );
    }

    #[test]
    fn scope_beyond_grant_is_invalid_scope() {
        check(
            "scope=contact.read+staff.read",
            expect!["Err(invalid_scope: the client was not granted the scope(s): staff.read)"],
        );
    }

    #[test]
    fn user_scopes_are_refused() {
        check(
            "scope=openid",
            expect![
                "Err(invalid_scope: `openid` needs a user and cannot be granted to a client acting for itself)"
            ],
        );
    }

    #[test]
    fn malformed_scope_is_invalid_scope() {
        check(
            "scope=contact.read+%22x%22",
            expect![[
                r#"Err(invalid_scope: `\"x\"` is not a valid scope: use printable ASCII without spaces, `"` or `\`)"#
            ]],
        );
    }

    #[test]
    fn resources_must_be_registered() {
        check(
            "resource=https://evil.example.com",
            expect![
                "Err(invalid_target: the client is not registered for the resource `https://evil.example.com`)"
            ],
        );
        check(
            "resource=not-a-uri",
            expect!["Err(invalid_target: resource `not-a-uri` is not an absolute URI)"],
        );
        check(
            "audience=https://files.example.com&resource=https://api.example.com",
            expect!["Err(invalid_request: send either `resource` or `audience`, not both)"],
        );
    }

    #[test]
    fn client_without_resources_gets_the_default_audience() {
        let mut client = client();
        client.resources.clear();
        check_with(
            &client,
            "scope=contact.read",
            expect![[r#"
                expires_in=3600 scope="contact.read"
                {
                  "iss": "https://auth.example.com",
                  "sub": "app",
                  "aud": "https://auth.example.com",
                  "client_id": "app",
                  "scope": "contact.read",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700003600,
                  "jti": "jti-1"
                }"#]],
        );
    }

    #[test]
    fn grant_type_must_be_registered() {
        let mut client = client();
        client.grant_types = vec![GrantType::AuthorizationCode];
        check_with(
            &client,
            "",
            expect![
                "Err(unauthorized_client: the client is not allowed to use the `client_credentials` grant)"
            ],
        );
    }

    #[test]
    fn public_clients_are_refused() {
        let mut client = client();
        client.secret_hash = None;
        check_with(
            &client,
            "",
            expect!["Err(unauthorized_client: public clients cannot use the client_credentials grant)"],
        );
    }
}
