//! Client registration metadata (RFC 7591 §2) and the rules it must meet,
//! whoever registers the client: the CLI, the admin API or `/register`.

mod metadata;

use url::Url;

use crate::UnixTime;
use crate::client::{Client, GrantType};
use crate::client_assertion::JwkSet;
use crate::client_auth::AuthMethod;
use crate::error::{ErrorCode, OAuthError};
use crate::redirect_uri::RedirectUri;
use crate::resource::Resource;
use crate::scope::{Scope, ScopeSet};
use crate::secret::SecretHash;

pub use metadata::{ClientMetadata, UNNAMED_CLIENT};

const MAX_NAME_CHARS: usize = 200;

/// Metadata for a new client, as given by whoever registers it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientRegistration {
    pub name: String,
    pub org_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Empty means the defaults: `client_credentials` for confidential clients,
    /// plus `authorization_code` and `refresh_token` when redirect URIs are given.
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// `None` means every scope in `scopes`.
    pub default_scopes: Option<Vec<String>>,
    pub resources: Vec<String>,
    pub public: bool,
    /// RFC 7591 `token_endpoint_auth_method`; `none` makes the client public.
    pub token_endpoint_auth_method: Option<String>,
    /// Lets the client introspect every token (for resource servers); never
    /// granted through dynamic registration.
    pub may_introspect_any_token: bool,
    /// Lets a confidential client use the code flow without PKCE, for legacy
    /// integrations; public clients always need PKCE.
    pub pkce_optional: bool,
    /// Seconds, within [`ACCESS_TOKEN_LIFETIME_RANGE`]; `None` is the server's lifetime.
    pub access_token_lifetime: Option<u64>,
    /// RFC 7591 `jwks`: the client's public keys, as a JWK Set.
    pub jwks: Option<serde_json::Value>,
    /// RFC 7591 `jwks_uri`: where the client publishes them (https only).
    pub jwks_uri: Option<String>,
    /// Accept an `http` `jwks_uri`: the server's `[outbound] allow_http`, for
    /// tests and closed networks. Never read from the client's metadata.
    pub allow_http_jwks_uri: bool,
    /// RFC 9449 §5.2: token requests without a DPoP proof are refused.
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: authorization requests only through `/par`.
    pub require_pushed_authorization_requests: bool,
}

/// What a client's own access-token lifetime may be, in seconds. The upper
/// bound is the server's lifetime, applied when a token is issued.
pub const ACCESS_TOKEN_LIFETIME_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;

