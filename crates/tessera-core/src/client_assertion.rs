//! JWT client assertions: `private_key_jwt` (OpenID Connect Core §9, RFC 7523
//! §2.2, RFC 7521 §4.2), and the clients' public keys they are checked against.
//!
//! The rules live here: which keys a client may register (public keys only),
//! which algorithms are accepted (ES256, RS256, PS256; never `none` or HMAC),
//! which key a header selects, and what the claims must say. The signature
//! check itself is behind [`SignatureVerifier`], implemented where the crypto
//! library is. One-time use of `jti` needs the store: the caller records the
//! [`VerifiedAssertion`]'s `jti` until its `expires_at`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::OAuthError;
use crate::UnixTime;
use crate::client_auth::client_authentication_failed;
use crate::jwt;

/// RFC 7523 §2.2: the one `client_assertion_type` Tessera knows.
pub const JWT_BEARER_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An assertion may not expire later than this many seconds from now: a
/// short-lived proof limits what a leaked one is worth, and how long its `jti`
/// must be remembered.
pub const MAX_ASSERTION_LIFETIME: u64 = 300;

/// Tolerated difference between the client's clock and ours, in seconds.
pub const CLOCK_SKEW: u64 = 30;

/// At most this many keys in a client's JWK Set.
pub const MAX_KEYS: usize = 16;

/// At most this many keys in a set published at a `jwks_uri`, usable or not.
pub const MAX_PUBLISHED_KEYS: usize = 64;

const MAX_JTI_CHARS: usize = 256;

/// The algorithms a client may sign its assertions with, and its keys.
pub use crate::public_key::{PublicKey, SignatureAlgorithm as AssertionAlgorithm, SignatureVerifier};

/// One public key of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: Option<String>,
    /// The one algorithm this key may be used with, if the JWK names one.
    pub alg: Option<AssertionAlgorithm>,
    pub key: PublicKey,
}

/// A client's JWK Set (RFC 7517 §5), public keys only, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<PublicJwk>,
    /// The set as JSON, for storage and for the registration read-back.
    json: String,
}

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2,
/// §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl JwkSet {
    /// Parses and checks a JWK Set: an object with `keys`, each an EC P-256 or
    /// RSA (2048 bits or more) public key for signing. Private key material is
    /// refused, as are keys Tessera could not use.
    pub fn parse(json: &Value) -> Result<JwkSet, String> {
        let Some(keys) = json.as_object().and_then(|set| set.get("keys")).and_then(Value::as_array) else {
            return Err("jwks must be a JWK Set: an object with a `keys` array".into());
        };
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(format!("jwks must hold 1 to {MAX_KEYS} keys"));
        }
        let mut parsed = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let jwk = parse_jwk(key).map_err(|why| format!("jwks key {index}: {why}"))?;
            if jwk.kid.is_some() && parsed.iter().any(|other: &PublicJwk| other.kid == jwk.kid) {
                return Err(format!("jwks key {index}: `kid` is not unique"));
            }
            parsed.push(jwk);
        }
        Ok(JwkSet { keys: parsed, json: json.to_string() })
    }

    /// Parses a set a client publishes at its `jwks_uri`. Unlike a registered
    /// set, it may hold keys for other purposes (encryption, other curves):
    /// RFC 7517 §5 says to ignore what is not understood, so only the usable
    /// signing keys are kept, and at least one must be. Private key material
    /// anywhere refuses the whole set: it was published by mistake.
    pub fn parse_published(json: &Value) -> Result<JwkSet, String> {
        let Some(keys) = json.as_object().and_then(|set| set.get("keys")).and_then(Value::as_array) else {
            return Err("the key set is not a JWK Set: an object with a `keys` array".into());
        };
        if keys.len() > MAX_PUBLISHED_KEYS {
            return Err(format!("the key set holds more than {MAX_PUBLISHED_KEYS} keys"));
        }
        let mut usable: Vec<PublicJwk> = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            if let Some(member) = key
                .as_object()
                .and_then(|key| PRIVATE_MEMBERS.iter().find(|member| key.contains_key(**member)))
            {
                return Err(format!(
                    "key {index} has the private key member `{member}`: publish public keys only"
                ));
            }
            let Ok(jwk) = parse_jwk(key) else { continue };
            if jwk.kid.is_some() && usable.iter().any(|other| other.kid == jwk.kid) {
                return Err(format!("key {index}: `kid` is not unique among the signing keys"));
            }
            usable.push(jwk);
        }
        if usable.is_empty() {
            return Err(
                "the key set has no usable signing key (EC P-256, or RSA of 2048 bits or more)".into()
            );
        }
        if usable.len() > MAX_KEYS {
            return Err(format!("the key set holds more than {MAX_KEYS} signing keys"));
        }
        Ok(JwkSet { keys: usable, json: json.to_string() })
    }

    /// Parses a stored set (JSON text).
    pub fn parse_str(json: &str) -> Result<JwkSet, String> {
        let value: Value = serde_json::from_str(json).map_err(|err| format!("jwks is not JSON: {err}"))?;
        JwkSet::parse(&value)
    }

    pub fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }

    pub fn as_json(&self) -> &str {
        &self.json
    }

    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid.as_deref() == Some(kid))
    }

    /// The keys a header with `alg` and `kid` may have been signed with: the
    /// one named by `kid`, or, without one, every key that fits `alg`.
    fn candidates(&self, alg: AssertionAlgorithm, kid: Option<&str>) -> impl Iterator<Item = &PublicJwk> {
        self.keys.iter().filter(move |jwk| {
            kid.is_none_or(|kid| jwk.kid.as_deref() == Some(kid))
                && alg.fits(&jwk.key)
                && jwk.alg.is_none_or(|own| own == alg)
        })
    }
}

