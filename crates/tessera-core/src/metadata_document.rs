//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
//! the way the Model Context Protocol registers clients): a client that is not
//! registered names itself by an https URL, and its metadata is the JSON
//! document at that URL.
//!
//! Two rules live here: which `client_id` is a Client Identifier URL
//! ([`ClientIdUrl`], §3), and what a fetched document must say to become a
//! [`Client`] ([`client_from_metadata_document`], §4, §4.1). Fetching, caching
//! and keeping a row for the client are the server's. The document's metadata
//! passes the same rules as any registration (`register_client`), plus the
//! draft's: no shared secret of any kind, so `none` (a public client, PKCE
//! required) or `private_key_jwt`.

use serde_json::{Map, Value};
use url::Url;

use crate::UnixTime;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::registration::{ClientRegistration, register_client};
use crate::scope::ScopeSet;

/// The draft's recommended largest document (§8.7), in bytes.
pub const MAX_DOCUMENT_SIZE: u64 = 5 * 1024;

/// A Client Identifier URL longer than this is refused.
pub const MAX_CLIENT_ID_URL_LENGTH: usize = 2048;

/// A `client_id` that is a Client Identifier URL (§3), kept exactly as the
/// client sent it: such identifiers compare as plain strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdUrl {
    raw: String,
    host: String,
}

/// What a metadata-document client may be.
#[derive(Debug, Clone, Copy)]
pub struct MetadataDocumentPolicy<'a> {
    /// The scopes such clients may be given (already within the scope registry).
    pub scopes: &'a ScopeSet,
    /// `http` Client Identifier URLs and `jwks_uri`s (tests, closed networks).
    pub allow_http: bool,
}

impl ClientIdUrl {
    /// Whether `client_id` means to be a Client Identifier URL, so that it is
    /// resolved (and judged by [`ClientIdUrl::parse`]) rather than looked up.
    /// Registered clients' ids are hexadecimal and never look like this.
    pub fn is_candidate(client_id: &str) -> bool {
        let lower = client_id.get(..8).unwrap_or(client_id).to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    }

    /// §3: an https URL (http only when allowed) with a host and a path, and
    /// no user information, fragment, or `.` / `..` path segments.
    pub fn parse(raw: &str, allow_http: bool) -> Result<ClientIdUrl, OAuthError> {
        let invalid = |why: &str| {
            ErrorCode::InvalidRequest
                .with(format!("`client_id` `{}` is not a valid Client Identifier URL: {why}", shown(raw)))
        };
        if raw.len() > MAX_CLIENT_ID_URL_LENGTH || raw.bytes().any(|byte| !(0x21..=0x7e).contains(&byte)) {
            return Err(invalid("it must be at most 2048 printable ASCII characters without spaces"));
        }
        let rest = match (raw.strip_prefix("https://"), raw.strip_prefix("http://")) {
            (Some(rest), _) => rest,
            (None, Some(rest)) if allow_http => rest,
            _ => return Err(invalid("it must use the https scheme")),
        };
        if raw.contains('#') {
            return Err(invalid("it must not have a fragment"));
        }
        let url = Url::parse(raw).map_err(|_| invalid("it is not a URL"))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if !url.username().is_empty() || url.password().is_some() || authority.contains('@') {
            return Err(invalid("it must not contain a user name or password"));
        }
        let Some(host) = url.host_str().filter(|host| !host.is_empty() && !authority.is_empty()) else {
            return Err(invalid("it must name a host"));
        };
        let path = rest.find(['/', '?']).map_or("", |start| &rest[start..]);
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(invalid("it must have a path, like https://app.example.com/client.json"));
        }
        if path.split('/').any(is_dot_segment) {
            return Err(invalid("it must not have `.` or `..` path segments"));
        }
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(ClientIdUrl { raw: raw.to_owned(), host })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The host (and port, if the URL names one): what the consent page shows,
    /// so that people know who they are authorizing (§8.5).
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// RFC 3986 §3.3: `.` and `..`, also percent-encoded (`%2e`), which
/// normalization would treat the same.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

/// A client-chosen value as it may appear in an error: escaped and short.
fn shown(value: &str) -> String {
    let escaped: String = value.escape_default().collect();
    match escaped.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &escaped[..end]),
        None => escaped,
    }
}