/// Validates `registration` and builds the client record. `client_secret` is a
/// freshly generated secret; only its hash is kept, and only for confidential clients.
pub fn register_client(
    registration: ClientRegistration,
    known_scopes: &ScopeSet,
    client_id: String,
    client_secret: &str,
    now: UnixTime,
) -> Result<Client, OAuthError> {
    let metadata = |why: String| ErrorCode::InvalidClientMetadata.with(why);
    let name = registration.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(metadata(format!("the client name must be 1 to {MAX_NAME_CHARS} printable characters")));
    }
    let org_url = registration.org_url.as_deref().map(parse_org_url).transpose()?;
    let auth_method = auth_method(&registration)?;
    let registration = ClientRegistration { public: auth_method == AuthMethod::None, ..registration };
    let (jwks, jwks_uri) = client_keys(&registration, auth_method)?;

    let mut redirect_uris: Vec<RedirectUri> = Vec::new();
    for raw in &registration.redirect_uris {
        let uri = RedirectUri::parse(raw)?;
        if !redirect_uris.contains(&uri) {
            redirect_uris.push(uri);
        }
    }

    let mut post_logout_redirect_uris: Vec<RedirectUri> = Vec::new();
    for raw in &registration.post_logout_redirect_uris {
        let uri = RedirectUri::parse(raw)?;
        if !post_logout_redirect_uris.contains(&uri) {
            post_logout_redirect_uris.push(uri);
        }
    }

    let grant_types = grant_types(&registration, !redirect_uris.is_empty())?;
    let has = |grant: GrantType| grant_types.contains(&grant);
    if has(GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(ErrorCode::InvalidRedirectUri
            .with("the authorization_code grant needs at least one redirect URI"));
    }
    if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
        return Err(metadata("the refresh_token grant needs the authorization_code grant".into()));
    }
    if registration.public && has(GrantType::ClientCredentials) {
        return Err(metadata("public clients cannot use the client_credentials grant".into()));
    }
    if registration.public && has(GrantType::TokenExchange) {
        return Err(metadata("public clients cannot use the token-exchange grant".into()));
    }
    if registration.public && registration.pkce_optional {
        return Err(metadata("public clients always need PKCE".into()));
    }
    if grant_types.is_empty() {
        return Err(metadata("a public client needs redirect URIs for the authorization_code grant".into()));
    }

    let scopes = registered_scopes(&registration.scopes, known_scopes)?;
    let default_scopes = match registration.default_scopes {
        Some(defaults) => {
            let defaults = registered_scopes(&defaults, known_scopes)?;
            if !defaults.is_subset_of(&scopes) {
                return Err(metadata("default scopes must be among the client's scopes".into()));
            }
            defaults
        }
        None => scopes.clone(),
    };

    let mut resources: Vec<Resource> = Vec::new();
    for raw in &registration.resources {
        let resource = Resource::parse(raw).map_err(|err| metadata(err.description))?;
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }

    if let Some(lifetime) = registration.access_token_lifetime
        && !ACCESS_TOKEN_LIFETIME_RANGE.contains(&lifetime)
    {
        return Err(metadata(format!(
            "access_token_lifetime must be {} to {} seconds",
            ACCESS_TOKEN_LIFETIME_RANGE.start(),
            ACCESS_TOKEN_LIFETIME_RANGE.end()
        )));
    }

    Ok(Client {
        client_id,
        name,
        org_url,
        secret_hash: (!registration.public).then(|| SecretHash::of(client_secret)),
        previous_secret: None,
        auth_method,
        disabled: false,
        may_introspect_any_token: registration.may_introspect_any_token,
        require_pkce: !registration.pkce_optional,
        registration_token_hash: None,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scopes,
        default_scopes,
        resources,
        access_token_lifetime: registration.access_token_lifetime,
        jwks,
        jwks_uri,
        dpop_bound_access_tokens: registration.dpop_bound_access_tokens,
        require_pushed_authorization_requests: registration.require_pushed_authorization_requests,
        owner: None,
        created_at: now,
    })
}

/// Applies new metadata to an existing client (RFC 7592 §2.2), keeping its id,
/// secrets, permissions and registration token. Switching between public and
/// confidential is refused: it would need a new secret or leave one dangling.
pub fn reregister_client(
    existing: &Client,
    registration: ClientRegistration,
    known_scopes: &ScopeSet,
) -> Result<Client, OAuthError> {
    let mut registration = ClientRegistration {
        may_introspect_any_token: existing.may_introspect_any_token,
        pkce_optional: !existing.require_pkce,
        ..registration
    };
    // An update that names no keys (the console, the admin API) keeps a
    // private_key_jwt client's keys and method.
    let keeps_method =
        registration.token_endpoint_auth_method.as_deref().is_none_or(|m| m == "private_key_jwt");
    if existing.auth_method == AuthMethod::PrivateKeyJwt
        && keeps_method
        && registration.jwks.is_none()
        && registration.jwks_uri.is_none()
    {
        registration.token_endpoint_auth_method = Some(AuthMethod::PrivateKeyJwt.as_str().to_owned());
        registration.jwks = existing.jwks.as_ref().and_then(|jwks| serde_json::from_str(jwks.as_json()).ok());
        registration.jwks_uri = existing.jwks_uri.clone();
        // Accepted when it was registered; the fetcher still applies today's settings.
        registration.allow_http_jwks_uri = true;
    }
    // The placeholder secret is discarded below: the client keeps its own.
    let updated =
        register_client(registration, known_scopes, existing.client_id.clone(), "", existing.created_at)?;
    if updated.is_public() != existing.is_public() {
        return Err(ErrorCode::InvalidClientMetadata
            .with("a client cannot switch between public and confidential; register a new one"));
    }
    Ok(Client {
        secret_hash: existing.secret_hash.clone(),
        previous_secret: existing.previous_secret.clone(),
        disabled: existing.disabled,
        registration_token_hash: existing.registration_token_hash.clone(),
        owner: existing.owner.clone(),
        // RFC 7592 metadata has no lifetime; an operator's choice stays.
        access_token_lifetime: updated.access_token_lifetime.or(existing.access_token_lifetime),
        ..updated
    })
}

