//! Bodies of the fuzz targets over the signed proofs `tessera-core` reads
//! from requests: `private_key_jwt` client assertions (with the clients' JWK
//! Sets) and DPoP proofs. The signature check sits behind a trait; these
//! bodies plug in a verifier that accepts exactly one signature value, so
//! the fuzzer reaches every rule that follows it.
//!
//! Shared, through `#[path]`, by the fuzz targets and by
//! `crates/tessera-core/tests/fuzz_regressions.rs`. A body must never panic;
//! its `assert!`s are the invariants.

#![allow(dead_code)]

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_core::client_assertion::{
    AssertionAlgorithm, AssertionContext, CLOCK_SKEW, JWT_BEARER_ASSERTION_TYPE, JwkSet,
    MAX_ASSERTION_LIFETIME, MAX_KEYS, PublicKey, SignatureVerifier, claimed_client_id, verify_assertion,
};
use tessera_core::client_auth::{AuthMethod, client_authentication_failed, presented_credentials};
use tessera_core::dpop::{
    MAX_CLOCK_AHEAD, MAX_PROOF_AGE, PROOF_TYPE, ProofAlgorithm, ProofContext, ProofKey, ProofVerifier,
    access_token_hash, normalize_htu, parse_jwk, verify_proof,
};
use tessera_core::request::FormParams;
use tessera_core::{ErrorCode, UnixTime, jwt};

/// A fuzz target's name and body.
type Target = (&'static str, fn(&[u8]));

/// The fuzz targets of this module, by name.
pub(crate) const TARGETS: &[Target] = &[("client_assertion", client_assertion), ("dpop_proof", dpop_proof)];

const NOW: UnixTime = 1_700_000_000;
const AUDIENCES: [&str; 2] = ["https://auth.example.com", "https://auth.example.com/token"];
/// The one signature the stand-in verifiers accept (base64url `dmFsaWQtc2lnbmF0dXJl`).
const VALID_SIGNATURE: &[u8] = b"valid-signature";

/// The lines of `data`: the first `N` (missing ones empty) and the rest.
fn lines<const N: usize>(data: &[u8]) -> ([&[u8]; N], &[u8]) {
    let mut heads: [&[u8]; N] = [&[]; N];
    let mut rest = data;
    for head in &mut heads {
        match rest.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                *head = &rest[..end];
                rest = &rest[end + 1..];
            }
            None => {
                *head = rest;
                rest = &[];
            }
        }
    }
    (heads, rest)
}

/// Records what it was asked to verify.
#[derive(Default)]
struct AssertionVerifier {
    asked: RefCell<Vec<(AssertionAlgorithm, PublicKey, Vec<u8>)>>,
}

impl SignatureVerifier for AssertionVerifier {
    fn verify(&self, alg: AssertionAlgorithm, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        self.asked.borrow_mut().push((alg, key.clone(), message.to_vec()));
        signature == VALID_SIGNATURE
    }
}

/// A P-256 key `k1` and an RSA-2048 key `r1`, for inputs whose first line is
/// not a JWK Set.
fn default_keys() -> JwkSet {
    let set = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
         "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
        {"kty": "RSA", "kid": "r1", "alg": "RS256", "n": URL_SAFE_NO_PAD.encode([0xa5u8; 256]), "e": "AQAB"},
    ]});
    JwkSet::parse(&set).expect("the default key set")
}

fn fits(alg: AssertionAlgorithm, key: &PublicKey) -> bool {
    matches!(
        (alg, key),
        (AssertionAlgorithm::Es256, PublicKey::P256 { .. })
            | (AssertionAlgorithm::Rs256 | AssertionAlgorithm::Ps256, PublicKey::Rsa { .. })
    )
}