/// Builds the client that `document`, fetched from `client_id`, describes.
/// `unusable_secret` becomes a `private_key_jwt` client's secret hash (a
/// random value nobody knows: such a client never authenticates with a
/// secret). Every problem with the document is `invalid_client`, saying which
/// rule it broke.
pub fn client_from_metadata_document(
    client_id: &ClientIdUrl,
    document: &Value,
    policy: MetadataDocumentPolicy<'_>,
    unusable_secret: &str,
    now: UnixTime,
) -> Result<Client, OAuthError> {
    let refused =
        |why: String| ErrorCode::InvalidClient.with(format!("the client's metadata document {why}"));
    let Some(document) = document.as_object() else {
        return Err(refused("is not a JSON object".into()));
    };
    let fields = Fields { document, refused: &refused };
    match fields.text("client_id")? {
        Some(named) if named == client_id.as_str() => {}
        Some(named) => {
            return Err(refused(format!(
                "names the client_id `{}`, not the URL it was fetched from",
                shown(named)
            )));
        }
        None => return Err(refused("has no `client_id`".into())),
    }
    // §4.1: nothing can establish a shared secret.
    for secret in ["client_secret", "client_secret_expires_at"] {
        if document.contains_key(secret) {
            return Err(refused(format!(
                "has `{secret}`: a metadata document cannot establish a shared secret"
            )));
        }
    }
    let Some(name) = fields.text("client_name")? else {
        return Err(refused("has no `client_name`".into()));
    };
    let public = match fields.text("token_endpoint_auth_method")? {
        Some("none") => true,
        Some("private_key_jwt") => false,
        Some(secret @ ("client_secret_basic" | "client_secret_post" | "client_secret_jwt")) => {
            return Err(refused(format!(
                "uses token_endpoint_auth_method `{secret}`, which needs a shared secret; use `none` or \
                 `private_key_jwt`"
            )));
        }
        Some(other) => {
            return Err(refused(format!(
                "uses token_endpoint_auth_method `{}`; supported: none, private_key_jwt",
                shown(other)
            )));
        }
        None => {
            return Err(refused(
                "has no `token_endpoint_auth_method`; use `none` or `private_key_jwt`".into(),
            ));
        }
    };
    // RFC 7591 §2: without `grant_types`, the client uses the code grant.
    let grant_types = fields
        .texts("grant_types")?
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().to_owned()]);
    if grant_types.iter().any(|grant| grant == GrantType::TokenExchange.as_str()) {
        return Err(refused(
            "asks for the token-exchange grant, which clients known by a metadata document cannot use".into(),
        ));
    }
    if let Some(response_type) =
        fields.texts("response_types")?.unwrap_or_default().iter().find(|kind| *kind != "code")
    {
        return Err(refused(format!("asks for response type `{}`; supported: code", shown(response_type))));
    }
    // RFC 7591 §2: the server may narrow what a client asks for.
    let requested = match fields.text("scope")? {
        Some(raw) => ScopeSet::parse(raw)
            .map_err(|err| refused(format!("has an invalid `scope`: {}", err.description)))?,
        None => policy.scopes.clone(),
    };
    let scopes = requested.filtered(|scope| policy.scopes.contains(scope.as_str()));
    if scopes.is_empty() {
        return Err(refused(format!(
            "asks for no scope that clients known by a metadata document may have (they may have: {})",
            policy.scopes
        )));
    }
    let registration = ClientRegistration {
        name: name.to_owned(),
        // `client_uri` is not shown: the consent page shows the host of the
        // client_id, which the document cannot choose.
        org_url: None,
        redirect_uris: fields.texts("redirect_uris")?.unwrap_or_default(),
        post_logout_redirect_uris: fields.texts("post_logout_redirect_uris")?.unwrap_or_default(),
        grant_types,
        scopes: scopes.iter().map(ToString::to_string).collect(),
        default_scopes: None,
        public,
        token_endpoint_auth_method: Some(if public { "none" } else { "private_key_jwt" }.to_owned()),
        jwks: document.get("jwks").filter(|jwks| !jwks.is_null()).cloned(),
        jwks_uri: fields.text("jwks_uri")?.map(str::to_owned),
        allow_http_jwks_uri: policy.allow_http,
        dpop_bound_access_tokens: fields.flag("dpop_bound_access_tokens")?,
        require_pushed_authorization_requests: fields.flag("require_pushed_authorization_requests")?,
        ..ClientRegistration::default()
    };
    let client =
        register_client(registration, policy.scopes, client_id.as_str().to_owned(), unusable_secret, now)
            .map_err(|err| refused(format!("is not usable: {}", err.description)))?;
    Ok(client)
}