fn parse_jwk(value: &Value) -> Result<PublicJwk, String> {
    let Some(object) = value.as_object() else { return Err("not a JSON object".into()) };
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|member| object.contains_key(**member)) {
        return Err(format!("private key member `{member}` is not allowed: register public keys only"));
    }
    let text = |name: &str| -> Result<Option<&str>, String> {
        match object.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(format!("`{name}` must be a string")),
        }
    };
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let raw = text(name)?.ok_or_else(|| format!("`{name}` is missing"))?;
        URL_SAFE_NO_PAD.decode(raw).map_err(|_| format!("`{name}` is not base64url"))
    };
    if text("use")?.is_some_and(|usage| usage != "sig") {
        return Err("`use` must be `sig`".into());
    }
    if let Some(Value::Array(ops)) = object.get("key_ops")
        && !ops.iter().any(|op| op.as_str() == Some("verify"))
    {
        return Err("`key_ops` must allow `verify`".into());
    }
    let kid = text("kid")?.map(str::to_owned);
    let alg = match text("alg")? {
        None => None,
        Some(raw) => Some(AssertionAlgorithm::parse(raw).ok_or_else(|| {
            format!("`alg` `{}` is not supported; supported: ES256, RS256, PS256", raw.escape_default())
        })?),
    };
    let key = match text("kty")? {
        Some("EC") => {
            if text("crv")? != Some("P-256") {
                return Err("only the P-256 curve is supported".into());
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes".into());
            }
            PublicKey::P256 { x, y }
        }
        Some("RSA") => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            let bits = n.iter().skip_while(|byte| **byte == 0).count() * 8;
            if !(2048..=8192).contains(&bits) || e.is_empty() || e.len() > 8 {
                return Err("RSA keys must have a 2048 to 8192 bit modulus".into());
            }
            PublicKey::Rsa { n, e }
        }
        _ => return Err("`kty` must be `EC` or `RSA`".into()),
    };
    let jwk = PublicJwk { kid, alg, key };
    if jwk.alg.is_some_and(|alg| !alg.fits(&jwk.key)) {
        return Err("`alg` does not fit the key type".into());
    }
    Ok(jwk)
}

/// The identifiers the assertion's `aud` may name: the issuer and the
/// server's endpoint URLs (RFC 7523 §3 allows the token endpoint; OIDC Core
/// §9 asks for it; the issuer is what newer drafts require).
#[derive(Debug, Clone, Copy)]
pub struct AssertionContext<'a> {
    pub audiences: &'a [&'a str],
    pub now: UnixTime,
}

/// What must be remembered so the assertion is used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    /// Until when the `jti` must be remembered: past it, the assertion is refused anyway.
    pub expires_at: UnixTime,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Value>,
    exp: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
    jti: Option<String>,
}

/// The client an assertion claims to come from (`sub`), read before anything
/// is verified: it only says which client's keys to try.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    let parts = jwt::split(assertion)?;
    let claims: AssertionClaims = serde_json::from_slice(&parts.payload).ok()?;
    claims.sub
}

