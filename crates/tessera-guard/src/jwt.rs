//! The synchronous heart of the guard: a compact JWS access token, a key set
//! and the time in, verified claims or the reason for refusal out. No I/O, so
//! every rule is tested without a server.
//!
//! Order matters: the header is judged (`typ`, `alg`, `kid`) before any key is
//! used, the signature before the claims are even parsed, and the claims last.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tessera_core::token::{ACCESS_TOKEN_TYP, Audience};

use crate::config::Algorithm;
use crate::error::GuardError;
use crate::jwks::KeySet;
use crate::token::{VerifiedToken, WireClaims};

/// What a token must satisfy besides its signature.
pub(crate) struct Expectations {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway_secs: u64,
}

/// A token taken apart, before its key is known.
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) kid: String,
    algorithm: Algorithm,
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

fn invalid(reason: &str) -> GuardError {
    GuardError::InvalidToken(reason.to_owned())
}

/// The largest token the guard looks at; real ones are well under 2 KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Splits the token and judges its header.
pub(crate) fn parse<'a>(token: &'a str, expect: &Expectations) -> Result<UnverifiedToken<'a>, GuardError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("the token is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the token is not a compact JWS"));
    };
    let signing_input = &token[..header.len() + 1 + payload.len()];
    let mut buffer = [0u8; 1024];
    let header_len = URL_SAFE_NO_PAD
        .decode_slice(header, &mut buffer)
        .map_err(|_| invalid("the token header is not base64url"))?;
    let header: Header<'_> = serde_json::from_slice(&buffer[..header_len])
        .map_err(|_| invalid("the token header is not valid JSON"))?;
    if header.crit.is_some() {
        return Err(invalid("the token asks for critical extensions the guard does not support"));
    }
    if !header.typ.as_deref().is_some_and(is_access_token_typ) {
        return Err(invalid("the token is not an access token (typ must be at+jwt)"));
    }
    let algorithm = Algorithm::parse(&header.alg)
        .filter(|alg| expect.algorithms.contains(alg))
        .ok_or_else(|| invalid("the token's signing algorithm is not accepted"))?;
    let kid = header.kid.ok_or_else(|| invalid("the token header has no kid"))?;
    Ok(UnverifiedToken { kid, algorithm, signing_input, payload, signature })
}

/// RFC 9068 §2.1: `at+jwt`, or the full media type, compared case-insensitively.
fn is_access_token_typ(typ: &str) -> bool {
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
}

impl UnverifiedToken<'_> {
    /// Checks the signature with the key named by `kid` (which must exist in
    /// `keys`, and be a key of the header's algorithm), then the claims.
    pub(crate) fn verify(
        &self,
        keys: &KeySet,
        expect: &Expectations,
        now: u64,
    ) -> Result<VerifiedToken, GuardError> {
        let key = keys.get(&self.kid).ok_or_else(|| invalid("the token is signed with an unknown key"))?;
        if key.algorithm != self.algorithm {
            return Err(invalid("the token's algorithm does not match its key"));
        }
        // An RS256 signature is at most 1024 bytes (8192-bit keys); base64's
        // length estimate may ask for two more.
        let mut signature = [0u8; 1040];
        let signature_len = URL_SAFE_NO_PAD
            .decode_slice(self.signature, &mut signature)
            .map_err(|_| invalid("the token signature is not base64url"))?;
        key.key
            .verify_sig(self.signing_input.as_bytes(), &signature[..signature_len])
            .map_err(|_| invalid("the token signature is invalid"))?;
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| invalid("the token payload is not base64url"))?;
        let claims: WireClaims = serde_json::from_slice(&payload)
            .map_err(|_| invalid("the token claims are missing or malformed"))?;
        check_claims(&claims, expect, now)?;
        Ok(claims.into_verified())
    }
}

fn check_claims(claims: &WireClaims, expect: &Expectations, now: u64) -> Result<(), GuardError> {
    if claims.issuer() != expect.issuer {
        return Err(invalid("the token was issued by another issuer"));
    }
    let audience_ok = match claims.audience() {
        Audience::One(one) => expect.audiences.iter().any(|a| a == one),
        Audience::Many(many) => many.iter().any(|one| expect.audiences.iter().any(|a| a == one)),
    };
    if !audience_ok {
        return Err(invalid("the token is not meant for this resource (aud)"));
    }
    check_expiry(claims.expires_at(), expect.leeway_secs, now)?;
    if claims.not_before() > now.saturating_add(expect.leeway_secs) {
        return Err(invalid("the token is not valid yet (nbf)"));
    }
    Ok(())
}

/// RFC 7519 §4.1.4: the token must not be accepted on or after `exp`.
pub(crate) fn check_expiry(exp: u64, leeway_secs: u64, now: u64) -> Result<(), GuardError> {
    if now >= exp.saturating_add(leeway_secs) {
        return Err(invalid("the token has expired"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_accepts_the_media_type_in_any_case() {
        assert!(is_access_token_typ("at+jwt"));
        assert!(is_access_token_typ("AT+JWT"));
        assert!(is_access_token_typ("application/at+jwt"));
        assert!(!is_access_token_typ("JWT"));
        assert!(!is_access_token_typ("application/jwt"));
    }

    #[test]
    fn expiry_honours_leeway() {
        assert!(check_expiry(100, 0, 99).is_ok());
        assert!(check_expiry(100, 0, 100).is_err());
        assert!(check_expiry(100, 30, 129).is_ok());
        assert!(check_expiry(100, 30, 130).is_err());
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        let expect = Expectations {
            issuer: "i".into(),
            audiences: vec!["a".into()],
            algorithms: vec![Algorithm::Es256],
            leeway_secs: 0,
        };
        for token in ["", "a.b", "a.b.c.d", "!!.b.c", "e30.e30.sig"] {
            assert!(matches!(parse(token, &expect), Err(GuardError::InvalidToken(_))), "{token}");
        }
        // {"alg":"none","typ":"at+jwt","kid":"k"}
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0Iiwia2lkIjoiayJ9.e30.";
        assert!(matches!(parse(none, &expect), Err(GuardError::InvalidToken(_))));
    }
}
