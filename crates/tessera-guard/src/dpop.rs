//! DPoP (RFC 9449 §7) at a resource: the `DPoP` header read, the proof
//! checked by the core's rules (`tessera_core::dpop::verify_proof`) with an
//! aws-lc-rs signature check, and each proof's `jti` remembered once in a
//! bounded in-memory cache.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
    VerificationAlgorithm,
};
use http::HeaderMap;
use tessera_core::dpop::{
    MAX_PROOF_AGE, ProofAlgorithm, ProofContext, ProofKey, ProofVerifier, verify_proof,
};

use crate::error::GuardError;

/// The algorithms a proof may use, as the `DPoP` challenge lists them.
pub(crate) const DPOP_ALGS: &str = "ES256 RS256 PS256";

/// How many proofs the replay cache holds at most.
const MAX_REMEMBERED_PROOFS: usize = 100_000;

/// The signature check behind the core's proof rules.
struct AwsLcProofVerifier;

impl ProofVerifier for AwsLcProofVerifier {
    fn verify(&self, alg: ProofAlgorithm, key: &ProofKey, message: &[u8], signature: &[u8]) -> bool {
        let (algorithm, der): (&'static dyn VerificationAlgorithm, Vec<u8>) = match (alg, key) {
            (ProofAlgorithm::Es256, ProofKey::P256 { x, y }) => {
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                (&ECDSA_P256_SHA256_FIXED, point)
            }
            (ProofAlgorithm::Rs256, ProofKey::Rsa { n, e }) => {
                (&RSA_PKCS1_2048_8192_SHA256, crate::jwks::rsa_public_key_der(n, e))
            }
            (ProofAlgorithm::Ps256, ProofKey::Rsa { n, e }) => {
                (&RSA_PSS_2048_8192_SHA256, crate::jwks::rsa_public_key_der(n, e))
            }
            _ => return false,
        };
        ParsedPublicKey::new(algorithm, der).is_ok_and(|key| key.verify_sig(message, signature).is_ok())
    }
}

/// Proofs seen, by `jti` and key, each until it would be too old anyway.
pub(crate) struct ReplayCache {
    seen: Mutex<HashMap<(String, String), u64>>,
}

impl ReplayCache {
    pub(crate) fn new() -> ReplayCache {
        ReplayCache { seen: Mutex::new(HashMap::new()) }
    }

    /// Records the proof; `false` if it was already seen (or the cache is full
    /// of live proofs, where failing closed is the safe answer).
    fn record_once(&self, jkt: &str, jti: &str, until: u64, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (jkt.to_owned(), jti.to_owned());
        if seen.get(&key).is_some_and(|expiry| *expiry >= now) {
            return false;
        }
        if seen.len() >= MAX_REMEMBERED_PROOFS {
            seen.retain(|_, expiry| *expiry >= now);
            if seen.len() >= MAX_REMEMBERED_PROOFS {
                return false;
            }
        }
        seen.insert(key, until);
        true
    }
}

/// The one `DPoP` header of a request (RFC 9449 §4.3 check 1).
fn proof_header(headers: &HeaderMap) -> Result<&str, GuardError> {
    let mut values = headers.get_all("dpop").iter();
    match (values.next(), values.next()) {
        (None, _) => Err(GuardError::InvalidDpopProof("the request has no DPoP proof".into())),
        (Some(value), None) => value
            .to_str()
            .map(str::trim)
            .map_err(|_| GuardError::InvalidDpopProof("the DPoP header is not ASCII".into())),
        (Some(_), Some(_)) => Err(GuardError::InvalidDpopProof("more than one DPoP header".into())),
    }
}

/// RFC 9449 §7.1: checks the request's proof for `token`, bound to `jkt`,
/// with `htu` built from the resource's public origin and the request path.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_request(
    replay: &ReplayCache,
    headers: &HeaderMap,
    method: &str,
    public_origin: &str,
    path: &str,
    token: &str,
    jkt: &str,
    now: u64,
) -> Result<(), GuardError> {
    let proof = proof_header(headers)?;
    let uri = format!("{public_origin}{path}");
    let context = ProofContext { method, uri: &uri, now, access_token: Some(token), accepted_nonces: None };
    let verified = verify_proof(proof, &context, &AwsLcProofVerifier)
        .map_err(|err| GuardError::InvalidDpopProof(err.description))?;
    if verified.jkt != jkt {
        return Err(GuardError::InvalidDpopProof(
            "the DPoP proof is signed by another key than the token's".into(),
        ));
    }
    let until = verified.iat.saturating_add(MAX_PROOF_AGE).max(now);
    if !replay.record_once(&verified.jkt, &verified.jti, until, now) {
        return Err(GuardError::InvalidDpopProof("the DPoP proof was already used".into()));
    }
    Ok(())
}
