//! JWS compact serialization (RFC 7515 §7.1) of claims the core built.
//!
//! The core assembles header, payload and signing input; the private-key
//! operation itself sits behind [`Signer`], implemented where keys are loaded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// The JWS algorithms Tessera signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256: the default for access tokens.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: the default for ID tokens.
    Rs256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::Es256, Algorithm::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
        }
    }

    pub fn parse(raw: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.as_str() == raw)
    }
}

/// A private key able to sign; implementations hold the parsed key in memory.
pub trait Signer: Send + Sync {
    fn algorithm(&self) -> Algorithm;
    /// The `kid` the JWKS publishes for the matching public key.
    fn key_id(&self) -> &str;
    /// The raw JWS signature over `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError>;
}

/// The signer failed; an internal error, never the caller's fault.
#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SigningError(pub String);

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` as a compact JWS with the given `typ`.
pub fn encode<C: Serialize>(signer: &dyn Signer, typ: &str, claims: &C) -> Result<String, SigningError> {
    let header = Header { alg: signer.algorithm().as_str(), typ, kid: signer.key_id() };
    let mut token = String::with_capacity(512);
    URL_SAFE_NO_PAD.encode_string(json(&header)?, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(json(claims)?, &mut token);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, SigningError> {
    serde_json::to_vec(value).map_err(|err| SigningError(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeSigner;

    impl Signer for FakeSigner {
        fn algorithm(&self) -> Algorithm {
            Algorithm::Es256
        }
        fn key_id(&self) -> &str {
            "k1"
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
            Ok(message.len().to_be_bytes().to_vec())
        }
    }

    #[test]
    fn compact_serialization() {
        let token = encode(&FakeSigner, "at+jwt", &serde_json::json!({"sub": "a"})).expect("signs");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD.decode(parts[0]).expect("b64");
        assert_eq!(header, br#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64"), br#"{"sub":"a"}"#);
        let signing_input_len = parts[0].len() + 1 + parts[1].len();
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"), signing_input_len.to_be_bytes());
    }
}
