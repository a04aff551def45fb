//! Keys that others sign with and Tessera verifies: a client's assertion keys
//! (`private_key_jwt`) and a DPoP proof's `jwk`. One algorithm list, one key
//! type and one verifier trait serve both, so both accept the same things.

/// The asymmetric JWS algorithms Tessera verifies (never `none` or HMAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    Es256,
    Rs256,
    Ps256,
}

impl SignatureAlgorithm {
    pub const ALL: [SignatureAlgorithm; 3] =
        [SignatureAlgorithm::Es256, SignatureAlgorithm::Rs256, SignatureAlgorithm::Ps256];

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::Es256 => "ES256",
            SignatureAlgorithm::Rs256 => "RS256",
            SignatureAlgorithm::Ps256 => "PS256",
        }
    }

    pub fn parse(raw: &str) -> Option<SignatureAlgorithm> {
        SignatureAlgorithm::ALL.into_iter().find(|alg| alg.as_str() == raw)
    }

    /// Whether this algorithm is used with this kind of key.
    pub fn fits(self, key: &PublicKey) -> bool {
        matches!(
            (self, key),
            (SignatureAlgorithm::Es256, PublicKey::P256 { .. })
                | (SignatureAlgorithm::Rs256 | SignatureAlgorithm::Ps256, PublicKey::Rsa { .. })
        )
    }
}

/// The key material of a public JWK (RFC 7518 §6.2.1, §6.3.1), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// A P-256 point, as its 32-byte big-endian coordinates.
    P256 { x: Vec<u8>, y: Vec<u8> },
    /// RSA modulus and public exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// Checks a signature with a public key; implemented where the crypto library is.
pub trait SignatureVerifier {
    /// Whether `signature` (the raw JWS signature: `r || s` for ES256) over
    /// `message` verifies with `key` under `alg`.
    fn verify(&self, alg: SignatureAlgorithm, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool;
}
