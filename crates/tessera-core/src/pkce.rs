//! Proof Key for Code Exchange (RFC 7636): the challenge sent with the
//! authorization request and the verifier that must match it at the token step.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ErrorCode, OAuthError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    S256,
    /// Only when a deployment explicitly allows it (RFC 9700 §2.1.1).
    Plain,
}

impl ChallengeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeMethod::S256 => "S256",
            ChallengeMethod::Plain => "plain",
        }
    }

    pub fn parse(raw: &str) -> Option<ChallengeMethod> {
        [ChallengeMethod::S256, ChallengeMethod::Plain].into_iter().find(|method| method.as_str() == raw)
    }
}

/// A code challenge as received (RFC 7636 §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge {
    pub value: String,
    pub method: ChallengeMethod,
}

impl CodeChallenge {
    /// Reads `code_challenge` and `code_challenge_method`. An omitted method
    /// means `plain` (RFC 7636 §4.3), refused unless `allow_plain`.
    pub fn parse(
        challenge: Option<&str>,
        method: Option<&str>,
        allow_plain: bool,
    ) -> Result<Option<CodeChallenge>, OAuthError> {
        let Some(value) = challenge else {
            if method.is_some() {
                return Err(ErrorCode::InvalidRequest.with("code_challenge_method without code_challenge"));
            }
            return Ok(None);
        };
        let method = match method.map(|raw| (raw, ChallengeMethod::parse(raw))) {
            None => ChallengeMethod::Plain,
            Some((_, Some(method))) => method,
            Some((raw, None)) => {
                return Err(ErrorCode::InvalidRequest
                    .with(format!("code_challenge_method `{raw}` is not supported; use S256")));
            }
        };
        if method == ChallengeMethod::Plain && !allow_plain {
            return Err(ErrorCode::InvalidRequest.with("code_challenge_method must be S256"));
        }
        let well_formed = match method {
            // BASE64URL(SHA-256) is always 43 characters.
            ChallengeMethod::S256 => value.len() == 43 && is_pkce_string(value),
            ChallengeMethod::Plain => is_pkce_string(value),
        };
        if !well_formed {
            return Err(ErrorCode::InvalidRequest.with("code_challenge is malformed (RFC 7636 §4.2)"));
        }
        Ok(Some(CodeChallenge { value: value.to_owned(), method }))
    }

    /// Whether `verifier` answers this challenge, compared in constant time.
    pub fn is_answered_by(&self, verifier: &str) -> bool {
        if !is_pkce_string(verifier) {
            return false;
        }
        let expected = match self.method {
            ChallengeMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            ChallengeMethod::Plain => verifier.to_owned(),
        };
        expected.as_bytes().ct_eq(self.value.as_bytes()).into()
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_example() {
        let challenge =
            CodeChallenge::parse(Some(CHALLENGE), Some("S256"), false).expect("valid").expect("some");
        assert!(challenge.is_answered_by(VERIFIER));
        assert!(!challenge.is_answered_by(&VERIFIER.replace('d', "e")));
        assert!(!challenge.is_answered_by("short"));
        assert!(!challenge.is_answered_by(CHALLENGE), "the challenge itself is not a verifier");
    }

    #[test]
    fn plain_only_when_allowed() {
        let err = CodeChallenge::parse(Some(VERIFIER), None, false).expect_err("plain by default");
        assert_eq!(err.description, "code_challenge_method must be S256");
        let plain =
            CodeChallenge::parse(Some(VERIFIER), Some("plain"), true).expect("allowed").expect("some");
        assert!(plain.is_answered_by(VERIFIER));
    }

    #[test]
    fn malformed_challenges() {
        for (challenge, method) in [
            (Some("abc"), Some("S256")),
            (Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"), Some("S256")),
            (Some(CHALLENGE), Some("S512")),
            (None, Some("S256")),
        ] {
            assert!(CodeChallenge::parse(challenge, method, false).is_err(), "{challenge:?} {method:?}");
        }
        assert_eq!(CodeChallenge::parse(None, None, false), Ok(None));
    }
}
