//! Abuse controls for dynamic client registration (RFC 7591): the redirect
//! hosts a registration may name, and which clients expire when left unused.
//!
//! These rules apply only to clients registered through `/register` (and their
//! RFC 7592 updates). Clients an administrator creates (CLI, console, admin
//! API) are the operator's own choice and are never checked against them.
//!
//! # The allow-list
//!
//! An entry is a host name, compared after IDNA (punycode) normalization and
//! case-folding, exactly as `url` normalizes the host of a redirect URI:
//!
//! - `app.example.com` allows that host only.
//! - `*.example.com` allows every subdomain (`a.example.com`, `a.b.example.com`)
//!   but not `example.com` itself: list both to allow both. The suffix needs
//!   at least two labels, so that `*.com` cannot allow a whole top-level domain.
//! - An IP address (`127.0.0.1`, `[::1]`) allows that address only; wildcards
//!   never match addresses.
//!
//! Native apps (RFC 8252) follow the same list:
//!
//! - Loopback redirects (§7.3, `http://127.0.0.1:{port}/…`, `http://[::1]/…`,
//!   and `http://localhost/…`, which §8.3 advises against) are allowed only
//!   when that exact loopback host is listed. The port is never compared, as
//!   §7.3 requires any port to work.
//! - A private-use scheme (§7.1) is a domain the app's publisher controls,
//!   written in reverse: `com.example.app:/cb` stands for `app.example.com`,
//!   and is allowed when that domain is (by `app.example.com` or
//!   `*.example.com`). The URI's host, if any, is the app's business.
//!
//! An empty list allows any host that passes the registration rules.

use std::net::Ipv6Addr;

use url::{Host, Url};

use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::redirect_uri::RedirectUri;
use crate::registration::ClientRegistration;

/// The hosts dynamically registered clients may redirect to, parsed once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectHostAllowList {
    patterns: Vec<HostPattern>,
    /// The entries as the operator wrote them, for printing.
    entries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// A normalized domain name (ASCII, lower case, no trailing dot).
    Domain(String),
    /// `*.` followed by this normalized domain: any subdomain of it.
    Subdomains(String),
    /// An IP address literal, in `url`'s serialization (`127.0.0.1`, `[::1]`).
    Address(String),
}

impl RedirectHostAllowList {
    /// Parses the configured entries; the error names the first bad one.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<RedirectHostAllowList, String> {
        let mut patterns = Vec::with_capacity(entries.len());
        for entry in entries {
            let pattern = HostPattern::parse(entry.as_ref().trim())
                .map_err(|why| format!("`{}` {why}", entry.as_ref().escape_default()))?;
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        let entries = entries.iter().map(|entry| entry.as_ref().trim().to_owned()).collect();
        Ok(RedirectHostAllowList { patterns, entries })
    }

