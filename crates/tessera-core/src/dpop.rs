//! DPoP, OAuth 2.0 Demonstrating Proof of Possession (RFC 9449).
//!
//! A client sends a proof JWT in the `DPoP` header: signed by a key whose
//! public part is in its `jwk` header, for one request (`htm`, `htu`), once
//! (`jti`), recently (`iat`), and at a resource, for one access token (`ath`).
//! The rules live here; the signature check itself is behind [`ProofVerifier`],
//! implemented where the crypto library is. One-time use of `jti` needs the
//! store: the caller records [`VerifiedProof::replay_key`] until
//! [`VerifiedProof::remember_until`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::secret::SecretHash;
use crate::{UnixTime, jwt};

/// RFC 9449 §4.2: the `typ` of a proof.
pub const PROOF_TYPE: &str = "dpop+jwt";

/// The token type of a DPoP-bound access token (RFC 9449 §5), also the
/// `Authorization` scheme it is presented with (§7.1).
pub const TOKEN_TYPE: &str = "DPoP";

/// A proof is accepted for this many seconds after its `iat`.
pub const MAX_PROOF_AGE: u64 = 60;

/// A proof's `iat` may be this many seconds ahead of our clock.
pub const MAX_CLOCK_AHEAD: u64 = 5;

/// Longer `jti`s are refused: the store keeps only their hash, but a bound
/// keeps the hashing cheap.
const MAX_JTI_CHARS: usize = 256;

/// Longer proofs are refused before decoding (a 4096-bit RSA key and all
/// claims fit comfortably).
pub const MAX_PROOF_CHARS: usize = 8192;

/// The algorithms a proof may be signed with (asymmetric only, RFC 9449
/// §4.2), the key in its `jwk` header, and the signature check.
pub use crate::public_key::{
    PublicKey as ProofKey, SignatureAlgorithm as ProofAlgorithm, SignatureVerifier as ProofVerifier,
};

/// A public JWK from a proof header, with its RFC 7638 SHA-256 thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofJwk {
    pub key: ProofKey,
    /// base64url(SHA-256(canonical JWK)): the `jkt` a token is bound to.
    pub thumbprint: String,
}

/// RSA keys shorter than this are refused.
const MIN_RSA_MODULUS_BYTES: usize = 2048 / 8;

/// Parses a proof's `jwk` header: a public EC P-256 or RSA key. A key with any
/// private member is refused (RFC 9449 §4.3 check 7).
pub fn parse_jwk(jwk: &Value) -> Result<ProofJwk, &'static str> {
    let members = jwk.as_object().ok_or("the jwk header is not a JSON object")?;
    // Private members of EC (d) and RSA (d, p, q, dp, dq, qi, oth) keys, and
    // symmetric key material (k).
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].iter().any(|name| members.contains_key(*name)) {
        return Err("the jwk header holds a private key");
    }
    let text = |name: &str| members.get(name).and_then(Value::as_str);
    let bytes = |name: &str| -> Result<Vec<u8>, &'static str> {
        let raw = text(name).ok_or("the jwk lacks a key member")?;
        URL_SAFE_NO_PAD.decode(raw).map_err(|_| "a jwk member is not base64url")
    };
    match text("kty") {
        Some("EC") => {
            if text("crv") != Some("P-256") {
                return Err("the jwk's curve is not supported");
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("the jwk's coordinates are not P-256 coordinates");
            }
            let canonical = serde_json::json!({
                "crv": "P-256", "kty": "EC", "x": text("x"), "y": text("y"),
            });
            Ok(ProofJwk { thumbprint: thumbprint_of(&canonical), key: ProofKey::P256 { x, y } })
        }
        Some("RSA") => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            if n.first() == Some(&0) || e.is_empty() || e.first() == Some(&0) {
                return Err("the jwk's RSA members are not minimal");
            }
            if n.len() < MIN_RSA_MODULUS_BYTES {
                return Err("the jwk's RSA modulus is too short");
            }
            let canonical = serde_json::json!({ "e": text("e"), "kty": "RSA", "n": text("n") });
            Ok(ProofJwk { thumbprint: thumbprint_of(&canonical), key: ProofKey::Rsa { n, e } })
        }
        _ => Err("the jwk's key type is not supported"),
    }
}