/// The `kid` an assertion's header names, read before anything is verified:
/// an unknown one is the sign that a client's published keys rotated.
pub fn assertion_key_id(assertion: &str) -> Option<String> {
    jwt::split(assertion)?.header.kid
}

/// Checks a `private_key_jwt` assertion for `client_id` against `keys`. Every
/// failure is the same `invalid_client`.
pub fn verify_assertion(
    assertion: &str,
    client_id: &str,
    keys: &JwkSet,
    context: AssertionContext<'_>,
    verifier: &dyn SignatureVerifier,
) -> Result<VerifiedAssertion, OAuthError> {
    verify(assertion, client_id, keys, context, verifier).ok_or_else(client_authentication_failed)
}

fn verify(
    assertion: &str,
    client_id: &str,
    keys: &JwkSet,
    context: AssertionContext<'_>,
    verifier: &dyn SignatureVerifier,
) -> Option<VerifiedAssertion> {
    let parts = jwt::split(assertion)?;
    // `none`, HMAC and anything unknown end here.
    let alg = AssertionAlgorithm::parse(&parts.header.alg)?;
    let signed = keys
        .candidates(alg, parts.header.kid.as_deref())
        .any(|jwk| verifier.verify(alg, &jwk.key, parts.signing_input.as_bytes(), &parts.signature));
    if !signed {
        return None;
    }
    let claims: AssertionClaims = serde_json::from_slice(&parts.payload).ok()?;
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return None;
    }
    let audience_ok = match claims.aud? {
        Value::String(aud) => context.audiences.contains(&aud.as_str()),
        Value::Array(auds) => {
            auds.iter().any(|aud| aud.as_str().is_some_and(|aud| context.audiences.contains(&aud)))
        }
        _ => false,
    };
    if !audience_ok {
        return None;
    }
    let now = context.now;
    let exp = numeric_date(&claims.exp?)?;
    if exp.saturating_add(CLOCK_SKEW) <= now || exp > now.saturating_add(MAX_ASSERTION_LIFETIME) {
        return None;
    }
    for not_future in [claims.iat, claims.nbf].into_iter().flatten() {
        if numeric_date(&not_future)? > now.saturating_add(CLOCK_SKEW) {
            return None;
        }
    }
    let jti = claims.jti?;
    if jti.is_empty() || jti.chars().count() > MAX_JTI_CHARS {
        return None;
    }
    Some(VerifiedAssertion { jti, expires_at: exp.saturating_add(CLOCK_SKEW) })
}

