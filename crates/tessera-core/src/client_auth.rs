//! Client authentication at the token endpoint (RFC 6749 §2.3, OAuth 2.1 §2.4):
//! which credentials a request presents, and whether they prove the client.
//!
//! Exactly one method per request: `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` (a signed assertion, see [`crate::client_assertion`]), or
//! `none` for public clients. Every failure to prove the client is the same
//! `invalid_client`, so a caller learns nothing about which part was wrong.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::UnixTime;
use crate::client::Client;
use crate::client_assertion::{
    AssertionContext, JWT_BEARER_ASSERTION_TYPE, JwkSet, SignatureVerifier, VerifiedAssertion,
    claimed_client_id, verify_assertion,
};
use crate::error::{ErrorCode, OAuthError};
use crate::request::FormParams;

/// How a request authenticated its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// OpenID Connect Core §9 / RFC 7523 §2.2: a JWT signed with the client's key.
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn parse(raw: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|method| method.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
}

/// The credentials a request carries, not yet checked against any client.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedCredentials {
    pub client_id: String,
    secret: Option<String>,
    /// The `client_assertion` of `private_key_jwt`, not yet verified.
    assertion: Option<String>,
    pub method: AuthMethod,
}

impl std::fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedCredentials")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// RFC 6749 Appendix A.1: `client-id = *VSCHAR` (printable ASCII). Anything
/// else cannot name a client, and is never sent on to the store.
pub fn is_valid_client_id(client_id: &str) -> bool {
    !client_id.is_empty() && client_id.bytes().all(|byte| (0x20..=0x7e).contains(&byte))
}

/// Reads the client's credentials from the `Authorization` header value and the form.
pub fn presented_credentials(
    authorization: Option<&str>,
    form: &FormParams,
) -> Result<PresentedCredentials, OAuthError> {
    let presented = presented_credentials_unchecked(authorization, form)?;
    if !is_valid_client_id(&presented.client_id) {
        return Err(client_authentication_failed());
    }
    Ok(presented)
}

fn presented_credentials_unchecked(
    authorization: Option<&str>,
    form: &FormParams,
) -> Result<PresentedCredentials, OAuthError> {
    if form.contains("client_assertion_type") || form.contains("client_assertion") {
        return presented_assertion(authorization, form);
    }
    if let Some(header) = authorization {
        let (client_id, secret) = parse_basic(header)?;
        if form.contains("client_secret") {
            return Err(ErrorCode::InvalidRequest
                .with("the client authenticated with both HTTP Basic and `client_secret`: use one method"));
        }
        if form.get("client_id").is_some_and(|id| id != client_id) {
            return Err(ErrorCode::InvalidRequest
                .with("`client_id` in the body differs from the one in the Authorization header"));
        }
        return Ok(PresentedCredentials {
            client_id,
            secret: Some(secret),
            assertion: None,
            method: AuthMethod::ClientSecretBasic,
        });
    }
    let Some(client_id) = form.get("client_id") else {
        return Err(ErrorCode::InvalidClient.with("client authentication is required"));
    };
    let secret = form.get("client_secret").map(str::to_owned);
    let method = match secret {
        Some(_) => AuthMethod::ClientSecretPost,
        None => AuthMethod::None,
    };
    Ok(PresentedCredentials { client_id: client_id.to_owned(), secret, assertion: None, method })
}

/// RFC 7521 §4.2: `client_assertion_type` and `client_assertion`, alone. The
/// client is the assertion's `sub` (checked with `iss` once verified), and a
/// `client_id` in the body must name the same client.
fn presented_assertion(
    authorization: Option<&str>,
    form: &FormParams,
) -> Result<PresentedCredentials, OAuthError> {
    if authorization.is_some() || form.contains("client_secret") {
        return Err(ErrorCode::InvalidRequest
            .with("the client authenticated with both a client assertion and a secret: use one method"));
    }
    if form.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION_TYPE) {
        return Err(ErrorCode::InvalidClient
            .with(format!("`client_assertion_type` must be `{JWT_BEARER_ASSERTION_TYPE}`")));
    }
    let Some(assertion) = form.get("client_assertion") else {
        return Err(ErrorCode::InvalidClient.with("`client_assertion` is missing"));
    };
    let Some(client_id) = claimed_client_id(assertion) else {
        return Err(client_authentication_failed());
    };
    if form.get("client_id").is_some_and(|id| id != client_id) {
        return Err(client_authentication_failed());
    }
    Ok(PresentedCredentials {
        client_id,
        secret: None,
        assertion: Some(assertion.to_owned()),
        method: AuthMethod::PrivateKeyJwt,
    })
}

impl PresentedCredentials {
    /// The unverified `client_assertion`, when the method is `private_key_jwt`.
    pub fn assertion(&self) -> Option<&str> {
        self.assertion.as_deref()
    }
}

