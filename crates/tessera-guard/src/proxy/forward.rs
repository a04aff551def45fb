//! Rewriting a request for the upstream and its response for the client:
//! the URI, hop-by-hop headers, `X-Forwarded-*`, and the `X-Tessera-*` headers
//! that tell the upstream who called. Incoming `X-Tessera-*` headers are
//! always removed first, so a client can never pose as someone else.

use std::net::SocketAddr;

use http::header::{CONNECTION, HOST, HeaderName};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderValue, Uri, Version};

use crate::error::GuardError;
use crate::token::VerifiedToken;

/// `X-Tessera-Client-Id`: the token's `client_id`.
pub const CLIENT_ID_HEADER: HeaderName = HeaderName::from_static("x-tessera-client-id");
/// `X-Tessera-Subject`: the token's `sub`.
pub const SUBJECT_HEADER: HeaderName = HeaderName::from_static("x-tessera-subject");
/// `X-Tessera-Scope`: the token's scopes, space-delimited.
pub const SCOPE_HEADER: HeaderName = HeaderName::from_static("x-tessera-scope");

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// RFC 9110 §7.6.1: headers that concern one connection, never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// The client's address, put in the request's extensions by the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub(crate) SocketAddr);

/// Where requests go: scheme, authority and an optional base path.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    scheme: Scheme,
    authority: Authority,
    base_path: String,
}

impl Upstream {
    pub(crate) fn parse(raw: &str) -> Result<Upstream, GuardError> {
        let invalid = || GuardError::Config(format!("the upstream `{raw}` must be an absolute http(s) URL"));
        let uri: Uri = raw.parse().map_err(|_| invalid())?;
        let scheme =
            uri.scheme().filter(|s| matches!(s.as_str(), "http" | "https")).ok_or_else(invalid)?.clone();
        let authority = uri.authority().ok_or_else(invalid)?.clone();
        if uri.query().is_some() {
            return Err(GuardError::Config(format!("the upstream `{raw}` must not have a query")));
        }
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Upstream { scheme, authority, base_path })
    }

    /// The upstream URI for a request to `original`: base path + path + query.
    pub(crate) fn uri_for(&self, original: &Uri) -> Result<Uri, GuardError> {
        let path_and_query = original.path_and_query().map_or("/", PathAndQuery::as_str);
        let path_and_query: PathAndQuery = format!("{}{path_and_query}", self.base_path)
            .parse()
            .map_err(|_| GuardError::InvalidRequest("the request target cannot be forwarded".into()))?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|_| GuardError::InvalidRequest("the request target cannot be forwarded".into()))
    }
}

/// Prepares the request parts for the upstream.
pub(crate) fn rewrite_request(
    parts: &mut http::request::Parts,
    upstream: &Upstream,
    token: Option<&VerifiedToken>,
) -> Result<(), GuardError> {
    let original_host = parts
        .headers
        .get(HOST)
        .cloned()
        .or_else(|| parts.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()));
    parts.uri = upstream.uri_for(&parts.uri)?;
    // The upstream connection is HTTP/1.1 whatever the client spoke.
    parts.version = Version::HTTP_11;
    let headers = &mut parts.headers;
    remove_hop_by_hop(headers);
    // The client sets Host from the upstream URI.
    headers.remove(HOST);
    let spoofed: Vec<HeaderName> =
        headers.keys().filter(|name| name.as_str().starts_with("x-tessera-")).cloned().collect();
    for name in spoofed {
        headers.remove(name);
    }
    if let Some(host) = original_host {
        headers.insert(X_FORWARDED_HOST, host);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    if let Some(PeerAddr(peer)) = parts.extensions.get::<PeerAddr>() {
        let forwarded_for = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {}", peer.ip()),
            None => peer.ip().to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
            headers.insert(X_FORWARDED_FOR, value);
        }
    }
    if let Some(token) = token {
        headers.insert(CLIENT_ID_HEADER, claim_header(&token.claims.client_id)?);
        headers.insert(SUBJECT_HEADER, claim_header(&token.claims.sub)?);
        headers.insert(SCOPE_HEADER, claim_header(&token.scopes.join(" "))?);
    }
    Ok(())
}

/// Prepares the upstream's response headers for the client.
pub(crate) fn rewrite_response(headers: &mut HeaderMap) {
    remove_hop_by_hop(headers);
}

fn claim_header(value: &str) -> Result<HeaderValue, GuardError> {
    HeaderValue::from_bytes(value.as_bytes())
        .map_err(|_| GuardError::InvalidToken("the token's claims cannot be forwarded as headers".into()))
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    // `Upgrade` is hop-by-hop too; the proxy does not tunnel upgrades.
    headers.remove(http::header::UPGRADE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_uri_keeps_path_and_query_under_the_base() {
        let upstream = Upstream::parse("http://127.0.0.1:9000/api/").expect("upstream");
        let original: Uri = "/invoices/1?page=2&q=a%20b".parse().expect("uri");
        assert_eq!(
            upstream.uri_for(&original).expect("uri").to_string(),
            "http://127.0.0.1:9000/api/invoices/1?page=2&q=a%20b"
        );
        assert!(Upstream::parse("ftp://x").is_err());
        assert!(Upstream::parse("/relative").is_err());
    }
}