/// What `JwkSet::parse` promises about a set it accepts.
fn check_key_set(set: &JwkSet) {
    let keys = set.keys();
    assert!((1..=MAX_KEYS).contains(&keys.len()));
    for (index, jwk) in keys.iter().enumerate() {
        if jwk.kid.is_some() {
            assert!(keys[..index].iter().all(|other| other.kid != jwk.kid), "kids are unique");
        }
        match &jwk.key {
            PublicKey::P256 { x, y } => assert!(x.len() == 32 && y.len() == 32),
            PublicKey::Rsa { n, e } => {
                let bits = n.iter().skip_while(|byte| **byte == 0).count() * 8;
                assert!((2048..=8192).contains(&bits) && !e.is_empty());
            }
        }
        assert!(jwk.alg.is_none_or(|alg| fits(alg, &jwk.key)));
    }
    let again = JwkSet::parse_str(set.as_json()).expect("a stored key set parses again");
    assert_eq!(&again, set, "a key set survives storage");
}

fn numeric(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| value.as_f64().filter(|seconds| *seconds >= 0.0).map(|seconds| seconds as u64))
}

/// 13. `private_key_jwt`: line 1 is the client's JWK Set (JSON; anything else
///     means two fixed keys), the rest the `client_assertion`. It is read as the
///     token endpoint reads it, then verified for the client it claims.
pub(crate) fn client_assertion(data: &[u8]) {
    let ([jwks], assertion) = lines::<1>(data);
    let keys = match serde_json::from_slice::<Value>(jwks).map(|value| JwkSet::parse(&value)) {
        Ok(Ok(set)) => {
            check_key_set(&set);
            set
        }
        _ => default_keys(),
    };
    let Ok(assertion) = std::str::from_utf8(assertion) else { return };
    let claimed = claimed_client_id(assertion);

    let mut body = form_urlencoded::Serializer::new(String::new());
    body.append_pair("client_assertion_type", JWT_BEARER_ASSERTION_TYPE)
        .append_pair("client_assertion", assertion);
    if let Ok(form) = FormParams::parse(body.finish().as_bytes())
        && let Ok(presented) = presented_credentials(None, &form)
    {
        assert_eq!(presented.method, AuthMethod::PrivateKeyJwt);
        assert_eq!(Some(&presented.client_id), claimed.as_ref(), "the client is the assertion's sub");
        assert_eq!(presented.assertion(), Some(assertion));
    }

    let client_id = claimed.as_deref().unwrap_or("app");
    let verifier = AssertionVerifier::default();
    let context = AssertionContext { audiences: &AUDIENCES, now: NOW };
    let outcome = verify_assertion(assertion, client_id, &keys, context, &verifier);
    let parts = jwt::split(assertion);
    if let Some(parts) = &parts {
        let alg = AssertionAlgorithm::parse(&parts.header.alg);
        for (asked_alg, key, message) in verifier.asked.borrow().iter() {
            assert_eq!(Some(*asked_alg), alg, "a key is tried only with the header's algorithm");
            assert!(fits(*asked_alg, key), "a key is tried only with an algorithm that fits it");
            assert_eq!(message.as_slice(), parts.signing_input.as_bytes());
            let candidates = keys.keys().iter().filter(|jwk| &jwk.key == key);
            let mut candidates = candidates.filter(|jwk| jwk.alg.is_none_or(|own| own == *asked_alg));
            let kid = parts.header.kid.as_deref();
            assert!(candidates.any(|jwk| kid.is_none_or(|kid| jwk.kid.as_deref() == Some(kid))));
        }
    } else {
        assert!(verifier.asked.borrow().is_empty());
    }
    let verified = match outcome {
        Ok(verified) => verified,
        Err(error) => {
            assert_eq!(error, client_authentication_failed(), "every failure looks the same");
            return;
        }
    };
    let parts = parts.expect("a verified assertion is a JWS");
    assert_eq!(parts.signature, VALID_SIGNATURE, "only a verified signature passes");
    let claims: Value = serde_json::from_slice(&parts.payload).expect("verified claims are JSON");
    assert_eq!(claims["iss"], client_id);
    assert_eq!(claims["sub"], client_id);
    assert_eq!(claims["jti"], verified.jti.as_str());
    assert!(!verified.jti.is_empty() && verified.jti.chars().count() <= 256);
    let names_us = |aud: &Value| aud.as_str().is_some_and(|aud| AUDIENCES.contains(&aud));
    assert!(
        names_us(&claims["aud"]) || claims["aud"].as_array().is_some_and(|auds| auds.iter().any(names_us))
    );
    let exp = numeric(&claims["exp"]).expect("a verified assertion has exp");
    assert!(exp + CLOCK_SKEW > NOW && exp <= NOW + MAX_ASSERTION_LIFETIME, "exp {exp}");
    assert_eq!(verified.expires_at, exp + CLOCK_SKEW);
    for name in ["iat", "nbf"] {
        if let Some(value) = claims.get(name).filter(|value| !value.is_null()) {
            assert!(numeric(value).is_some_and(|at| at <= NOW + CLOCK_SKEW), "{name} {value}");
        }
    }
}

