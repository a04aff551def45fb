//! Signature checks for what others sign (`private_key_jwt` assertions, DPoP
//! proofs), with aws-lc-rs. Which key and algorithm may be used is the core's
//! rule (`tessera_core::public_key`, `client_assertion`, `dpop`); this only
//! does the math.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use tessera_core::public_key::{PublicKey, SignatureAlgorithm, SignatureVerifier};

/// The algorithms this server verifies, for discovery.
pub const VERIFIED_ALGORITHMS: [SignatureAlgorithm; 3] = SignatureAlgorithm::ALL;

/// The algorithm names, as discovery lists them.
pub fn verified_algorithm_names() -> Vec<&'static str> {
    VERIFIED_ALGORITHMS.iter().map(|alg| alg.as_str()).collect()
}

pub struct AwsLcVerifier;

impl SignatureVerifier for AwsLcVerifier {
    fn verify(&self, alg: SignatureAlgorithm, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        match (alg, key) {
            (SignatureAlgorithm::Es256, PublicKey::P256 { x, y }) => {
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
            }
            (SignatureAlgorithm::Rs256 | SignatureAlgorithm::Ps256, PublicKey::Rsa { n, e }) => {
                let params = match alg {
                    SignatureAlgorithm::Ps256 => &RSA_PSS_2048_8192_SHA256,
                    _ => &RSA_PKCS1_2048_8192_SHA256,
                };
                let components =
                    RsaPublicKeyComponents { n: without_leading_zeros(n), e: without_leading_zeros(e) };
                components.verify(params, message, signature).is_ok()
            }
            _ => false,
        }
    }
}

/// JWK integers are big-endian and may carry leading zero bytes, which
/// aws-lc-rs refuses in RSA components.
fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|byte| *byte != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