fn auth_method(registration: &ClientRegistration) -> Result<AuthMethod, OAuthError> {
    let Some(raw) = &registration.token_endpoint_auth_method else {
        return Ok(if registration.public { AuthMethod::None } else { AuthMethod::ClientSecretBasic });
    };
    if raw == "client_secret_jwt" {
        // RFC 7523 §2.2 with HMAC needs the shared secret itself, and Tessera
        // keeps only a hash of each client secret.
        return Err(ErrorCode::InvalidClientMetadata.with(
            "token_endpoint_auth_method `client_secret_jwt` is not supported: client secrets are stored \
             only as hashes; use private_key_jwt",
        ));
    }
    let method = AuthMethod::parse(raw).ok_or_else(|| {
        ErrorCode::InvalidClientMetadata.with(format!(
            "unknown token_endpoint_auth_method `{raw}`; known: client_secret_basic, client_secret_post, \
             private_key_jwt, none"
        ))
    })?;
    if registration.public && method != AuthMethod::None {
        return Err(ErrorCode::InvalidClientMetadata
            .with("a public client authenticates with `none`, not a secret method"));
    }
    Ok(method)
}

/// RFC 7591 §2: `jwks` and `jwks_uri` are exclusive, and `private_key_jwt`
/// needs one of them. Inline keys must be public signing keys Tessera can use.
fn client_keys(
    registration: &ClientRegistration,
    auth_method: AuthMethod,
) -> Result<(Option<JwkSet>, Option<String>), OAuthError> {
    let metadata = |why: String| ErrorCode::InvalidClientMetadata.with(why);
    if registration.jwks.is_some() && registration.jwks_uri.is_some() {
        return Err(metadata("give either jwks or jwks_uri, not both".into()));
    }
    let jwks = registration.jwks.as_ref().map(JwkSet::parse).transpose().map_err(metadata)?;
    let jwks_uri = registration
        .jwks_uri
        .as_deref()
        .map(|raw| parse_jwks_uri(raw, registration.allow_http_jwks_uri))
        .transpose()?;
    if auth_method == AuthMethod::PrivateKeyJwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(metadata("private_key_jwt needs the client's public keys in jwks or jwks_uri".into()));
    }
    Ok((jwks, jwks_uri))
}

fn parse_jwks_uri(raw: &str, allow_http: bool) -> Result<String, OAuthError> {
    match Url::parse(raw) {
        Ok(url)
            if (url.scheme() == "https" || (allow_http && url.scheme() == "http"))
                && url.host().is_some()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
                && raw.len() <= 2048 =>
        {
            Ok(url.to_string())
        }
        _ => Err(ErrorCode::InvalidClientMetadata
            .with(format!("jwks_uri `{}` must be an absolute https URL", raw.escape_default()))),
    }
}

fn parse_org_url(raw: &str) -> Result<String, OAuthError> {
    match Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && !raw.chars().any(char::is_control) => {
            Ok(raw.to_owned())
        }
        _ => Err(ErrorCode::InvalidClientMetadata
            .with(format!("organisation URL `{}` must be an absolute http(s) URL", raw.escape_default()))),
    }
}