/// RFC 7519 §2 NumericDate: a non-negative number of seconds, fractions allowed
/// (and dropped). Strings and other types are refused.
fn numeric_date(value: &Value) -> Option<UnixTime> {
    let number = value.as_number()?;
    if let Some(seconds) = number.as_u64() {
        return Some(seconds);
    }
    let seconds = number.as_f64()?;
    if !seconds.is_finite() || seconds < 0.0 || seconds > u64::MAX as f64 {
        return None;
    }
    Some(seconds as u64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: UnixTime = 1_000_000;
    const AUDS: [&str; 2] = ["https://auth.example.com", "https://auth.example.com/token"];

    fn p256(kid: &str) -> Value {
        json!({"kty": "EC", "crv": "P-256", "kid": kid,
               "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])})
    }

    fn rsa(kid: &str) -> Value {
        let mut n = vec![0xc5u8; 256];
        n[255] = 1;
        json!({"kty": "RSA", "kid": kid, "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"})
    }

    fn set(keys: Vec<Value>) -> Result<JwkSet, String> {
        JwkSet::parse(&json!({ "keys": keys }))
    }

    /// "Signatures" are the key's first coordinate byte followed by the message length.
    struct FakeVerifier;

    impl SignatureVerifier for FakeVerifier {
        fn verify(&self, _: AssertionAlgorithm, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
            signature == fake_signature(key, message)
        }
    }

    fn fake_signature(key: &PublicKey, message: &[u8]) -> Vec<u8> {
        let first = match key {
            PublicKey::P256 { x, .. } => x[0],
            PublicKey::Rsa { n, .. } => n[0],
        };
        let mut signature = vec![first];
        signature.extend_from_slice(&message.len().to_be_bytes());
        signature
    }

    fn assertion(header: Value, claims: Value, key: &PublicKey) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(fake_signature(key, input.as_bytes()));
        format!("{input}.{signature}")
    }

    fn claims() -> Value {
        json!({"iss": "app", "sub": "app", "aud": "https://auth.example.com/token",
               "exp": NOW + 60, "iat": NOW, "jti": "j1"})
    }

    fn ec_key() -> PublicKey {
        PublicKey::P256 { x: vec![1; 32], y: vec![2; 32] }
    }

    fn check(header: Value, claims: Value) -> Result<VerifiedAssertion, OAuthError> {
        let keys = set(vec![p256("k1"), rsa("r1")]).expect("valid set");
        let token = assertion(header, claims, &ec_key());
        verify_assertion(&token, "app", &keys, AssertionContext { audiences: &AUDS, now: NOW }, &FakeVerifier)
    }

    fn with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut claims = claims();
        if let Some(object) = claims.as_object_mut() {
            change(object);
        }
        claims
    }

    #[test]
    fn a_valid_assertion_passes() {
        let verified = check(json!({"alg": "ES256", "kid": "k1"}), claims()).expect("valid");
        assert_eq!(verified, VerifiedAssertion { jti: "j1".into(), expires_at: NOW + 60 + CLOCK_SKEW });
        // Without a kid, every key fitting the algorithm is tried.
        check(json!({"alg": "ES256"}), claims()).expect("valid without kid");
        // The issuer as audience, inside an array.
        check(json!({"alg": "ES256"}), with(|c| drop(c.insert("aud".into(), json!(["x", AUDS[0]])))))
            .expect("issuer audience");
    }

    #[test]
    fn every_failure_is_the_same_invalid_client() {
        let ok = json!({"alg": "ES256", "kid": "k1"});
        let cases: Vec<(&str, Value, Value)> = vec![
            ("alg none", json!({"alg": "none"}), claims()),
            ("hmac", json!({"alg": "HS256", "kid": "k1"}), claims()),
            ("alg of the other key type", json!({"alg": "RS256", "kid": "k1"}), claims()),
            ("unknown kid", json!({"alg": "ES256", "kid": "k9"}), claims()),
            ("wrong iss", ok.clone(), with(|c| drop(c.insert("iss".into(), json!("other"))))),
            ("wrong sub", ok.clone(), with(|c| drop(c.insert("sub".into(), json!("other"))))),
            ("no aud", ok.clone(), with(|c| drop(c.remove("aud")))),
            ("foreign aud", ok.clone(), with(|c| drop(c.insert("aud".into(), json!("https://evil"))))),
            ("no exp", ok.clone(), with(|c| drop(c.remove("exp")))),
            ("expired", ok.clone(), with(|c| drop(c.insert("exp".into(), json!(NOW - CLOCK_SKEW))))),
            ("too long", ok.clone(), with(|c| drop(c.insert("exp".into(), json!(NOW + 301))))),
            ("exp as string", ok.clone(), with(|c| drop(c.insert("exp".into(), json!("9999999999"))))),
            ("iat ahead", ok.clone(), with(|c| drop(c.insert("iat".into(), json!(NOW + 31))))),
            ("nbf ahead", ok.clone(), with(|c| drop(c.insert("nbf".into(), json!(NOW + 31))))),
            ("no jti", ok.clone(), with(|c| drop(c.remove("jti")))),
            ("empty jti", ok.clone(), with(|c| drop(c.insert("jti".into(), json!(""))))),
        ];
        for (name, header, claims) in cases {
            let err = check(header, claims).expect_err(name);
            assert_eq!(err, client_authentication_failed(), "{name}");
        }
    }

    #[test]
    fn a_bad_signature_fails() {
        let keys = set(vec![p256("k1")]).expect("valid set");
        let other = PublicKey::P256 { x: vec![9; 32], y: vec![2; 32] };
        let token = assertion(json!({"alg": "ES256", "kid": "k1"}), claims(), &other);
        let context = AssertionContext { audiences: &AUDS, now: NOW };
        assert!(verify_assertion(&token, "app", &keys, context, &FakeVerifier).is_err());
        assert!(verify_assertion("not.a.jwt", "app", &keys, context, &FakeVerifier).is_err());
    }

    #[test]
    fn tolerances() {
        let ok = json!({"alg": "ES256"});
        check(ok.clone(), with(|c| drop(c.insert("exp".into(), json!(NOW - CLOCK_SKEW + 1))))).expect("skew");
        check(ok.clone(), with(|c| drop(c.insert("exp".into(), json!(NOW + 300))))).expect("5 minutes");
        check(ok.clone(), with(|c| drop(c.insert("iat".into(), json!(NOW + 30))))).expect("iat skew");
        check(ok.clone(), with(|c| drop(c.insert("exp".into(), json!((NOW + 60) as f64 + 0.5)))))
            .expect("fractional exp");
        check(ok, with(|c| drop(c.remove("iat")))).expect("iat optional");
    }

    #[test]
    fn claimed_client_id_reads_sub_unverified() {
        let token = assertion(json!({"alg": "ES256"}), claims(), &ec_key());
        assert_eq!(claimed_client_id(&token).as_deref(), Some("app"));
        assert_eq!(claimed_client_id("garbage"), None);
        assert_eq!(assertion_key_id(&token), None);
        let with_kid = assertion(json!({"alg": "ES256", "kid": "k7"}), claims(), &ec_key());
        assert_eq!(assertion_key_id(&with_kid).as_deref(), Some("k7"));
    }

    #[test]
    fn published_sets_keep_the_usable_signing_keys() {
        let mut enc = rsa("enc-1");
        enc["use"] = json!("enc");
        let mut p384 = p256("p384");
        p384["crv"] = json!("P-384");
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let published =
            JwkSet::parse_published(&json!({"keys": [enc, p384.clone(), okp, p256("k1"), rsa("r1")]}))
                .expect("usable keys remain");
        let kids: Vec<Option<&str>> = published.keys().iter().map(|key| key.kid.as_deref()).collect();
        assert_eq!(kids, [Some("k1"), Some("r1")]);

        let mut private = p256("k2");
        private["d"] = json!("AAAA");
        let errors: Vec<String> = [
            json!({"keys": [p256("k1"), private]}),
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
            json!({"keys": [p384]}),
            json!({"keys": [p256("same"), p256("same")]}),
            json!([p256("k1")]),
        ]
        .iter()
        .map(|set| JwkSet::parse_published(set).expect_err("refused"))
        .collect();
        expect_test::expect![[r#"
            [
                "key 1 has the private key member `d`: publish public keys only",
                "key 0 has the private key member `k`: publish public keys only",
                "the key set has no usable signing key (EC P-256, or RSA of 2048 bits or more)",
                "key 1: `kid` is not unique among the signing keys",
                "the key set is not a JWK Set: an object with a `keys` array",
            ]
        "#]]
        .assert_debug_eq(&errors);
    }

    #[test]
    fn jwk_sets_accept_public_keys_only() {
        let parsed = set(vec![p256("k1"), rsa("r1")]).expect("valid");
        assert_eq!(parsed.keys().len(), 2);
        assert!(parsed.contains_kid("r1"));
        assert_eq!(JwkSet::parse_str(parsed.as_json()).expect("round trip"), parsed);

        let mut private = p256("k1");
        private["d"] = json!("AAAA");
        let mut symmetric = json!({"kty": "oct", "k": "c2VjcmV0"});
        let mut enc = p256("k1");
        enc["use"] = json!("enc");
        let mut hmac_alg = p256("k1");
        hmac_alg["alg"] = json!("HS256");
        let mut wrong_alg = p256("k1");
        wrong_alg["alg"] = json!("RS256");
        let mut p384 = p256("k1");
        p384["crv"] = json!("P-384");
        let mut short_rsa = rsa("r1");
        short_rsa["n"] = json!(URL_SAFE_NO_PAD.encode([0xc5u8; 128]));
        let errors: Vec<String> = [private, symmetric.take(), enc, hmac_alg, wrong_alg, p384, short_rsa]
            .into_iter()
            .map(|key| set(vec![key]).expect_err("refused"))
            .collect();
        expect_test::expect![[r#"
            [
                "jwks key 0: private key member `d` is not allowed: register public keys only",
                "jwks key 0: private key member `k` is not allowed: register public keys only",
                "jwks key 0: `use` must be `sig`",
                "jwks key 0: `alg` `HS256` is not supported; supported: ES256, RS256, PS256",
                "jwks key 0: `alg` does not fit the key type",
                "jwks key 0: only the P-256 curve is supported",
                "jwks key 0: RSA keys must have a 2048 to 8192 bit modulus",
            ]
        "#]]
        .assert_debug_eq(&errors);
        assert!(set(vec![]).is_err());
        assert!(set(vec![p256("same"), p256("same")]).is_err());
        assert!(JwkSet::parse(&json!([p256("k1")])).is_err());
    }
}