    /// No entries: any host is allowed.
    pub fn allows_any(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The entries as configured.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// RFC 7591 §3.2.2: every `redirect_uris` and `post_logout_redirect_uris`
    /// entry of a dynamic registration must be allowed; the first that is not
    /// is `invalid_redirect_uri`, naming its host. Malformed URIs get the
    /// registration rules' own errors.
    pub fn check_registration(&self, registration: &ClientRegistration) -> Result<(), OAuthError> {
        if self.allows_any() {
            return Ok(());
        }
        for raw in registration.redirect_uris.iter().chain(&registration.post_logout_redirect_uris) {
            self.check(&RedirectUri::parse(raw)?)?;
        }
        Ok(())
    }

    /// `invalid_redirect_uri` unless `uri` is allowed.
    pub fn check(&self, uri: &RedirectUri) -> Result<(), OAuthError> {
        if self.allows_any() {
            return Ok(());
        }
        let refused = |what: String| {
            ErrorCode::InvalidRedirectUri.with(format!(
                "`{}`: {what} is not allowed for dynamically registered clients on this server",
                uri.as_str().escape_default()
            ))
        };
        let Ok(url) = Url::parse(uri.as_str()) else {
            return Err(refused("the URI".into()));
        };
        match url.scheme() {
            "https" | "http" => match url.host() {
                Some(Host::Domain(domain)) => {
                    let domain = without_trailing_dot(domain);
                    match self.patterns.iter().any(|pattern| pattern.matches_domain(domain)) {
                        true => Ok(()),
                        false => Err(refused(format!("host `{domain}`"))),
                    }
                }
                Some(address @ (Host::Ipv4(_) | Host::Ipv6(_))) => {
                    let address = address.to_string();
                    match self.patterns.contains(&HostPattern::Address(address.clone())) {
                        true => Ok(()),
                        false => Err(refused(format!("host `{address}`"))),
                    }
                }
                None => Err(refused("a URI without a host".into())),
            },
            // RFC 8252 §7.1: the scheme is the publisher's domain, reversed.
            scheme => {
                let domain = scheme.split('.').rev().collect::<Vec<_>>().join(".");
                match self.patterns.iter().any(|pattern| pattern.matches_domain(&domain)) {
                    true => Ok(()),
                    false => Err(refused(format!("private-use scheme `{scheme}` (domain `{domain}`)"))),
                }
            }
        }
    }
}

impl HostPattern {
    fn parse(entry: &str) -> Result<HostPattern, &'static str> {
        if let Some(suffix) = entry.strip_prefix("*.") {
            let Ok(Host::Domain(domain)) = Host::parse(suffix) else {
                return Err("is not `*.` followed by a domain name");
            };
            let domain = without_trailing_dot(&domain);
            if domain.contains('*') || !domain.contains('.') {
                return Err("must name a domain of at least two labels after `*.`");
            }
            return Ok(HostPattern::Subdomains(domain.to_owned()));
        }
        if entry.contains('*') {
            return Err("may use `*` only as `*.` before a domain name");
        }
        // An IPv6 address is accepted with or without the URL's brackets.
        let host = match entry.parse::<Ipv6Addr>() {
            Ok(address) => Host::Ipv6(address),
            Err(_) => Host::parse(entry).map_err(|_| "is not a host name or IP address")?,
        };
        match host {
            Host::Domain(domain) if !domain.is_empty() && !domain.contains(['/', ':', '@']) => {
                Ok(HostPattern::Domain(without_trailing_dot(&domain).to_owned()))
            }
            Host::Domain(_) => Err("is not a host name or IP address"),
            address => Ok(HostPattern::Address(address.to_string())),
        }
    }

    fn matches_domain(&self, domain: &str) -> bool {
        match self {
            HostPattern::Domain(allowed) => domain == allowed,
            HostPattern::Subdomains(parent) => domain
                .strip_suffix(parent.as_str())
                .and_then(|prefix| prefix.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty()),
            HostPattern::Address(_) => false,
        }
    }
}

fn without_trailing_dot(domain: &str) -> &str {
    domain.strip_suffix('.').unwrap_or(domain)
}