/// Accepts exactly [`VALID_SIGNATURE`], whatever the key.
struct ProofSignature;

impl ProofVerifier for ProofSignature {
    fn verify(&self, _: ProofAlgorithm, _: &ProofKey, _: &[u8], signature: &[u8]) -> bool {
        signature == VALID_SIGNATURE
    }
}

fn optional_text(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// 14. DPoP proofs (RFC 9449): lines 1 to 4 are the request's method and URI,
///     the access token it carries and the nonce the server expects (empty: none);
///     the rest is the `DPoP` header.
pub(crate) fn dpop_proof(data: &[u8]) {
    let ([method, uri, access_token, nonce], proof) = lines::<4>(data);
    let method = String::from_utf8_lossy(method).into_owned();
    let uri = String::from_utf8_lossy(uri).into_owned();
    let (access_token, nonce) = (optional_text(access_token), optional_text(nonce));
    let accepted_nonces: Option<Vec<String>> = nonce.clone().map(|nonce| vec![nonce]);
    if let Some(htu) = normalize_htu(&uri) {
        let url = url::Url::parse(&htu).expect("a normalized htu is a URL");
        assert!(
            matches!(url.scheme(), "http" | "https") && url.query().is_none() && url.fragment().is_none()
        );
        assert_eq!(normalize_htu(&htu).as_ref(), Some(&htu), "normalizing twice changes nothing");
    }
    let Ok(proof) = std::str::from_utf8(proof) else { return };
    let context = ProofContext {
        method: &method,
        uri: &uri,
        now: NOW,
        access_token: access_token.as_deref(),
        accepted_nonces: accepted_nonces.as_deref(),
    };
    let verified = match verify_proof(proof, &context, &ProofSignature) {
        Ok(verified) => verified,
        Err(error) => {
            assert!(matches!(error.code, ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce), "{error}");
            return;
        }
    };
    let parts = jwt::split(proof).expect("a verified proof is a JWS");
    assert_eq!(parts.header.typ.as_deref(), Some(PROOF_TYPE));
    assert_eq!(parts.signature, VALID_SIGNATURE);
    let (header, _) = proof.split_once('.').expect("a JWS has a header");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("header base64url"))
        .expect("header JSON");
    let jwk = parse_jwk(&header["jwk"]).expect("a verified proof's jwk parses");
    assert_eq!(jwk.thumbprint, verified.jkt, "jkt is the key's RFC 7638 thumbprint");
    assert_eq!(URL_SAFE_NO_PAD.decode(&verified.jkt).map(|digest| digest.len()), Ok(32));
    let claims: Value = serde_json::from_slice(&parts.payload).expect("verified claims are JSON");
    assert_eq!(claims["htm"], method.as_str());
    let htu = claims["htu"].as_str().and_then(normalize_htu);
    assert!(htu.is_some() && htu == normalize_htu(&uri), "htu {:?} for {uri:?}", claims["htu"]);
    assert_eq!(claims["jti"], verified.jti.as_str());
    assert!(verified.iat <= NOW + MAX_CLOCK_AHEAD && verified.iat + MAX_PROOF_AGE >= NOW);
    assert!(verified.remember_until() > NOW);
    if let Some(token) = &access_token {
        assert_eq!(claims["ath"], access_token_hash(token).as_str());
    }
    if let Some(nonce) = &nonce {
        assert_eq!(claims["nonce"], nonce.as_str());
    }
    assert_eq!(verified.replay_key(), verified.clone().replay_key());
}
