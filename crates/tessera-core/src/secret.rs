//! Client secrets at rest: a SHA-256 digest compared in constant time.
//!
//! Generated secrets carry at least 256 bits of entropy, so a fast hash resists
//! brute force as well as a slow one would, and keeps the token endpoint fast.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a secret (client secret, code, refresh token).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> SecretHash {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Rebuilds a stored digest; `None` unless it is exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<SecretHash> {
        bytes.try_into().ok().map(SecretHash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `presented` hashes to this digest, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        let presented = SecretHash::of(presented);
        self.0.ct_eq(&presented.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_secret() {
        let hash = SecretHash::of("s3cret");
        assert!(hash.matches("s3cret"));
        assert!(!hash.matches("s3cret "));
        assert!(!hash.matches(""));
    }

    #[test]
    fn round_trips_through_bytes_and_never_prints_itself() {
        let hash = SecretHash::of("s3cret");
        assert_eq!(SecretHash::from_bytes(hash.as_bytes()), Some(hash.clone()));
        assert_eq!(SecretHash::from_bytes(&[0; 31]), None);
        assert_eq!(format!("{hash:?}"), "SecretHash(..)");
    }
}