/// Whether `client` is deleted when it stays unused past the configured
/// expiry: it was registered through `/register` (it holds an RFC 7592
/// registration access token) and nobody owns it in the developer portal.
/// The store's `delete_unused_registrations` applies the same rule in SQL.
pub fn expires_when_unused(client: &Client) -> bool {
    client.registration_token_hash.is_some() && client.owner.is_none()
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[track_caller]
    fn check(allowed: &[&str], uri: &str, expect: Expect) {
        let list = RedirectHostAllowList::parse(allowed).expect("valid list");
        let uri = RedirectUri::parse(uri).expect("a valid redirect URI");
        let actual = match list.check(&uri) {
            Ok(()) => "Ok".to_owned(),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[track_caller]
    fn check_entries(entries: &[&str], expect: Expect) {
        let actual = match RedirectHostAllowList::parse(entries) {
            Ok(list) => format!("Ok({:?})", list.patterns),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn an_empty_list_allows_any_host() {
        check(&[], "https://anything.example.net/cb", expect!["Ok"]);
        check(&[], "http://127.0.0.1:9000/cb", expect!["Ok"]);
        check(&[], "com.example.app:/cb", expect!["Ok"]);
    }

    #[test]
    fn exact_hosts() {
        let allowed = &["app.example.com"];
        check(allowed, "https://app.example.com/cb", expect!["Ok"]);
        check(allowed, "https://APP.Example.COM:8443/cb?x=1", expect!["Ok"]);
        check(allowed, "https://app.example.com./cb", expect!["Ok"]);
        check(
            allowed,
            "https://evil.app.example.com/cb",
            expect![
                "Err(invalid_redirect_uri: `https://evil.app.example.com/cb`: host `evil.app.example.com` is not allowed for dynamically registered clients on this server)"
            ],
        );
        check(
            allowed,
            "https://app.example.com.evil.net/cb",
            expect![
                "Err(invalid_redirect_uri: `https://app.example.com.evil.net/cb`: host `app.example.com.evil.net` is not allowed for dynamically registered clients on this server)"
            ],
        );
        // The userinfo part is not the host: `url` finds the real one.
        check(
            allowed,
            "https://app.example.com@evil.net/cb",
            expect![
                "Err(invalid_redirect_uri: `https://app.example.com@evil.net/cb`: host `evil.net` is not allowed for dynamically registered clients on this server)"
            ],
        );
    }

    #[test]
    fn wildcards_match_subdomains_but_not_the_apex() {
        let allowed = &["*.example.com"];
        check(allowed, "https://a.example.com/cb", expect!["Ok"]);
        check(allowed, "https://a.b.example.com/cb", expect!["Ok"]);
        check(
            allowed,
            "https://example.com/cb",
            expect![
                "Err(invalid_redirect_uri: `https://example.com/cb`: host `example.com` is not allowed for dynamically registered clients on this server)"
            ],
        );
        check(
            allowed,
            "https://evilexample.com/cb",
            expect![
                "Err(invalid_redirect_uri: `https://evilexample.com/cb`: host `evilexample.com` is not allowed for dynamically registered clients on this server)"
            ],
        );
        check(&["*.example.com", "example.com"], "https://example.com/cb", expect!["Ok"]);
    }

    #[test]
    fn international_names_compare_as_punycode() {
        check(&["bücher.example"], "https://xn--bcher-kva.example/cb", expect!["Ok"]);
        check(&["xn--bcher-kva.example"], "https://BÜCHER.example/cb", expect!["Ok"]);
        check(&["*.BÜCHER.example"], "https://shop.xn--bcher-kva.example/cb", expect!["Ok"]);
    }

    #[test]
    fn loopback_redirects_need_their_exact_loopback_host() {
        check(&["127.0.0.1"], "http://127.0.0.1:51004/cb", expect!["Ok"]);
        check(&["127.0.0.1"], "http://127.0.0.1/cb", expect!["Ok"]);
        check(&["[::1]"], "http://[::1]:8080/cb", expect!["Ok"]);
        check(&["::1"], "http://[0:0:0:0:0:0:0:1]/cb", expect!["Ok"]);
        check(&["localhost"], "http://localhost:3000/cb", expect!["Ok"]);
        check(
            &["app.example.com"],
            "http://127.0.0.1:51004/cb",
            expect![
                "Err(invalid_redirect_uri: `http://127.0.0.1:51004/cb`: host `127.0.0.1` is not allowed for dynamically registered clients on this server)"
            ],
        );
        check(
            &["localhost"],
            "http://[::1]/cb",
            expect![
                "Err(invalid_redirect_uri: `http://[::1]/cb`: host `[::1]` is not allowed for dynamically registered clients on this server)"
            ],
        );
        check(
            &["127.0.0.1"],
            "http://localhost/cb",
            expect![
                "Err(invalid_redirect_uri: `http://localhost/cb`: host `localhost` is not allowed for dynamically registered clients on this server)"
            ],
        );
    }

    #[test]
    fn private_use_schemes_match_their_reversed_domain() {
        check(&["app.example.com"], "com.example.app:/oauth2redirect", expect!["Ok"]);
        check(&["*.example.com"], "com.example.app:/cb", expect!["Ok"]);
        check(&["*.example.com"], "com.example.mobile.app://evil.net/cb", expect!["Ok"]);
        check(
            &["*.example.com"],
            "com.example:/cb",
            expect![
                "Err(invalid_redirect_uri: `com.example:/cb`: private-use scheme `com.example` (domain `example.com`) is not allowed for dynamically registered clients on this server)"
            ],
        );
        check(
            &["app.example.com"],
            "com.evil.app:/cb",
            expect![
                "Err(invalid_redirect_uri: `com.evil.app:/cb`: private-use scheme `com.evil.app` (domain `app.evil.com`) is not allowed for dynamically registered clients on this server)"
            ],
        );
        check(
            &["127.0.0.1"],
            "com.example.app:/cb",
            expect![
                "Err(invalid_redirect_uri: `com.example.app:/cb`: private-use scheme `com.example.app` (domain `app.example.com`) is not allowed for dynamically registered clients on this server)"
            ],
        );
    }

    #[test]
    fn entries_are_checked() {
        check_entries(
            &[" App.Example.com ", "*.example.org", "127.0.0.1", "[::1]", "::1", "app.example.com."],
            expect![[
                r#"Ok([Domain("app.example.com"), Subdomains("example.org"), Address("127.0.0.1"), Address("[::1]")])"#
            ]],
        );
        check_entries(
            &["*.com"],
            expect!["Err(`*.com` must name a domain of at least two labels after `*.`)"],
        );
        check_entries(&["*"], expect!["Err(`*` may use `*` only as `*.` before a domain name)"]);
        check_entries(
            &["a.*.example.com"],
            expect!["Err(`a.*.example.com` may use `*` only as `*.` before a domain name)"],
        );
        check_entries(&["*.127.0.0.1"], expect!["Err(`*.127.0.0.1` is not `*.` followed by a domain name)"]);
        check_entries(
            &["app.example.com:443"],
            expect!["Err(`app.example.com:443` is not a host name or IP address)"],
        );
        check_entries(
            &["https://app.example.com"],
            expect!["Err(`https://app.example.com` is not a host name or IP address)"],
        );
        check_entries(&[""], expect!["Err(`` is not a host name or IP address)"]);
    }

    #[test]
    fn dynamic_registrations_are_checked_whole() {
        let list = RedirectHostAllowList::parse(&["app.example.com"]).expect("valid");
        let registration = |redirects: &[&str], logouts: &[&str]| ClientRegistration {
            redirect_uris: redirects.iter().map(|uri| (*uri).to_owned()).collect(),
            post_logout_redirect_uris: logouts.iter().map(|uri| (*uri).to_owned()).collect(),
            ..ClientRegistration::default()
        };
        assert_eq!(list.check_registration(&registration(&["https://app.example.com/cb"], &[])), Ok(()));
        let logout = list
            .check_registration(&registration(&["https://app.example.com/cb"], &["https://evil.net/bye"]))
            .expect_err("a post-logout URI is checked too");
        assert_eq!(logout.code, ErrorCode::InvalidRedirectUri);
        assert!(logout.description.contains("host `evil.net`"), "{}", logout.description);
        let malformed = list.check_registration(&registration(&["javascript:alert(1)"], &[]));
        assert_eq!(
            malformed.map_err(|err| err.description),
            Err("`javascript:alert(1)` uses a scheme that is never allowed".into())
        );
        let any = RedirectHostAllowList::default();
        assert_eq!(any.check_registration(&registration(&["https://evil.net/cb"], &[])), Ok(()));
    }

    #[test]
    fn only_unowned_dynamic_registrations_expire() {
        let admin_created = crate::fixtures::client("admin-made");
        assert!(!expires_when_unused(&admin_created));
        let dynamic = Client {
            registration_token_hash: Some(crate::secret::SecretHash::of("registration access token")),
            ..admin_created
        };
        assert!(expires_when_unused(&dynamic));
        let owned = Client { owner: Some("user-1".into()), ..dynamic };
        assert!(!expires_when_unused(&owned));
    }
}
