//! JWS compact serialization (RFC 7515 §7.1) of claims the core built.
//!
//! The core assembles header, payload and signing input; the private-key
//! operation itself sits behind [`Signer`], implemented where keys are loaded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

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

/// The protected header fields Tessera reads when verifying.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    /// RFC 7515 §4.1.11: extensions that must be understood; Tessera understands none.
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// A compact JWS taken apart, signature not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsParts<'a> {
    pub header: JwsHeader,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: what the signature covers.
    pub signing_input: &'a str,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS; `None` if it is not well formed or asks
/// for critical extensions.
pub fn split(token: &str) -> Option<JwsParts<'_>> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    let header: JwsHeader = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.crit.is_some() {
        return None;
    }
    Some(JwsParts {
        header,
        signing_input,
        payload: URL_SAFE_NO_PAD.decode(payload).ok()?,
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
    })
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
    fn split_round_trips_and_refuses_malformed_tokens() {
        let token = encode(&FakeSigner, "at+jwt", &serde_json::json!({"sub": "a"})).expect("signs");
        let parts = split(&token).expect("well formed");
        assert_eq!(parts.header.alg, "ES256");
        assert_eq!(parts.header.kid.as_deref(), Some("k1"));
        assert_eq!(parts.payload, br#"{"sub":"a"}"#);
        assert_eq!(parts.signing_input, &token[..token.rfind('.').expect("dot")]);
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.sig", "e30.e30.!!"] {
            assert!(split(bad).is_none(), "{bad}");
        }
        let crit = format!("{}.e30.AA", URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","crit":["exp"]}"#));
        assert!(split(&crit).is_none(), "critical extensions are refused");
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
