//! Redirect URIs as registered by clients (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §4.1).

use std::fmt;

use url::{Host, Url};

use crate::error::{ErrorCode, OAuthError};

/// A redirect URI that passed registration rules: absolute, no fragment, `https`,
/// or `http` on a loopback host, or a private-use scheme of a native app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "blob", "about"];

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<RedirectUri, OAuthError> {
        let invalid =
            |why: &str| ErrorCode::InvalidRedirectUri.with(format!("`{}` {why}", raw.escape_default()));
        if raw.chars().any(char::is_control) {
            return Err(invalid("contains control characters"));
        }
        let url = Url::parse(raw).map_err(|_| invalid("is not an absolute URI"))?;
        if url.fragment().is_some() || raw.contains('#') {
            return Err(invalid("must not contain a fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(invalid("must use https unless its host is a loopback address")),
            scheme if FORBIDDEN_SCHEMES.contains(&scheme) => {
                return Err(invalid("uses a scheme that is never allowed"));
            }
            // RFC 8252 §7.1: a native app's private-use scheme is a reversed domain name.
            scheme if scheme.contains('.') => {}
            _ => {
                return Err(invalid(
                    "uses a custom scheme that is not a reversed domain name (RFC 8252 §7.1)",
                ));
            }
        }
        Ok(RedirectUri(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => domain == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[track_caller]
    fn check(raw: &str, expect: Expect) {
        let actual = match RedirectUri::parse(raw) {
            Ok(uri) => format!("Ok({uri})"),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn registration_rules() {
        check("https://app.example.com/cb", expect!["Ok(https://app.example.com/cb)"]);
        check("http://127.0.0.1:8400/cb", expect!["Ok(http://127.0.0.1:8400/cb)"]);
        check("http://[::1]/cb", expect!["Ok(http://[::1]/cb)"]);
        check("com.example.app:/cb", expect!["Ok(com.example.app:/cb)"]);
        check(
            "http://app.example.com/cb",
            expect![
                "Err(invalid_redirect_uri: `http://app.example.com/cb` must use https unless its host is a loopback address)"
            ],
        );
        check(
            "https://app.example.com/cb#frag",
            expect![
                "Err(invalid_redirect_uri: `https://app.example.com/cb#frag` must not contain a fragment)"
            ],
        );
        check("/cb", expect!["Err(invalid_redirect_uri: `/cb` is not an absolute URI)"]);
        check(
            "javascript:alert(1)",
            expect!["Err(invalid_redirect_uri: `javascript:alert(1)` uses a scheme that is never allowed)"],
        );
        check(
            "data:text/html,hi",
            expect!["Err(invalid_redirect_uri: `data:text/html,hi` uses a scheme that is never allowed)"],
        );
        check(
            "https://a.example.com/\u{0}",
            expect![[
                r#"Err(invalid_redirect_uri: `https://a.example.com/\u{0}` contains control characters)"#
            ]],
        );
        check(
            "myapp://cb",
            expect![
                "Err(invalid_redirect_uri: `myapp://cb` uses a custom scheme that is not a reversed domain name (RFC 8252 §7.1))"
            ],
        );
    }
}
