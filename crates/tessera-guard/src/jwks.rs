//! JWKS parsing: each usable key becomes an aws-lc-rs `ParsedPublicKey`
//! once, when the set is fetched, so verifying a token never parses a key.

use std::collections::HashMap;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::config::Algorithm;

/// A public key and the one algorithm it may verify.
pub(crate) struct PublicKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: ParsedPublicKey,
}

/// The keys by `kid`.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: HashMap<String, PublicKey>,
}

impl KeySet {
    pub(crate) fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.get(kid)
    }

    pub(crate) fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    #[cfg(test)]
    fn parse(json: &[u8]) -> Result<KeySet, serde_json::Error> {
        serde_json::from_slice(json).map(KeySet::from_document)
    }

    /// Builds the set from a fetched document. Keys that are not for
    /// signatures, of a type the guard does not support, or malformed are
    /// skipped (and logged), so one odd key does not take the others down.
    pub(crate) fn from_document(document: JwkSetDocument) -> KeySet {
        let mut keys = HashMap::new();
        for jwk in document.keys {
            match jwk.to_public_key() {
                Ok(Some((kid, key))) => {
                    keys.insert(kid, key);
                }
                Ok(None) => {}
                Err(reason) => tracing::warn!(kid = ?jwk.kid, "skipping a JWKS key: {reason}"),
            }
        }
        KeySet { keys }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// A JWKS document (RFC 7517 §5).
#[derive(Deserialize)]
pub(crate) struct JwkSetDocument {
    keys: Vec<Jwk>,
}

/// The members of a JWK (RFC 7517, RFC 7518 §6) the guard reads.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    public_key_use: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

impl Jwk {
    /// `Ok(None)` for keys that are simply not ours to use (encryption keys,
    /// other key types); `Err` for keys that claim to be usable but are not.
    fn to_public_key(&self) -> Result<Option<(String, PublicKey)>, String> {
        if self.public_key_use.as_deref().is_some_and(|u| u != "sig") {
            return Ok(None);
        }
        let (algorithm, key) = match self.kty.as_str() {
            "EC" => {
                if self.crv.as_deref() != Some("P-256") {
                    return Ok(None);
                }
                let x = decode_member(&self.x, "x")?;
                let y = decode_member(&self.y, "y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err("a P-256 coordinate must be 32 bytes".into());
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|err| format!("not a P-256 point: {err}"))?;
                (Algorithm::Es256, key)
            }
            "RSA" => {
                let n = decode_member(&self.n, "n")?;
                let e = decode_member(&self.e, "e")?;
                let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa_public_key_der(&n, &e))
                    .map_err(|err| format!("not a usable RSA key: {err}"))?;
                (Algorithm::Rs256, key)
            }
            _ => return Ok(None),
        };
        // A JWK `alg` pins the key to one algorithm; without it the type decides.
        if let Some(alg) = &self.alg
            && alg != algorithm.as_str()
        {
            return Ok(None);
        }
        let Some(kid) = self.kid.clone() else {
            return Err("the key has no kid".into());
        };
        Ok(Some((kid, PublicKey { algorithm, key })))
    }
}

fn decode_member(member: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let encoded = member.as_deref().ok_or_else(|| format!("the key has no `{name}`"))?;
    URL_SAFE_NO_PAD.decode(encoded).map_err(|_| format!("`{name}` is not base64url"))
}

/// DER of PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`,
/// what aws-lc-rs takes for RSA verification keys.
pub(crate) fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    der_unsigned_integer(&mut body, n);
    der_unsigned_integer(&mut body, e);
    let mut der = Vec::with_capacity(body.len() + 8);
    der.push(0x30);
    der_length(&mut der, body.len());
    der.extend_from_slice(&body);
    der
}

fn der_unsigned_integer(out: &mut Vec<u8>, big_endian: &[u8]) {
    let first_nonzero = big_endian.iter().position(|&b| b != 0).unwrap_or(big_endian.len());
    let digits = &big_endian[first_nonzero..];
    // A leading zero keeps the integer positive when the top bit is set.
    let pad = digits.first().is_none_or(|&b| b & 0x80 != 0);
    out.push(0x02);
    der_length(out, digits.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

fn der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_and_integers() {
        let mut out = Vec::new();
        der_length(&mut out, 0x7f);
        der_length(&mut out, 0x80);
        der_length(&mut out, 0x1234);
        assert_eq!(out, [0x7f, 0x81, 0x80, 0x82, 0x12, 0x34]);
        let mut out = Vec::new();
        der_unsigned_integer(&mut out, &[0x00, 0x80]);
        der_unsigned_integer(&mut out, &[0x01, 0x00, 0x01]);
        assert_eq!(out, [0x02, 0x02, 0x00, 0x80, 0x02, 0x03, 0x01, 0x00, 0x01]);
    }

    #[test]
    fn unsupported_and_encryption_keys_are_skipped() {
        let json = br#"{"keys":[
            {"kty":"oct","kid":"h","k":"c2VjcmV0"},
            {"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"},
            {"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"EC","crv":"P-256","kid":"bad","x":"AA","y":"AA"}
        ]}"#;
        assert_eq!(KeySet::parse(json).expect("parses").len(), 0);
        assert!(KeySet::parse(b"{}").is_err());
    }
}
