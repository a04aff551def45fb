//! Claims of the tokens Tessera signs, and the choice of their audience.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::jwt::Algorithm;
use crate::policy::TokenPolicy;
use crate::resource::{Resource, ResourceSettings, ensure_registered};
use crate::scope::ScopeSet;

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// What access tokens are signed with unless a resource's settings say otherwise.
pub const DEFAULT_ACCESS_TOKEN_ALG: Algorithm = Algorithm::Es256;

/// An access token's claims, per the JWT profile of RFC 9068 §2.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    /// Space-delimited (RFC 9068 §2.2.3); read from an array too, the form the
    /// `myp` dialect signs.
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "space_delimited")]
    pub scope: String,
    pub iat: UnixTime,
    pub nbf: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    /// RFC 9449 §6.1: the DPoP key the token is bound to; absent for a Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// RFC 8693 §4.1: the acting party of a delegated token; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
}

/// The `act` claim (RFC 8693 §4.1): who acts for the subject, and for whom
/// that actor was itself acting (the nested `act`, most recent actor outermost).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

/// The `cnf` claim (RFC 7800) of a DPoP-bound token (RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638) of the client's DPoP key.
    pub jkt: String,
}

/// A scope claim as a string, or as an array of scopes joined with spaces.
pub fn space_delimited<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ScopeClaim {
        Delimited(String),
        List(Vec<String>),
    }
    Ok(match ScopeClaim::deserialize(deserializer)? {
        ScopeClaim::Delimited(scope) => scope,
        ScopeClaim::List(scopes) => scopes.join(" "),
    })
}

/// `aud`: a string when there is one audience, an array when there are several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn from_resources(resources: Vec<String>) -> Audience {
        match <[String; 1]>::try_from(resources) {
            Ok([one]) => Audience::One(one),
            Err(many) => Audience::Many(many),
        }
    }
}

/// A decision to issue an access token, ready to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenGrant {
    pub claims: AccessTokenClaims,
    pub scope: ScopeSet,
    pub expires_in: u64,
    /// The key the server signs it with: its resources' choice.
    pub algorithm: Algorithm,
}

impl AccessTokenGrant {
    /// Builds the claims of a token for `subject`, issued to `client` at `now`,
    /// made as `settings` (see [`token_settings`]) say.
    pub fn new(
        policy: &TokenPolicy,
        client: &Client,
        subject: String,
        settings: TokenSettings,
        scope: ScopeSet,
        now: UnixTime,
        token_id: String,
    ) -> AccessTokenGrant {
        let TokenSettings { audience, lifetime, algorithm } = settings;
        let claims = AccessTokenClaims {
            iss: policy.issuer.clone(),
            sub: subject,
            aud: audience,
            client_id: client.client_id.clone(),
            scope: scope.to_string(),
            iat: now,
            nbf: now,
            exp: now + lifetime,
            jti: token_id,
            cnf: None,
            act: None,
        };
        AccessTokenGrant { claims, scope, expires_in: lifetime, algorithm }
    }
}

/// How an access token for a set of resources is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub audience: Audience,
    /// Seconds.
    pub lifetime: u64,
    pub algorithm: Algorithm,
}

/// The one decision of how a token to `resources` (already allowed to the
/// client) is made, whatever the grant:
///
/// - `aud`: each resource's configured audience (by default its URI), without
///   repeats; no resource at all: the deployment's default audience.
/// - lifetime: the shortest of the server's, the client's and each resource's,
///   so that no resource gets a token that lives longer than it allows.
/// - algorithm: the resources' common one. One JWS has one signature, so
///   resources that want different algorithms cannot share a token: that is
///   `invalid_target` (RFC 8707 §2), and the client asks for one token per
///   resource instead.
pub fn token_settings(
    policy: &TokenPolicy,
    client: &Client,
    resources: &[Resource],
) -> Result<TokenSettings, OAuthError> {
    let mut lifetime = client.access_token_lifetime(policy.access_token_lifetime);
    let Some(first) = resources.first() else {
        let audience = Audience::One(policy.default_audience.clone());
        return Ok(TokenSettings { audience, lifetime, algorithm: DEFAULT_ACCESS_TOKEN_ALG });
    };
    let unconfigured = ResourceSettings::default();
    let settings_of = |resource: &Resource| policy.resources.get(resource).unwrap_or(&unconfigured);
    let algorithm = settings_of(first).signing_alg;
    let mut audiences: Vec<String> = Vec::with_capacity(resources.len());
    for resource in resources {
        let settings = settings_of(resource);
        if settings.signing_alg != algorithm {
            return Err(ErrorCode::InvalidTarget.with(format!(
                "the resources `{first}` ({}) and `{resource}` ({}) take tokens signed with different algorithms; ask for a token for each",
                algorithm.as_str(),
                settings.signing_alg.as_str()
            )));
        }
        if let Some(own) = settings.access_token_lifetime {
            lifetime = lifetime.min(own);
        }
        let audience = settings.audience.as_deref().unwrap_or(resource.as_str());
        if !audiences.iter().any(|seen| seen == audience) {
            audiences.push(audience.to_owned());
        }
    }
    Ok(TokenSettings { audience: Audience::from_resources(audiences), lifetime, algorithm })
}