fn grant_types(registration: &ClientRegistration, has_redirects: bool) -> Result<Vec<GrantType>, OAuthError> {
    let mut grants: Vec<GrantType> = if registration.grant_types.is_empty() {
        let mut defaults = Vec::new();
        if !registration.public {
            defaults.push(GrantType::ClientCredentials);
        }
        if has_redirects {
            defaults.extend([GrantType::AuthorizationCode, GrantType::RefreshToken]);
        }
        defaults
    } else {
        registration
            .grant_types
            .iter()
            .map(|raw| {
                GrantType::parse(raw).ok_or_else(|| {
                    ErrorCode::InvalidClientMetadata.with(format!(
                        "unknown grant type `{raw}`; known: authorization_code, client_credentials, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange"
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    grants.sort();
    grants.dedup();
    Ok(grants)
}

fn registered_scopes(raw: &[String], known: &ScopeSet) -> Result<ScopeSet, OAuthError> {
    let scopes: ScopeSet = raw
        .iter()
        .map(|name| Scope::parse(name))
        .collect::<Result<_, _>>()
        .map_err(|err| ErrorCode::InvalidClientMetadata.with(err.description))?;
    let unknown: Vec<&str> = scopes.missing_from(known).map(Scope::as_str).collect();
    if !unknown.is_empty() {
        return Err(ErrorCode::InvalidClientMetadata
            .with(format!("unknown scope(s): {}; add them to the scope registry first", unknown.join(" "))));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn known() -> ScopeSet {
        ScopeSet::parse("contact.read contact.write openid").expect("scopes")
    }

    fn base() -> ClientRegistration {
        ClientRegistration {
            name: "Billing app".into(),
            scopes: vec!["contact.read".into()],
            ..ClientRegistration::default()
        }
    }

    #[track_caller]
    fn check(registration: ClientRegistration, expect: Expect) {
        let actual = match register_client(registration, &known(), "id-1".into(), "secret", 7) {
            Ok(client) => format!(
                "public={} grants={:?} scopes={} defaults={} redirects={:?}",
                client.is_public(),
                client.grant_types,
                client.scopes,
                client.default_scopes,
                client.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>()
            ),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn confidential_defaults() {
        check(
            base(),
            expect![
                "public=false grants=[ClientCredentials] scopes=contact.read defaults=contact.read redirects=[]"
            ],
        );
        check(
            ClientRegistration {
                redirect_uris: vec![
                    "https://a.example.com/cb".into(),
                    "https://a.example.com/cb".into(),
                    "https://b.example.com/cb".into(),
                ],
                ..base()
            },
            expect![[
                r#"public=false grants=[AuthorizationCode, ClientCredentials, RefreshToken] scopes=contact.read defaults=contact.read redirects=["https://a.example.com/cb", "https://b.example.com/cb"]"#
            ]],
        );
    }

    #[test]
    fn public_defaults_and_rules() {
        check(
            ClientRegistration { public: true, redirect_uris: vec!["com.example.app:/cb".into()], ..base() },
            expect![[
                r#"public=true grants=[AuthorizationCode, RefreshToken] scopes=contact.read defaults=contact.read redirects=["com.example.app:/cb"]"#
            ]],
        );
        check(
            ClientRegistration { public: true, ..base() },
            expect![
                "Err(invalid_client_metadata: a public client needs redirect URIs for the authorization_code grant)"
            ],
        );
        check(
            ClientRegistration { public: true, grant_types: vec!["client_credentials".into()], ..base() },
            expect!["Err(invalid_client_metadata: public clients cannot use the client_credentials grant)"],
        );
        check(
            ClientRegistration {
                public: true,
                grant_types: vec!["urn:ietf:params:oauth:grant-type:token-exchange".into()],
                ..base()
            },
            expect!["Err(invalid_client_metadata: public clients cannot use the token-exchange grant)"],
        );
    }

    #[test]
    fn metadata_errors() {
        check(
            ClientRegistration { name: "  ".into(), ..base() },
            expect!["Err(invalid_client_metadata: the client name must be 1 to 200 printable characters)"],
        );
        check(
            ClientRegistration { grant_types: vec!["password".into()], ..base() },
            expect![
                "Err(invalid_client_metadata: unknown grant type `password`; known: authorization_code, client_credentials, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange)"
            ],
        );
        check(
            ClientRegistration { grant_types: vec!["authorization_code".into()], ..base() },
            expect![
                "Err(invalid_redirect_uri: the authorization_code grant needs at least one redirect URI)"
            ],
        );
        check(
            ClientRegistration { scopes: vec!["staff.read".into()], ..base() },
            expect![
                "Err(invalid_client_metadata: unknown scope(s): staff.read; add them to the scope registry first)"
            ],
        );
        check(
            ClientRegistration { default_scopes: Some(vec!["contact.write".into()]), ..base() },
            expect!["Err(invalid_client_metadata: default scopes must be among the client's scopes)"],
        );
        check(
            ClientRegistration { org_url: Some("ftp://x".into()), ..base() },
            expect![
                "Err(invalid_client_metadata: organisation URL `ftp://x` must be an absolute http(s) URL)"
            ],
        );
        check(
            ClientRegistration { redirect_uris: vec!["javascript:alert(1)".into()], ..base() },
            expect!["Err(invalid_redirect_uri: `javascript:alert(1)` uses a scheme that is never allowed)"],
        );
        check(
            ClientRegistration { resources: vec!["api".into()], ..base() },
            expect!["Err(invalid_client_metadata: resource `api` is not an absolute URI)"],
        );
    }

    #[test]
    fn auth_methods() {
        check(
            ClientRegistration { token_endpoint_auth_method: Some("tls_client_auth".into()), ..base() },
            expect![
                "Err(invalid_client_metadata: unknown token_endpoint_auth_method `tls_client_auth`; known: client_secret_basic, client_secret_post, private_key_jwt, none)"
            ],
        );
        check(
            ClientRegistration { token_endpoint_auth_method: Some("client_secret_jwt".into()), ..base() },
            expect![
                "Err(invalid_client_metadata: token_endpoint_auth_method `client_secret_jwt` is not supported: client secrets are stored only as hashes; use private_key_jwt)"
            ],
        );
        check(
            ClientRegistration {
                token_endpoint_auth_method: Some("none".into()),
                redirect_uris: vec!["https://spa.example.com/cb".into()],
                ..base()
            },
            expect![[
                r#"public=true grants=[AuthorizationCode, RefreshToken] scopes=contact.read defaults=contact.read redirects=["https://spa.example.com/cb"]"#
            ]],
        );
        let post = register_client(
            ClientRegistration { token_endpoint_auth_method: Some("client_secret_post".into()), ..base() },
            &known(),
            "id".into(),
            "s",
            0,
        )
        .expect("valid");
        assert_eq!(post.auth_method, AuthMethod::ClientSecretPost);
    }

    #[test]
    fn reregistration_keeps_identity_and_secrets() {
        let mut existing = register_client(base(), &known(), "id".into(), "s", 7).expect("valid");
        existing.disabled = true;
        existing.may_introspect_any_token = true;
        let updated = reregister_client(
            &existing,
            ClientRegistration { name: "New name".into(), scopes: vec!["contact.write".into()], ..base() },
            &known(),
        )
        .expect("valid update");
        assert_eq!(updated.name, "New name");
        assert_eq!(updated.scopes.to_string(), "contact.write");
        assert_eq!(
            (
                updated.client_id.as_str(),
                updated.created_at,
                updated.disabled,
                updated.may_introspect_any_token
            ),
            ("id", 7, true, true)
        );
        assert!(updated.secret_hash.is_some_and(|hash| hash.matches("s")));

        let to_public = reregister_client(
            &existing,
            ClientRegistration {
                token_endpoint_auth_method: Some("none".into()),
                redirect_uris: vec!["https://a.example.com/cb".into()],
                ..base()
            },
            &known(),
        );
        assert_eq!(to_public.map_err(|e| e.code), Err(ErrorCode::InvalidClientMetadata));
    }

    fn p256_jwks(extra: &[(&str, &str)]) -> serde_json::Value {
        let mut key = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        });
        for (name, value) in extra {
            key[*name] = serde_json::json!(value);
        }
        serde_json::json!({ "keys": [key] })
    }

    #[test]
    fn private_key_jwt_needs_public_keys() {
        let pkjwt = |jwks: Option<serde_json::Value>, jwks_uri: Option<&str>| ClientRegistration {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks,
            jwks_uri: jwks_uri.map(str::to_owned),
            ..base()
        };
        let client =
            register_client(pkjwt(Some(p256_jwks(&[])), None), &known(), "id".into(), "s", 0).expect("valid");
        assert_eq!(client.auth_method, AuthMethod::PrivateKeyJwt);
        assert!(client.jwks.is_some_and(|jwks| jwks.contains_kid("k1")));
        let by_uri =
            register_client(pkjwt(None, Some("https://app.example.com/jwks")), &known(), "id".into(), "s", 0)
                .expect("valid");
        assert_eq!(by_uri.jwks_uri.as_deref(), Some("https://app.example.com/jwks"));

        check(
            pkjwt(None, None),
            expect![
                "Err(invalid_client_metadata: private_key_jwt needs the client's public keys in jwks or jwks_uri)"
            ],
        );
        check(
            pkjwt(Some(p256_jwks(&[("d", "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")])), None),
            expect![
                "Err(invalid_client_metadata: jwks key 0: private key member `d` is not allowed: register public keys only)"
            ],
        );
        check(
            pkjwt(Some(p256_jwks(&[])), Some("https://app.example.com/jwks")),
            expect!["Err(invalid_client_metadata: give either jwks or jwks_uri, not both)"],
        );
        check(
            pkjwt(None, Some("http://app.example.com/jwks")),
            expect![
                "Err(invalid_client_metadata: jwks_uri `http://app.example.com/jwks` must be an absolute https URL)"
            ],
        );
        let over_http = ClientRegistration {
            allow_http_jwks_uri: true,
            ..pkjwt(None, Some("http://app.example.com/jwks"))
        };
        let client =
            register_client(over_http, &known(), "id".into(), "s", 0).expect("http allowed by the server");
        assert_eq!(client.jwks_uri.as_deref(), Some("http://app.example.com/jwks"));
        let kept =
            reregister_client(&client, ClientRegistration { name: "Renamed".into(), ..base() }, &known())
                .expect("an update that names no keys keeps them");
        assert_eq!(kept.jwks_uri.as_deref(), Some("http://app.example.com/jwks"));
        for fragment in
            ["https://app.example.com/jwks#keys", "https://user@app.example.com/jwks", "jwks.json"]
        {
            let refused = register_client(pkjwt(None, Some(fragment)), &known(), "id".into(), "s", 0);
            assert_eq!(refused.map_err(|err| err.code), Err(ErrorCode::InvalidClientMetadata), "{fragment}");
        }
    }

    #[test]
    fn dpop_and_par_requirements_are_client_metadata() {
        let strict = ClientRegistration {
            dpop_bound_access_tokens: true,
            require_pushed_authorization_requests: true,
            ..base()
        };
        let client = register_client(strict.clone(), &known(), "id".into(), "s", 0).expect("valid");
        assert!(client.dpop_bound_access_tokens && client.require_pushed_authorization_requests);
        let relaxed = reregister_client(&client, base(), &known()).expect("valid update");
        assert!(!relaxed.dpop_bound_access_tokens && !relaxed.require_pushed_authorization_requests);
        let again = reregister_client(&relaxed, strict, &known()).expect("valid update");
        assert!(again.dpop_bound_access_tokens && again.require_pushed_authorization_requests);
    }

    #[test]
    fn only_confidential_clients_keep_a_secret_hash() {
        let client = register_client(base(), &known(), "id".into(), "s", 0).expect("valid");
        assert!(client.secret_hash.is_some_and(|hash| hash.matches("s")));
    }
}