/// Checks presented credentials against the registered client at `now`.
///
/// A confidential client may use either secret method whatever it registered:
/// both carry the same secret over TLS, and OAuth 2.1 leaves the choice to the client.
/// A `private_key_jwt` client never authenticates with a secret, and an
/// assertion is never proven here: see [`authenticate_assertion`].
pub fn authenticate(
    client: &Client,
    presented: &PresentedCredentials,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if client.auth_method == AuthMethod::PrivateKeyJwt || presented.method == AuthMethod::PrivateKeyJwt {
        return Err(client_authentication_failed());
    }
    let proven = match (&client.secret_hash, &presented.secret) {
        (Some(hash), Some(secret)) => {
            // Both comparisons always run, so timing does not tell which secret matched.
            let current = hash.matches(secret);
            let previous = client
                .previous_secret
                .as_ref()
                .is_some_and(|previous| previous.hash.matches(secret) && now < previous.expires_at);
            current | previous
        }
        (None, None) => true,
        _ => false,
    };
    if proven && !client.disabled {
        return Ok(());
    }
    Err(client_authentication_failed())
}

/// Checks a `private_key_jwt` assertion against `keys`, the client's public
/// keys (registered inline, or fetched from its `jwks_uri`). On success the
/// caller must still record the returned `jti` once, until its `expires_at`.
pub fn authenticate_assertion(
    client: &Client,
    presented: &PresentedCredentials,
    keys: &JwkSet,
    context: AssertionContext<'_>,
    verifier: &dyn SignatureVerifier,
) -> Result<VerifiedAssertion, OAuthError> {
    let (AuthMethod::PrivateKeyJwt, Some(assertion)) = (client.auth_method, presented.assertion()) else {
        return Err(client_authentication_failed());
    };
    if client.disabled || client.client_id != presented.client_id {
        return Err(client_authentication_failed());
    }
    verify_assertion(assertion, &client.client_id, keys, context, verifier)
}

/// The one error for every failed client authentication.
pub fn client_authentication_failed() -> OAuthError {
    ErrorCode::InvalidClient.with("client authentication failed")
}

/// RFC 6749 §2.3.1: Basic credentials are the form-encoded id and secret,
/// joined by `:` and Base64-encoded.
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let malformed = || ErrorCode::InvalidClient.with("malformed HTTP Basic credentials");
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ErrorCode::InvalidClient.with(format!(
            "unsupported authentication scheme `{scheme}`: use Basic or client_secret in the body"
        )));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id);
    let secret = form_decode(secret);
    if id.is_empty() || secret.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

