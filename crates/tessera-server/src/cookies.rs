//! The two browser cookies: the session and the CSRF double-submit token.
//! Both are `HttpOnly`, `SameSite=Lax`, and `Secure` unless the issuer is plain
//! http on loopback (where browsers would drop a secure cookie).

use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

use crate::error::ServerError;
use crate::random::random_token;

pub const SESSION_COOKIE: &str = "tessera_session";
pub const CSRF_COOKIE: &str = "tessera_csrf";

/// The value of cookie `name` in the request, if any.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value for the whole site; `max_age` of zero deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: u64,
    secure: bool,
) -> Result<HeaderValue, ServerError> {
    set_scoped_cookie(name, value, CookieScope { path: "/", same_site: "Lax" }, max_age_secs, secure)
}

/// Where a cookie is sent: its path, and its `SameSite` rule.
#[derive(Debug, Clone, Copy)]
pub struct CookieScope {
    pub path: &'static str,
    pub same_site: &'static str,
}

/// A `Set-Cookie` value sent only under `scope`; always `HttpOnly`.
pub fn set_scoped_cookie(
    name: &str,
    value: &str,
    scope: CookieScope,
    max_age_secs: u64,
    secure: bool,
) -> Result<HeaderValue, ServerError> {
    let secure = if secure { "; Secure" } else { "" };
    let CookieScope { path, same_site } = scope;
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}"
    ))
    .map_err(|_| ServerError::Internal("cookie value is not a valid header".into()))
}

/// The CSRF token for a form: the browser's existing one, or a new one with
/// the cookie to set.
pub fn csrf_token(headers: &HeaderMap, secure: bool) -> Result<(String, Option<HeaderValue>), ServerError> {
    if let Some(token) = read_cookie(headers, CSRF_COOKIE).filter(|token| token.len() >= 43) {
        return Ok((token, None));
    }
    let token = random_token(32)?;
    let cookie = set_cookie(CSRF_COOKIE, &token, 12 * 3600, secure)?;
    Ok((token, Some(cookie)))
}

/// Whether a submitted form carries the browser's CSRF token (double submit).
pub fn csrf_matches(headers: &HeaderMap, submitted: Option<&str>) -> bool {
    match (read_cookie(headers, CSRF_COOKIE), submitted) {
        (Some(cookie), Some(submitted)) if cookie.len() >= 43 => {
            cookie.as_bytes().ct_eq(submitted.as_bytes()).into()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; tessera_csrf=abc; b=2"));
        assert_eq!(read_cookie(&headers, CSRF_COOKIE).as_deref(), Some("abc"));
        assert_eq!(read_cookie(&headers, "missing"), None);
    }

    #[test]
    fn csrf_needs_the_same_long_token_in_cookie_and_form() {
        let token = "t".repeat(43);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={token}")).expect("header"),
        );
        assert!(csrf_matches(&headers, Some(&token)));
        assert!(!csrf_matches(&headers, Some("other")));
        assert!(!csrf_matches(&headers, None));
        assert!(!csrf_matches(&HeaderMap::new(), Some(&token)));
    }

    #[test]
    fn cookies_are_httponly_lax_and_secure_when_asked() {
        let cookie = set_cookie(SESSION_COOKIE, "v", 60, true).expect("cookie");
        assert_eq!(cookie, "tessera_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
        let cookie = set_cookie(SESSION_COOKIE, "v", 60, false).expect("cookie");
        assert!(!cookie.to_str().expect("ascii").contains("Secure"));
    }
}