/// The resources of a token a client asks for in its own name (client
/// credentials, token exchange): those requested, which it must be registered
/// for (RFC 8707 §2); none requested: every resource it is registered for.
pub fn client_resources(client: &Client, requested: Vec<Resource>) -> Result<Vec<Resource>, OAuthError> {
    if requested.is_empty() {
        return Ok(client.resources.clone());
    }
    ensure_registered(client, &requested)?;
    Ok(requested)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::fixtures::{client, policy};

    const API: &str = "https://api.example.com";
    const FILES: &str = "https://files.example.com";
    const LEDGER: &str = "https://ledger.example.com";
    const REPORTS: &str = "urn:example:reports";

    /// Files: 10 minutes, its own audience name. Ledger: RS256 for 5 minutes.
    /// Reports: the same audience name as files. The API is not configured.
    fn configured_policy() -> TokenPolicy {
        let mut policy = policy();
        let settings = [
            (
                FILES,
                ResourceSettings {
                    audience: Some("files".into()),
                    access_token_lifetime: Some(600),
                    ..ResourceSettings::default()
                },
            ),
            (
                LEDGER,
                ResourceSettings {
                    access_token_lifetime: Some(300),
                    signing_alg: Algorithm::Rs256,
                    ..ResourceSettings::default()
                },
            ),
            (REPORTS, ResourceSettings { audience: Some("files".into()), ..ResourceSettings::default() }),
        ];
        for (uri, resource_settings) in settings {
            policy.resources.insert(Resource::parse(uri).expect("resource"), resource_settings);
        }
        policy
    }

    #[track_caller]
    fn check_with(client: &Client, resources: &[&str], expect: Expect) {
        let resources: Vec<Resource> =
            resources.iter().map(|raw| Resource::parse(raw).expect("resource")).collect();
        let actual = match token_settings(&configured_policy(), client, &resources) {
            Ok(TokenSettings { audience, lifetime, algorithm }) => format!(
                "aud={} lifetime={lifetime} alg={}",
                serde_json::to_string(&audience).expect("json"),
                algorithm.as_str()
            ),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[track_caller]
    fn check(resources: &[&str], expect: Expect) {
        check_with(&client("app"), resources, expect);
    }

    #[test]
    fn no_resource_gets_the_default_audience_and_the_server_lifetime() {
        check(&[], expect![[r#"aud="https://auth.example.com" lifetime=3600 alg=ES256"#]]);
    }

    #[test]
    fn an_unconfigured_resource_is_its_own_audience() {
        check(&[API], expect![[r#"aud="https://api.example.com" lifetime=3600 alg=ES256"#]]);
    }

    #[test]
    fn a_configured_resource_sets_audience_lifetime_and_algorithm() {
        check(&[FILES], expect![[r#"aud="files" lifetime=600 alg=ES256"#]]);
        check(&[LEDGER], expect![[r#"aud="https://ledger.example.com" lifetime=300 alg=RS256"#]]);
    }

    #[test]
    fn several_resources_share_the_shortest_lifetime_and_name_each_audience_once() {
        check(&[API, FILES], expect![[r#"aud=["https://api.example.com","files"] lifetime=600 alg=ES256"#]]);
        check(&[FILES, REPORTS], expect![[r#"aud="files" lifetime=600 alg=ES256"#]]);
    }

    #[test]
    fn resources_with_different_algorithms_cannot_share_a_token() {
        check(
            &[API, LEDGER],
            expect![
                "Err(invalid_target: the resources `https://api.example.com` (ES256) and `https://ledger.example.com` (RS256) take tokens signed with different algorithms; ask for a token for each)"
            ],
        );
    }

    #[test]
    fn the_shorter_of_the_clients_and_the_resources_lifetime_wins() {
        let brief = Client { access_token_lifetime: Some(60), ..client("app") };
        check_with(&brief, &[FILES], expect![[r#"aud="files" lifetime=60 alg=ES256"#]]);
        let longer = Client { access_token_lifetime: Some(1800), ..client("app") };
        check_with(&longer, &[FILES], expect![[r#"aud="files" lifetime=600 alg=ES256"#]]);
        check_with(&longer, &[API], expect![[r#"aud="https://api.example.com" lifetime=1800 alg=ES256"#]]);
    }

    #[test]
    fn scope_claims_read_as_a_string_or_an_array() {
        let base = r#""iss":"i","sub":"s","aud":"a","client_id":"c","iat":1,"nbf":1,"exp":2,"jti":"j""#;
        for scope in [r#""a b""#, r#"["a","b"]"#] {
            let claims: AccessTokenClaims =
                serde_json::from_str(&format!("{{{base},\"scope\":{scope}}}")).expect("claims");
            assert_eq!(claims.scope, "a b", "{scope}");
        }
        let without: AccessTokenClaims = serde_json::from_str(&format!("{{{base}}}")).expect("claims");
        assert_eq!(without.scope, "");
    }
}