fn form_decode(component: &str) -> String {
    form_urlencoded::parse(format!("v={component}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::fixtures;
    use crate::secret::SecretHash;

    fn client(secret: Option<&str>) -> Client {
        Client { secret_hash: secret.map(SecretHash::of), ..fixtures::client("app") }
    }

    #[track_caller]
    fn check(authorization: Option<&str>, body: &str, expect: Expect) {
        let form = FormParams::parse(body.as_bytes()).expect("form");
        let actual = match presented_credentials(authorization, &form) {
            Ok(presented) => {
                format!("{} {} secret={:?}", presented.method.as_str(), presented.client_id, presented.secret)
            }
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn methods() {
        check(
            Some(&basic("app", "s")),
            "grant_type=client_credentials",
            expect![[r#"client_secret_basic app secret=Some("s")"#]],
        );
        check(None, "client_id=app&client_secret=s", expect![[r#"client_secret_post app secret=Some("s")"#]]);
        check(None, "client_id=app", expect!["none app secret=None"]);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        check(
            Some(&basic("my%20app", "a%3Ab+c")),
            "",
            expect![[r#"client_secret_basic my app secret=Some("a:b c")"#]],
        );
    }

    #[test]
    fn both_methods_at_once_are_refused() {
        check(
            Some(&basic("app", "s")),
            "client_secret=s",
            expect![
                "Err(invalid_request: the client authenticated with both HTTP Basic and `client_secret`: use one method)"
            ],
        );
        check(
            Some(&basic("app", "s")),
            "client_id=other",
            expect![
                "Err(invalid_request: `client_id` in the body differs from the one in the Authorization header)"
            ],
        );
    }

    #[test]
    fn malformed_basic_headers() {
        for header in [
            "Basic".to_owned(),
            "Basic !!!notbase64".to_owned(),
            format!("Basic {}", STANDARD.encode("nocolon")),
            basic("", "s"),
        ] {
            check(Some(&header), "", expect!["Err(invalid_client: malformed HTTP Basic credentials)"]);
        }
        check(
            Some("Bearer abc"),
            "",
            expect![
                "Err(invalid_client: unsupported authentication scheme `Bearer`: use Basic or client_secret in the body)"
            ],
        );
    }

    #[test]
    fn client_ids_outside_vschar_are_refused() {
        check(
            None,
            "client_id=a%00b&client_secret=s",
            expect!["Err(invalid_client: client authentication failed)"],
        );
        check(None, "client_id=caf%C3%A9", expect!["Err(invalid_client: client authentication failed)"]);
        check(Some(&basic("a%0Ab", "s")), "", expect!["Err(invalid_client: client authentication failed)"]);
    }

    fn assertion_for(sub: &str) -> String {
        let part = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        format!(
            "{}.{}.c2ln",
            part(r#"{"alg":"ES256"}"#),
            part(&format!(r#"{{"iss":"{sub}","sub":"{sub}"}}"#))
        )
    }

    #[test]
    fn client_assertions() {
        let jwt = assertion_for("app");
        let typ = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
        check(
            None,
            &format!("client_assertion_type={typ}&client_assertion={jwt}"),
            expect!["private_key_jwt app secret=None"],
        );
        check(
            None,
            &format!("client_id=app&client_assertion_type={typ}&client_assertion={jwt}"),
            expect!["private_key_jwt app secret=None"],
        );
        check(
            None,
            &format!("client_id=other&client_assertion_type={typ}&client_assertion={jwt}"),
            expect!["Err(invalid_client: client authentication failed)"],
        );
        check(
            None,
            &format!("client_assertion_type=saml&client_assertion={jwt}"),
            expect![
                "Err(invalid_client: `client_assertion_type` must be `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`)"
            ],
        );
        check(
            None,
            &format!("client_assertion_type={typ}"),
            expect!["Err(invalid_client: `client_assertion` is missing)"],
        );
        check(
            None,
            &format!("client_assertion_type={typ}&client_assertion=garbage"),
            expect!["Err(invalid_client: client authentication failed)"],
        );
        check(
            Some(&basic("app", "s")),
            &format!("client_assertion_type={typ}&client_assertion={jwt}"),
            expect![
                "Err(invalid_request: the client authenticated with both a client assertion and a secret: use one method)"
            ],
        );
        check(
            None,
            &format!("client_secret=s&client_assertion_type={typ}&client_assertion={jwt}"),
            expect![
                "Err(invalid_request: the client authenticated with both a client assertion and a secret: use one method)"
            ],
        );
        check(
            None,
            &format!("client_assertion_type={typ}&client_assertion={}", assertion_for("a\\u0000b")),
            expect!["Err(invalid_client: client authentication failed)"],
        );
    }

    #[test]
    fn secrets_and_assertions_do_not_mix() {
        let key_client = Client { auth_method: AuthMethod::PrivateKeyJwt, ..client(Some("right")) };
        let err = authenticate(&key_client, &presented(Some("right")), 0).expect_err("secret refused");
        assert_eq!(err, client_authentication_failed());
    }

    #[test]
    fn no_credentials_at_all() {
        check(
            None,
            "grant_type=client_credentials",
            expect!["Err(invalid_client: client authentication is required)"],
        );
    }

    fn presented(secret: Option<&str>) -> PresentedCredentials {
        PresentedCredentials {
            client_id: "app".into(),
            secret: secret.map(str::to_owned),
            assertion: None,
            method: if secret.is_some() { AuthMethod::ClientSecretPost } else { AuthMethod::None },
        }
    }

    #[test]
    fn authentication_outcomes() {
        assert!(authenticate(&client(Some("right")), &presented(Some("right")), 0).is_ok());
        assert!(authenticate(&client(None), &presented(None), 0).is_ok());
        for (registered, sent) in
            [(Some("right"), Some("wrong")), (Some("right"), None), (None, Some("anything"))]
        {
            let err = authenticate(&client(registered), &presented(sent), 0).expect_err("must fail");
            assert_eq!(err, client_authentication_failed());
        }
    }

    #[test]
    fn rotated_secret_works_until_its_grace_period_ends() {
        let mut rotated = client(Some("new"));
        rotated.previous_secret =
            Some(crate::client::PreviousSecret { hash: SecretHash::of("old"), expires_at: 100 });
        assert!(authenticate(&rotated, &presented(Some("new")), 99).is_ok());
        assert!(authenticate(&rotated, &presented(Some("old")), 99).is_ok());
        assert!(authenticate(&rotated, &presented(Some("old")), 100).is_err());
        assert!(authenticate(&rotated, &presented(Some("new")), 100).is_ok());
    }

    #[test]
    fn disabled_clients_cannot_authenticate() {
        let mut disabled = client(Some("right"));
        disabled.disabled = true;
        let err = authenticate(&disabled, &presented(Some("right")), 0).expect_err("disabled");
        assert_eq!(err, client_authentication_failed());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", presented(Some("hunter2")));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