/// RFC 7638 §3: the required members in lexicographic order, no whitespace.
/// `serde_json` objects without `preserve_order` keep keys sorted, which the
/// callers also write in order.
fn thumbprint_of(canonical: &Value) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// RFC 9449 §4.2 `ath`: base64url(SHA-256(ASCII access token)).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// RFC 9449 §4.3 check 9: the request URI compared without query and
/// fragment, after syntax-based normalization (RFC 3986 §6.2.2, §6.2.3): the
/// scheme and host in lower case, a default port dropped, an empty path as `/`.
/// `None` if it is not an absolute http(s) URI.
pub fn normalize_htu(uri: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}

/// What the request a proof came with says, and what the server expects of it.
#[derive(Debug, Clone, Copy)]
pub struct ProofContext<'a> {
    /// The HTTP method of the request, e.g. `POST`.
    pub method: &'a str,
    /// The URI the request was sent to, as the server knows its own address
    /// (e.g. the issuer's token endpoint); any query is ignored.
    pub uri: &'a str,
    pub now: UnixTime,
    /// The access token presented with the proof, at a resource (then `ath`
    /// must match it); `None` at the token endpoint.
    pub access_token: Option<&'a str>,
    /// RFC 9449 §8: `None` when the server requires no nonce; otherwise the
    /// proof's `nonce` must be one of these (a server's nonces change over
    /// time, and the one before the current stays good for a while).
    pub accepted_nonces: Option<&'a [String]>,
}

/// A proof that passed every check but one-time use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key: `cnf.jkt` of a bound token.
    pub jkt: String,
    pub jti: String,
    pub iat: UnixTime,
}

impl VerifiedProof {
    /// The store key of this proof's `jti`: the key's thumbprint scopes it, so
    /// two clients choosing one `jti` do not collide.
    pub fn replay_key(&self) -> SecretHash {
        SecretHash::of(&format!("dpop:{}:{}", self.jkt, self.jti))
    }

    /// How long the `jti` must be remembered: past this the proof is refused
    /// as too old anyway.
    pub fn remember_until(&self) -> UnixTime {
        self.iat.saturating_add(MAX_PROOF_AGE + 1)
    }
}

/// RFC 9449 §5: a refresh token is bound to the DPoP key of the request that
/// got it only for a public client; a confidential client authenticates
/// itself instead.
pub fn binds_refresh_token(client: &Client) -> bool {
    client.is_public()
}

/// RFC 9449 §5: a bound refresh token is used only with a proof of its key.
pub fn ensure_refresh_binding(
    bound_jkt: Option<&str>,
    presented_jkt: Option<&str>,
) -> Result<(), OAuthError> {
    match (bound_jkt, presented_jkt) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(invalid("the refresh token is DPoP-bound: a DPoP proof is required")),
        (Some(bound), Some(presented)) if bound == presented => Ok(()),
        (Some(_), Some(_)) => {
            Err(ErrorCode::InvalidGrant.with("the refresh token is bound to another DPoP key"))
        }
    }
}

/// RFC 9449 §5.2: a client registered with `dpop_bound_access_tokens` gets
/// no token without a proof. The RFC names no code for the refusal; a proof
/// that is missing is treated as one that is invalid.
pub fn ensure_proof_if_required(client: &Client, presented_jkt: Option<&str>) -> Result<(), OAuthError> {
    match (client.dpop_bound_access_tokens, presented_jkt) {
        (true, None) => Err(invalid("this client must send a DPoP proof with every token request")),
        _ => Ok(()),
    }
}

/// RFC 9449 §10: a code issued for a `dpop_jkt` is redeemed only with a
/// proof of that key.
pub fn ensure_code_binding(bound_jkt: Option<&str>, presented_jkt: Option<&str>) -> Result<(), OAuthError> {
    match (bound_jkt, presented_jkt) {
        (None, _) => Ok(()),
        (Some(bound), Some(presented)) if bound == presented => Ok(()),
        (Some(_), None) => {
            Err(ErrorCode::InvalidGrant.with("the code is bound to a DPoP key: send a proof of that key"))
        }
        (Some(_), Some(_)) => Err(ErrorCode::InvalidGrant.with("the code is bound to another DPoP key")),
    }
}

/// RFC 9449 §10: the `dpop_jkt` authorization request parameter, an RFC 7638
/// SHA-256 thumbprint (32 bytes, unpadded base64url).
pub fn parse_jkt(raw: &str) -> Result<String, OAuthError> {
    match URL_SAFE_NO_PAD.decode(raw) {
        Ok(digest) if digest.len() == 32 && raw.len() == 43 => Ok(raw.to_owned()),
        _ => Err(ErrorCode::InvalidRequest
            .with("dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters)")),
    }
}

