//! Resource indicators (RFC 8707): which API an access token is for, which
//! resources a request may name, and how a deployment wants the tokens of
//! each resource made.

use std::fmt;

use url::Url;

use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::jwt::Algorithm;
use crate::request::FormParams;

/// An absolute URI without a fragment naming a protected resource; it becomes
/// the token's `aud`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource(String);

impl Resource {
    pub fn parse(raw: &str) -> Result<Resource, OAuthError> {
        if raw.chars().any(char::is_control) {
            return Err(ErrorCode::InvalidTarget.with("a resource must not contain control characters"));
        }
        let url = Url::parse(raw)
            .map_err(|_| ErrorCode::InvalidTarget.with(format!("resource `{raw}` is not an absolute URI")))?;
        if url.fragment().is_some() {
            return Err(
                ErrorCode::InvalidTarget.with(format!("resource `{raw}` must not contain a fragment"))
            );
        }
        // Kept as sent: `aud` must compare equal to what the resource server expects.
        Ok(Resource(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a deployment wants the access tokens for one resource made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSettings {
    /// The `aud` of its tokens; `None`: the resource URI itself.
    pub audience: Option<String>,
    /// Seconds; `None`: the server's. Never longer than the server's, so the
    /// signing-key retention that covers the server's lifetime covers it too.
    pub access_token_lifetime: Option<u64>,
    /// What its tokens are signed with: the resource server must accept it.
    pub signing_alg: Algorithm,
}

impl Default for ResourceSettings {
    fn default() -> ResourceSettings {
        ResourceSettings {
            audience: None,
            access_token_lifetime: None,
            signing_alg: crate::token::DEFAULT_ACCESS_TOKEN_ALG,
        }
    }
}

/// The `resource` parameters of a request (RFC 8707 §2), in the order sent,
/// without repeats.
pub fn requested_resources(form: &FormParams) -> Result<Vec<Resource>, OAuthError> {
    let mut resources: Vec<Resource> = Vec::new();
    for raw in form.get_all("resource") {
        let resource = Resource::parse(raw)?;
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    Ok(resources)
}

/// RFC 8707 §2: a client names only the resources it is registered for. Checked
/// again whenever a grant is used, so that a resource taken from a client stops
/// reaching its tokens, refresh families included.
pub fn ensure_registered(client: &Client, resources: &[Resource]) -> Result<(), OAuthError> {
    match resources.iter().find(|resource| !client.resources.contains(resource)) {
        Some(foreign) => Err(ErrorCode::InvalidTarget
            .with(format!("the client is not registered for the resource `{foreign}`"))),
        None => Ok(()),
    }
}

/// RFC 8707 §2.2: at the token endpoint `resource` chooses among what the
/// grant (a code or a refresh token family) was given, never beyond it. None
/// requested: everything granted.
pub fn narrow_resources(granted: &[Resource], requested: Vec<Resource>) -> Result<Vec<Resource>, OAuthError> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    match requested.iter().find(|resource| !granted.contains(resource)) {
        Some(beyond) => Err(ErrorCode::InvalidTarget.with(format!(
            "the resource `{beyond}` was not granted; ask for it at the authorization endpoint"
        ))),
        None => Ok(requested),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn resources(raw: &[&str]) -> Vec<Resource> {
        raw.iter().map(|raw| Resource::parse(raw).expect("resource")).collect()
    }

    fn show(outcome: Result<Vec<Resource>, OAuthError>) -> String {
        match outcome {
            Ok(resources) => {
                format!("Ok {}", resources.iter().map(Resource::as_str).collect::<Vec<_>>().join(" "))
            }
            Err(err) => format!("Err({err})"),
        }
    }

    #[track_caller]
    fn check_requested(body: &str, expect: Expect) {
        let outcome = FormParams::parse(body.as_bytes()).and_then(|form| requested_resources(&form));
        expect.assert_eq(&show(outcome));
    }

    #[track_caller]
    fn check_narrowed(granted: &[&str], requested: &[&str], expect: Expect) {
        expect.assert_eq(&show(narrow_resources(&resources(granted), resources(requested))));
    }

    #[test]
    fn requested_resources_are_parsed_once_each() {
        check_requested(
            "resource=https://a.example.com&resource=urn:b&resource=https://a.example.com",
            expect!["Ok https://a.example.com urn:b"],
        );
        check_requested("scope=x", expect!["Ok "]);
        check_requested(
            "resource=https://a.example.com&resource=https://b.example.com/%23x",
            expect!["Err(invalid_target: resource `https://b.example.com/#x` must not contain a fragment)"],
        );
    }

    #[test]
    fn a_token_request_narrows_the_granted_resources_never_widens_them() {
        let granted = ["https://a.example.com", "https://b.example.com"];
        check_narrowed(&granted, &[], expect!["Ok https://a.example.com https://b.example.com"]);
        check_narrowed(&granted, &["https://b.example.com"], expect!["Ok https://b.example.com"]);
        check_narrowed(
            &granted,
            &["https://b.example.com", "https://c.example.com"],
            expect![
                "Err(invalid_target: the resource `https://c.example.com` was not granted; ask for it at the authorization endpoint)"
            ],
        );
        check_narrowed(
            &[],
            &["https://a.example.com"],
            expect![
                "Err(invalid_target: the resource `https://a.example.com` was not granted; ask for it at the authorization endpoint)"
            ],
        );
        check_narrowed(&[], &[], expect!["Ok "]);
    }

    #[test]
    fn only_registered_resources_may_be_named() {
        let client =
            Client { resources: resources(&["https://a.example.com"]), ..crate::fixtures::client("app") };
        assert!(ensure_registered(&client, &resources(&["https://a.example.com"])).is_ok());
        assert!(ensure_registered(&client, &[]).is_ok());
        let err = ensure_registered(&client, &resources(&["https://a.example.com", "https://b.example.com"]))
            .expect_err("unregistered");
        assert_eq!(
            err.to_string(),
            "invalid_target: the client is not registered for the resource `https://b.example.com`"
        );
    }

    #[test]
    fn accepts_absolute_uris_only() {
        assert!(Resource::parse("https://api.example.com/v1").is_ok());
        assert!(Resource::parse("urn:example:api").is_ok());
        let relative = Resource::parse("/v1").expect_err("relative");
        assert_eq!(relative.code, ErrorCode::InvalidTarget);
        let fragment = Resource::parse("https://api.example.com/#x").expect_err("fragment");
        assert_eq!(fragment.code, ErrorCode::InvalidTarget);
    }
}