/// Typed reads of the document's members; a member of the wrong type is refused.
struct Fields<'a> {
    document: &'a Map<String, Value>,
    refused: &'a dyn Fn(String) -> OAuthError,
}

impl<'a> Fields<'a> {
    fn text(&self, name: &str) -> Result<Option<&'a str>, OAuthError> {
        match self.document.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err((self.refused)(format!("has a `{name}` that is not a string"))),
        }
    }

    fn texts(&self, name: &str) -> Result<Option<Vec<String>>, OAuthError> {
        match self.document.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .map(Some)
                .ok_or_else(|| (self.refused)(format!("has a `{name}` that is not an array of strings"))),
            Some(_) => Err((self.refused)(format!("has a `{name}` that is not an array of strings"))),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, OAuthError> {
        match self.document.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err((self.refused)(format!("has a `{name}` that is not a boolean"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use serde_json::json;

    use super::*;
    use crate::client_auth::AuthMethod;

    const URL: &str = "https://app.example.com/oauth/client.json";

    fn allowed() -> ScopeSet {
        ScopeSet::parse("openid profile offline_access").expect("scopes")
    }

    fn document() -> Value {
        json!({
            "client_id": URL,
            "client_name": "Example Agent",
            "client_uri": "https://app.example.com",
            "logo_uri": "https://app.example.com/logo.png",
            "redirect_uris": ["http://127.0.0.1:33418/callback", "https://app.example.com/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        })
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut document = document();
        if let Some(object) = document.as_object_mut() {
            change(object);
        }
        document
    }

    fn build(document: &Value) -> Result<Client, OAuthError> {
        let client_id = ClientIdUrl::parse(URL, false).expect("valid URL");
        let scopes = allowed();
        client_from_metadata_document(
            &client_id,
            document,
            MetadataDocumentPolicy { scopes: &scopes, allow_http: false },
            "unknown",
            7,
        )
    }

    #[track_caller]
    fn check(document: Value, expect: Expect) {
        let actual = match build(&document) {
            Ok(client) => format!(
                "{} public={} method={} grants={:?} scopes={} redirects={:?}",
                client.name,
                client.is_public(),
                client.auth_method.as_str(),
                client.grant_types,
                client.scopes,
                client.redirect_uris.iter().map(|uri| uri.as_str()).collect::<Vec<_>>()
            ),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn a_public_client_document() {
        check(
            document(),
            expect![[
                r#"Example Agent public=true method=none grants=[AuthorizationCode, RefreshToken] scopes=offline_access openid profile redirects=["http://127.0.0.1:33418/callback", "https://app.example.com/callback"]"#
            ]],
        );
        let client = build(&document()).expect("valid");
        assert_eq!(client.client_id, URL);
        assert!(client.require_pkce, "a public client always needs PKCE");
        assert_eq!(client.org_url, None);
        assert_eq!(client.created_at, 7);
        // Scopes are narrowed to what the server allows; no grant_types means the code grant.
        check(
            with(|d| {
                d.insert("scope".into(), json!("openid email admin"));
                d.remove("grant_types");
            }),
            expect![[
                r#"Example Agent public=true method=none grants=[AuthorizationCode] scopes=openid redirects=["http://127.0.0.1:33418/callback", "https://app.example.com/callback"]"#
            ]],
        );
    }

    #[test]
    fn a_private_key_jwt_document() {
        let keyed = with(|d| {
            d.insert("token_endpoint_auth_method".into(), json!("private_key_jwt"));
            d.insert("jwks_uri".into(), json!("https://app.example.com/jwks.json"));
        });
        let client = build(&keyed).expect("valid");
        assert_eq!((client.auth_method, client.is_public()), (AuthMethod::PrivateKeyJwt, false));
        assert_eq!(client.jwks_uri.as_deref(), Some("https://app.example.com/jwks.json"));
        assert!(client.secret_hash.is_some_and(|hash| hash.matches("unknown")));
        check(
            with(|d| drop(d.insert("token_endpoint_auth_method".into(), json!("private_key_jwt")))),
            expect![
                "Err(invalid_client: the client's metadata document is not usable: private_key_jwt needs the client's public keys in jwks or jwks_uri)"
            ],
        );
        check(
            with(|d| {
                d.insert("token_endpoint_auth_method".into(), json!("private_key_jwt"));
                d.insert(
                    "jwks".into(),
                    json!({"keys": [{"kty": "EC", "crv": "P-256", "d": "x", "x": "y", "y": "z"}]}),
                );
            }),
            expect![
                "Err(invalid_client: the client's metadata document is not usable: jwks key 0: private key member `d` is not allowed: register public keys only)"
            ],
        );
    }

    #[test]
    fn refusals() {
        let cases: Vec<(&str, Value)> = vec![
            ("not an object", json!(["client_id", URL])),
            ("no client_id", with(|d| drop(d.remove("client_id")))),
            (
                "another client_id",
                with(|d| drop(d.insert("client_id".into(), json!("https://evil.example.com/client.json")))),
            ),
            (
                "the URL with a default port",
                with(|d| {
                    drop(d.insert("client_id".into(), json!("https://app.example.com:443/oauth/client.json")))
                }),
            ),
            ("no name", with(|d| drop(d.remove("client_name")))),
            ("no method", with(|d| drop(d.remove("token_endpoint_auth_method")))),
            (
                "basic",
                with(|d| drop(d.insert("token_endpoint_auth_method".into(), json!("client_secret_basic")))),
            ),
            (
                "post",
                with(|d| drop(d.insert("token_endpoint_auth_method".into(), json!("client_secret_post")))),
            ),
            (
                "secret jwt",
                with(|d| drop(d.insert("token_endpoint_auth_method".into(), json!("client_secret_jwt")))),
            ),
            ("mtls", with(|d| drop(d.insert("token_endpoint_auth_method".into(), json!("tls_client_auth"))))),
            ("a secret", with(|d| drop(d.insert("client_secret".into(), json!("s3cr3t"))))),
            ("no redirect URIs", with(|d| drop(d.remove("redirect_uris")))),
            (
                "a fragment redirect",
                with(|d| drop(d.insert("redirect_uris".into(), json!(["https://app.example.com/cb#x"])))),
            ),
            ("redirects not strings", with(|d| drop(d.insert("redirect_uris".into(), json!([1]))))),
            ("implicit", with(|d| drop(d.insert("response_types".into(), json!(["token"]))))),
            (
                "client credentials when public",
                with(|d| drop(d.insert("grant_types".into(), json!(["client_credentials"])))),
            ),
            (
                "token exchange",
                with(|d| {
                    drop(d.insert(
                        "grant_types".into(),
                        json!(["urn:ietf:params:oauth:grant-type:token-exchange"]),
                    ))
                }),
            ),
            ("no allowed scope", with(|d| drop(d.insert("scope".into(), json!("admin"))))),
            ("a bad scope", with(|d| drop(d.insert("scope".into(), json!("a\"b"))))),
            ("a numeric name", with(|d| drop(d.insert("client_name".into(), json!(7))))),
            ("a string flag", with(|d| drop(d.insert("dpop_bound_access_tokens".into(), json!("yes"))))),
        ];
        let errors: Vec<String> = cases
            .into_iter()
            .map(|(case, document)| {
                let err = build(&document).expect_err(case);
                assert_eq!(err.code, ErrorCode::InvalidClient, "{case}");
                format!("{case}: {}", err.description)
            })
            .collect();
        expect![[r#"
            [
                "not an object: the client's metadata document is not a JSON object",
                "no client_id: the client's metadata document has no `client_id`",
                "another client_id: the client's metadata document names the client_id `https://evil.example.com/client.json`, not the URL it was fetched from",
                "the URL with a default port: the client's metadata document names the client_id `https://app.example.com:443/oauth/client.json`, not the URL it was fetched from",
                "no name: the client's metadata document has no `client_name`",
                "no method: the client's metadata document has no `token_endpoint_auth_method`; use `none` or `private_key_jwt`",
                "basic: the client's metadata document uses token_endpoint_auth_method `client_secret_basic`, which needs a shared secret; use `none` or `private_key_jwt`",
                "post: the client's metadata document uses token_endpoint_auth_method `client_secret_post`, which needs a shared secret; use `none` or `private_key_jwt`",
                "secret jwt: the client's metadata document uses token_endpoint_auth_method `client_secret_jwt`, which needs a shared secret; use `none` or `private_key_jwt`",
                "mtls: the client's metadata document uses token_endpoint_auth_method `tls_client_auth`; supported: none, private_key_jwt",
                "a secret: the client's metadata document has `client_secret`: a metadata document cannot establish a shared secret",
                "no redirect URIs: the client's metadata document is not usable: the authorization_code grant needs at least one redirect URI",
                "a fragment redirect: the client's metadata document is not usable: `https://app.example.com/cb#x` must not contain a fragment",
                "redirects not strings: the client's metadata document has a `redirect_uris` that is not an array of strings",
                "implicit: the client's metadata document asks for response type `token`; supported: code",
                "client credentials when public: the client's metadata document is not usable: public clients cannot use the client_credentials grant",
                "token exchange: the client's metadata document asks for the token-exchange grant, which clients known by a metadata document cannot use",
                "no allowed scope: the client's metadata document asks for no scope that clients known by a metadata document may have (they may have: offline_access openid profile)",
                "a bad scope: the client's metadata document has an invalid `scope`: `a\\\"b` is not a valid scope: use printable ASCII without spaces, `\"` or `\\`",
                "a numeric name: the client's metadata document has a `client_name` that is not a string",
                "a string flag: the client's metadata document has a `dpop_bound_access_tokens` that is not a boolean",
            ]
        "#]]
        .assert_debug_eq(&errors);
    }

    #[test]
    fn client_identifier_urls() {
        for valid in [
            URL,
            "https://app.example.com/",
            "https://app.example.com:8443/c?v=1",
            "https://[2001:db8::1]/client",
            "https://app.example.com/a.b/..c/%2ex",
        ] {
            assert!(ClientIdUrl::parse(valid, false).is_ok(), "{valid}");
        }
        assert_eq!(
            ClientIdUrl::parse("https://app.example.com:8443/c", false).expect("valid").host(),
            "app.example.com:8443"
        );
        assert_eq!(ClientIdUrl::parse(URL, false).expect("valid").host(), "app.example.com");
        assert!(ClientIdUrl::parse("http://127.0.0.1:9/c.json", true).is_ok(), "http when allowed");
        let errors: Vec<String> = [
            "http://app.example.com/client.json",
            "HTTPS://app.example.com/client.json",
            "https://app.example.com",
            "https://app.example.com?x=1",
            "https://app.example.com/client.json#main",
            "https://user@app.example.com/client.json",
            "https://user:pw@app.example.com/client.json",
            "https://app.example.com/a/../client.json",
            "https://app.example.com/./client.json",
            "https://app.example.com/a/%2E%2e/client.json",
            "https://app.example.com/client json",
            "https:///client.json",
        ]
        .iter()
        .map(|raw| ClientIdUrl::parse(raw, false).expect_err(raw).to_string())
        .collect();
        expect![[r#"
            [
                "invalid_request: `client_id` `http://app.example.com/client.json` is not a valid Client Identifier URL: it must use the https scheme",
                "invalid_request: `client_id` `HTTPS://app.example.com/client.json` is not a valid Client Identifier URL: it must use the https scheme",
                "invalid_request: `client_id` `https://app.example.com` is not a valid Client Identifier URL: it must have a path, like https://app.example.com/client.json",
                "invalid_request: `client_id` `https://app.example.com?x=1` is not a valid Client Identifier URL: it must have a path, like https://app.example.com/client.json",
                "invalid_request: `client_id` `https://app.example.com/client.json#main` is not a valid Client Identifier URL: it must not have a fragment",
                "invalid_request: `client_id` `https://user@app.example.com/client.json` is not a valid Client Identifier URL: it must not contain a user name or password",
                "invalid_request: `client_id` `https://user:pw@app.example.com/client.json` is not a valid Client Identifier URL: it must not contain a user name or password",
                "invalid_request: `client_id` `https://app.example.com/a/../client.json` is not a valid Client Identifier URL: it must not have `.` or `..` path segments",
                "invalid_request: `client_id` `https://app.example.com/./client.json` is not a valid Client Identifier URL: it must not have `.` or `..` path segments",
                "invalid_request: `client_id` `https://app.example.com/a/%2E%2e/client.json` is not a valid Client Identifier URL: it must not have `.` or `..` path segments",
                "invalid_request: `client_id` `https://app.example.com/client json` is not a valid Client Identifier URL: it must be at most 2048 printable ASCII characters without spaces",
                "invalid_request: `client_id` `https:///client.json` is not a valid Client Identifier URL: it must name a host",
            ]
        "#]]
        .assert_debug_eq(&errors);
        for candidate in [URL, "HTTP://x/y", "http://a"] {
            assert!(ClientIdUrl::is_candidate(candidate), "{candidate}");
        }
        for registered in ["0123456789abcdef0123456789abcdef", "https", "urn:x:https://a"] {
            assert!(!ClientIdUrl::is_candidate(registered), "{registered}");
        }
    }
}