fn invalid(description: &str) -> OAuthError {
    ErrorCode::InvalidDpopProof.with(description)
}

/// RFC 9449 §4.3: checks a proof against the request it came with. Every
/// failure is `invalid_dpop_proof`, except a missing or stale nonce the server
/// requires, which is `use_dpop_nonce`.
pub fn verify_proof(
    proof: &str,
    context: &ProofContext<'_>,
    verifier: &dyn ProofVerifier,
) -> Result<VerifiedProof, OAuthError> {
    if proof.len() > MAX_PROOF_CHARS {
        return Err(invalid("the DPoP proof is too long"));
    }
    let parts = jwt::split(proof).ok_or_else(|| invalid("the DPoP proof is not a well-formed JWS"))?;
    if parts.header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(invalid("the DPoP proof's typ is not dpop+jwt"));
    }
    let alg = ProofAlgorithm::parse(&parts.header.alg)
        .ok_or_else(|| invalid("the DPoP proof's alg is not supported"))?;
    let header_json = parts
        .signing_input
        .split_once('.')
        .and_then(|(header, _)| URL_SAFE_NO_PAD.decode(header).ok())
        .and_then(|header| serde_json::from_slice::<Value>(&header).ok())
        .ok_or_else(|| invalid("the DPoP proof's header is not JSON"))?;
    let jwk = header_json.get("jwk").ok_or_else(|| invalid("the DPoP proof has no jwk header"))?;
    let jwk = parse_jwk(jwk).map_err(invalid)?;
    if !alg.fits(&jwk.key) {
        return Err(invalid("the DPoP proof's alg does not fit its key"));
    }
    if !verifier.verify(alg, &jwk.key, parts.signing_input.as_bytes(), &parts.signature) {
        return Err(invalid("the DPoP proof's signature does not verify"));
    }

    let claims: Value = serde_json::from_slice(&parts.payload)
        .map_err(|_| invalid("the DPoP proof's claims are not JSON"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let jti =
        text("jti").filter(|jti| !jti.is_empty()).ok_or_else(|| invalid("the DPoP proof has no jti"))?;
    if jti.chars().count() > MAX_JTI_CHARS {
        return Err(invalid("the DPoP proof's jti is too long"));
    }
    if text("htm") != Some(context.method) {
        return Err(invalid("the DPoP proof's htm does not match the request method"));
    }
    let htu = text("htu").and_then(normalize_htu);
    if htu.is_none() || htu != normalize_htu(context.uri) {
        return Err(invalid("the DPoP proof's htu does not match the request URI"));
    }
    let iat = claims
        .get("iat")
        .and_then(|iat| iat.as_u64().or_else(|| iat.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)))
        .ok_or_else(|| invalid("the DPoP proof has no valid iat"))?;
    if iat > context.now.saturating_add(MAX_CLOCK_AHEAD) {
        return Err(invalid("the DPoP proof is issued in the future"));
    }
    if iat.saturating_add(MAX_PROOF_AGE) < context.now {
        return Err(invalid("the DPoP proof is too old"));
    }
    if let Some(accepted) = context.accepted_nonces
        && !text("nonce").is_some_and(|nonce| accepted.iter().any(|good| good == nonce))
    {
        return Err(ErrorCode::UseDpopNonce.with("the server requires a DPoP nonce: use the one it sent"));
    }
    match (context.access_token, text("ath")) {
        (None, _) => {}
        (Some(token), Some(ath)) => {
            if ath != access_token_hash(token) {
                return Err(invalid("the DPoP proof's ath does not match the access token"));
            }
        }
        (Some(_), None) => return Err(invalid("the DPoP proof has no ath for the access token")),
    }
    Ok(VerifiedProof { jkt: jwk.thumbprint, jti: jti.to_owned(), iat })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 9449 §4.1 example key.
    fn rfc_jwk() -> Value {
        json!({
            "kty": "EC",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            "crv": "P-256"
        })
    }

    /// A verifier that accepts a signature equal to SHA-256(key || message),
    /// standing in for the real one (tested in the server).
    struct FakeVerifier;

    fn fake_signature(key: &ProofKey, message: &[u8]) -> Vec<u8> {
        let mut hasher = Sha256::new();
        match key {
            ProofKey::P256 { x, y } => {
                hasher.update(x);
                hasher.update(y);
            }
            ProofKey::Rsa { n, e } => {
                hasher.update(n);
                hasher.update(e);
            }
        }
        hasher.update(message);
        hasher.finalize().to_vec()
    }

    impl ProofVerifier for FakeVerifier {
        fn verify(&self, _: ProofAlgorithm, key: &ProofKey, message: &[u8], signature: &[u8]) -> bool {
            fake_signature(key, message) == signature
        }
    }

    fn proof(header: Value, claims: Value) -> String {
        let key = header.get("jwk").and_then(|jwk| parse_jwk(jwk).ok()).map(|jwk| jwk.key);
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key.map(|key| fake_signature(&key, input.as_bytes())).unwrap_or_default();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn header() -> Value {
        json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": rfc_jwk() })
    }

    /// RFC 9449 §4.1 example claims.
    fn claims() -> Value {
        json!({
            "jti": "-BwC3ESc6acc2lTc",
            "htm": "POST",
            "htu": "https://server.example.com/token",
            "iat": 1562262616
        })
    }

    fn context() -> ProofContext<'static> {
        ProofContext {
            method: "POST",
            uri: "https://server.example.com/token",
            now: 1562262616 + 10,
            access_token: None,
            accepted_nonces: None,
        }
    }

    fn with(value: Value, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut value = value;
        if let Some(object) = value.as_object_mut() {
            change(object);
        }
        value
    }

    fn check(header: Value, claims: Value, context: &ProofContext<'_>) -> Result<VerifiedProof, OAuthError> {
        verify_proof(&proof(header, claims), context, &FakeVerifier)
    }

    #[test]
    fn rfc_7638_thumbprints() {
        // RFC 9449 §6.1: the example key's thumbprint.
        assert_eq!(
            parse_jwk(&rfc_jwk()).map(|jwk| jwk.thumbprint),
            Ok("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".to_owned())
        );
        // RFC 7638 §3.1: the RSA example, with members that do not count.
        let rsa = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            parse_jwk(&rsa).map(|jwk| jwk.thumbprint),
            Ok("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".to_owned())
        );
    }

    #[test]
    fn the_rfc_example_proof_passes() {
        let verified = check(header(), claims(), &context()).expect("valid");
        assert_eq!(verified.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(verified.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(verified.remember_until(), 1562262616 + 61);
        assert_eq!(
            verified.replay_key(),
            SecretHash::of("dpop:0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I:-BwC3ESc6acc2lTc")
        );
    }

    #[test]
    fn every_mismatch_is_invalid_dpop_proof() {
        let cases: Vec<(&str, Value, Value)> = vec![
            ("typ", with(header(), |h| drop(h.insert("typ".into(), json!("JWT")))), claims()),
            ("no typ", with(header(), |h| drop(h.remove("typ"))), claims()),
            ("alg none", with(header(), |h| drop(h.insert("alg".into(), json!("none")))), claims()),
            ("alg HS256", with(header(), |h| drop(h.insert("alg".into(), json!("HS256")))), claims()),
            (
                "alg for another key type",
                with(header(), |h| drop(h.insert("alg".into(), json!("RS256")))),
                claims(),
            ),
            ("no jwk", with(header(), |h| drop(h.remove("jwk"))), claims()),
            (
                "private jwk",
                with(header(), |h| {
                    drop(
                        h.insert(
                            "jwk".into(),
                            with(rfc_jwk(), |k| drop(k.insert("d".into(), json!("AAAA")))),
                        ),
                    )
                }),
                claims(),
            ),
            (
                "symmetric jwk",
                with(header(), |h| drop(h.insert("jwk".into(), json!({"kty": "oct", "k": "AAAA"})))),
                claims(),
            ),
            (
                "another curve",
                with(header(), |h| {
                    drop(h.insert(
                        "jwk".into(),
                        with(rfc_jwk(), |k| drop(k.insert("crv".into(), json!("P-384")))),
                    ))
                }),
                claims(),
            ),
            ("no jti", header(), with(claims(), |c| drop(c.remove("jti")))),
            ("empty jti", header(), with(claims(), |c| drop(c.insert("jti".into(), json!(""))))),
            ("htm", header(), with(claims(), |c| drop(c.insert("htm".into(), json!("GET"))))),
            ("htm case", header(), with(claims(), |c| drop(c.insert("htm".into(), json!("post"))))),
            (
                "htu",
                header(),
                with(claims(), |c| drop(c.insert("htu".into(), json!("https://server.example.com/other")))),
            ),
            (
                "htu host",
                header(),
                with(claims(), |c| drop(c.insert("htu".into(), json!("https://evil.example.com/token")))),
            ),
            ("htu relative", header(), with(claims(), |c| drop(c.insert("htu".into(), json!("/token"))))),
            ("no htu", header(), with(claims(), |c| drop(c.remove("htu")))),
            ("no iat", header(), with(claims(), |c| drop(c.remove("iat")))),
            ("string iat", header(), with(claims(), |c| drop(c.insert("iat".into(), json!("1562262616"))))),
            (
                "old iat",
                header(),
                with(claims(), |c| drop(c.insert("iat".into(), json!(1562262616 + 10 - 61)))),
            ),
            (
                "future iat",
                header(),
                with(claims(), |c| drop(c.insert("iat".into(), json!(1562262616 + 10 + 6)))),
            ),
        ];
        for (case, header, claims) in cases {
            assert_eq!(
                check(header, claims, &context()).map_err(|e| e.code),
                Err(ErrorCode::InvalidDpopProof),
                "{case}"
            );
        }
        // Tampered signature, and another key's signature.
        let good = proof(header(), claims());
        let (input, _) = good.rsplit_once('.').expect("three parts");
        let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode([0_u8; 64]));
        assert_eq!(
            verify_proof(&tampered, &context(), &FakeVerifier).map_err(|e| e.code),
            Err(ErrorCode::InvalidDpopProof)
        );
        for malformed in ["", "a.b", "a.b.c", "....", &"x".repeat(MAX_PROOF_CHARS + 1)] {
            assert_eq!(
                verify_proof(malformed, &context(), &FakeVerifier).map_err(|e| e.code),
                Err(ErrorCode::InvalidDpopProof)
            );
        }
    }

    #[test]
    fn refresh_binding() {
        assert_eq!(ensure_refresh_binding(None, None), Ok(()));
        assert_eq!(ensure_refresh_binding(None, Some("a")), Ok(()));
        assert_eq!(ensure_refresh_binding(Some("a"), Some("a")), Ok(()));
        assert_eq!(
            ensure_refresh_binding(Some("a"), None).map_err(|e| e.code),
            Err(ErrorCode::InvalidDpopProof)
        );
        assert_eq!(
            ensure_refresh_binding(Some("a"), Some("b")).map_err(|e| e.code),
            Err(ErrorCode::InvalidGrant)
        );
    }

    #[test]
    fn tolerances() {
        let at = |now| ProofContext { now, ..context() };
        assert!(check(header(), claims(), &at(1562262616 + MAX_PROOF_AGE)).is_ok());
        assert!(check(header(), claims(), &at(1562262616 + MAX_PROOF_AGE + 1)).is_err());
        assert!(check(header(), claims(), &at(1562262616 - MAX_CLOCK_AHEAD)).is_ok());
        assert!(check(header(), claims(), &at(1562262616 - MAX_CLOCK_AHEAD - 1)).is_err());
    }

    #[test]
    fn htu_is_compared_normalized_without_query() {
        for same in [
            "https://server.example.com/token",
            "HTTPS://Server.Example.COM/token",
            "https://server.example.com:443/token",
            "https://server.example.com/token?x=1",
            "https://server.example.com/token#frag",
        ] {
            let claims = with(claims(), |c| drop(c.insert("htu".into(), json!(same))));
            assert!(check(header(), claims, &context()).is_ok(), "{same}");
        }
        assert_eq!(normalize_htu("http://h.example:80"), Some("http://h.example/".into()));
        assert_eq!(normalize_htu("http://h.example:8080/a?b#c"), Some("http://h.example:8080/a".into()));
        assert_eq!(
            normalize_htu("https://server.example.com/Token"),
            Some("https://server.example.com/Token".into())
        );
        assert_eq!(normalize_htu("urn:example:x"), None);
        assert_eq!(normalize_htu("token"), None);
    }

    #[test]
    fn access_token_hash_and_nonce() {
        // RFC 9449 §7.1 example: the access token and its ath.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        let resource = ProofContext {
            method: "GET",
            uri: "https://resource.example.org/protectedresource",
            access_token: Some("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            ..context()
        };
        let at_resource = with(claims(), |c| {
            c.insert("htm".into(), json!("GET"));
            c.insert("htu".into(), json!("https://resource.example.org/protectedresource"));
        });
        let with_ath = with(at_resource.clone(), |c| {
            drop(c.insert("ath".into(), json!("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo")))
        });
        assert!(check(header(), with_ath.clone(), &resource).is_ok());
        assert_eq!(
            check(header(), at_resource, &resource).map_err(|e| e.code),
            Err(ErrorCode::InvalidDpopProof)
        );
        let other_token = ProofContext { access_token: Some("another"), ..resource };
        assert_eq!(
            check(header(), with_ath, &other_token).map_err(|e| e.code),
            Err(ErrorCode::InvalidDpopProof)
        );
    }

    #[test]
    fn a_required_nonce_must_be_one_the_server_accepts() {
        let accepted = ["eyJ7S_zG.eyJH0-Z.HX4w-7v".to_owned(), "eyJ7S_zG.eyJbYu3.xQmBj-1".to_owned()];
        let nonce_needed = ProofContext { accepted_nonces: Some(&accepted), ..context() };
        let with_nonce = |nonce: Value| with(claims(), |c| drop(c.insert("nonce".into(), nonce)));
        for (case, claims) in [
            ("no nonce", claims()),
            ("a stale nonce", with_nonce(json!("old"))),
            ("an empty nonce", with_nonce(json!(""))),
            ("a prefix of a good one", with_nonce(json!("eyJ7S_zG"))),
            ("not a string", with_nonce(json!(7))),
        ] {
            assert_eq!(
                check(header(), claims, &nonce_needed).map_err(|e| e.code),
                Err(ErrorCode::UseDpopNonce),
                "{case}"
            );
        }
        for good in &accepted {
            assert!(check(header(), with_nonce(json!(good)), &nonce_needed).is_ok(), "{good}");
        }
        // No nonce required: a nonce in the proof is ignored.
        assert!(check(header(), with_nonce(json!("anything")), &context()).is_ok());
        let none_accepted = ProofContext { accepted_nonces: Some(&[]), ..context() };
        assert_eq!(
            check(header(), with_nonce(json!("anything")), &none_accepted).map_err(|e| e.code),
            Err(ErrorCode::UseDpopNonce)
        );
        // The nonce is judged after the signature: a forged proof is invalid, not asked for a nonce.
        let good = proof(header(), claims());
        let (input, _) = good.rsplit_once('.').expect("three parts");
        let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode([0_u8; 64]));
        assert_eq!(
            verify_proof(&forged, &nonce_needed, &FakeVerifier).map_err(|e| e.code),
            Err(ErrorCode::InvalidDpopProof)
        );
    }

    #[test]
    fn a_client_that_must_use_dpop_gets_no_token_without_a_proof() {
        let bound = Client { dpop_bound_access_tokens: true, ..crate::fixtures::client("app") };
        assert_eq!(
            ensure_proof_if_required(&bound, None).map_err(|e| e.code),
            Err(ErrorCode::InvalidDpopProof)
        );
        assert_eq!(ensure_proof_if_required(&bound, Some("jkt")), Ok(()));
        let free = crate::fixtures::client("app");
        assert_eq!(ensure_proof_if_required(&free, None), Ok(()));
    }

    #[test]
    fn a_code_bound_to_a_key_needs_a_proof_of_that_key() {
        assert_eq!(ensure_code_binding(None, None), Ok(()));
        assert_eq!(ensure_code_binding(None, Some("a")), Ok(()));
        assert_eq!(ensure_code_binding(Some("a"), Some("a")), Ok(()));
        for presented in [None, Some("b")] {
            assert_eq!(
                ensure_code_binding(Some("a"), presented).map_err(|e| e.code),
                Err(ErrorCode::InvalidGrant),
                "{presented:?}"
            );
        }
    }

    #[test]
    fn dpop_jkt_is_a_sha256_thumbprint() {
        // RFC 9449 §10 example.
        assert_eq!(
            parse_jkt("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
            Ok("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".to_owned())
        );
        for bad in [
            "",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=",
            "NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9XsAAAA",
        ] {
            assert_eq!(parse_jkt(bad).map_err(|e| e.code), Err(ErrorCode::InvalidRequest), "{bad}");
        }
    }
}
