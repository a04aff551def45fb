//! The route table of `tessera proxy`: which requests need which scopes.
//! Matching is done on a normalized, percent-decoded path, and requests whose
//! path could mean something else to the upstream (dot segments, encoded
//! slashes) are refused, so a route cannot be bypassed by spelling.

use http::Method;
use serde::Deserialize;

use crate::error::GuardError;

/// The routes, in file order: the first that matches decides.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
    unmatched: Unmatched,
}

/// What to answer when no route matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// 403 `access_denied` (the default).
    #[default]
    Forbidden,
    /// 404 `not_found`, not revealing that the proxy knows the path.
    NotFound,
}

/// What a matched route asks of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Forwarded without a token (health checks, public documents).
    Public,
    /// A valid token with every listed scope (none listed: any valid token).
    Scopes(Vec<String>),
}

/// One `[[routes]]` entry, parsed.
#[derive(Debug, Clone)]
pub struct Route {
    /// The `match` text as written, for logs and errors.
    pub pattern: String,
    method: Option<Method>,
    segments: Vec<Segment>,
    /// What the route requires.
    pub access: Access,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: exactly one non-empty segment.
    One,
    /// `**` (last only): any number of segments, including none.
    Rest,
}

/// A `[[routes]]` entry as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteEntry {
    /// `"METHOD /path/pattern"` or `"/path/pattern"` (any method).
    #[serde(rename = "match")]
    pattern: String,
    /// Scopes the token needs, all of them.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// No token needed.
    #[serde(default)]
    public: bool,
}

impl RouteTable {
    /// Builds the table; every pattern is checked here, so a typo fails at
    /// start and not on the first request.
    pub(crate) fn from_entries(
        entries: Vec<RouteEntry>,
        unmatched: Unmatched,
    ) -> Result<RouteTable, GuardError> {
        let routes = entries.into_iter().map(Route::parse).collect::<Result<_, _>>()?;
        Ok(RouteTable { routes, unmatched })
    }

    /// The first route matching `method` and `path`, or the error for an
    /// unmatched or suspicious request. `GET` routes also match `HEAD`.
    pub fn find(&self, method: &Method, path: &str) -> Result<&Route, GuardError> {
        let segments = normalized_segments(path)?;
        self.routes.iter().find(|route| route.matches(method, &segments)).ok_or(match self.unmatched {
            Unmatched::Forbidden => {
                GuardError::AccessDenied("no route of the proxy allows this request".into())
            }
            Unmatched::NotFound => GuardError::NotFound,
        })
    }

    /// The routes, in matching order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

impl Route {
    fn parse(entry: RouteEntry) -> Result<Route, GuardError> {
        let invalid = |why: &str| GuardError::Config(format!("route `{}`: {why}", entry.pattern));
        let text = entry.pattern.trim();
        let (method, path) = match text.split_once(' ') {
            Some((method, path)) => {
                let method = if method == "*" {
                    None
                } else {
                    Some(
                        Method::from_bytes(method.as_bytes())
                            .map_err(|_| invalid("the method is not valid"))?,
                    )
                };
                (method, path.trim())
            }
            None => (None, text),
        };
        let Some(path) = path.strip_prefix('/') else {
            return Err(invalid("the path must start with /"));
        };
        let raw_segments: Vec<&str> = path.split('/').collect();
        let mut segments = Vec::with_capacity(raw_segments.len());
        for (index, raw) in raw_segments.iter().enumerate() {
            segments.push(match *raw {
                "**" if index + 1 == raw_segments.len() => Segment::Rest,
                "**" => return Err(invalid("`**` may only end a pattern")),
                "*" => Segment::One,
                literal if literal.contains('*') => return Err(invalid("`*` must be a whole segment")),
                literal => Segment::Literal(literal.to_owned()),
            });
        }
        let access = match (entry.public, entry.scopes) {
            (true, Some(_)) => return Err(invalid("a public route takes no scopes")),
            (true, None) => Access::Public,
            (false, Some(scopes)) => Access::Scopes(scopes),
            (false, None) => return Err(invalid("give `scopes` (possibly empty) or `public = true`")),
        };
        Ok(Route { pattern: entry.pattern.clone(), method, segments, access })
    }

    fn matches(&self, method: &Method, path: &[String]) -> bool {
        let method_ok = match &self.method {
            None => true,
            Some(expected) => expected == method || (*expected == Method::GET && *method == Method::HEAD),
        };
        method_ok && segments_match(&self.segments, path)
    }
}

fn segments_match(pattern: &[Segment], path: &[String]) -> bool {
    match (pattern.split_first(), path.split_first()) {
        (None, None) => true,
        (Some((Segment::Rest, _)), _) => true,
        (Some((Segment::One, rest)), Some((segment, path_rest))) => {
            !segment.is_empty() && segments_match(rest, path_rest)
        }
        (Some((Segment::Literal(literal), rest)), Some((segment, path_rest))) => {
            literal == segment && segments_match(rest, path_rest)
        }
        _ => false,
    }
}

/// The path's segments, percent-decoded. Refused: anything that decodes to a
/// `/` or `\` inside a segment, control characters, and `.`/`..` segments, as
/// the upstream might resolve them differently than the match did.
fn normalized_segments(path: &str) -> Result<Vec<String>, GuardError> {
    let suspicious = || GuardError::InvalidRequest("the request path is not in normal form".into());
    let Some(path) = path.strip_prefix('/') else {
        return Err(suspicious());
    };
    let mut segments = Vec::new();
    for raw in path.split('/') {
        let decoded: Vec<u8> = percent_decode(raw).ok_or_else(suspicious)?;
        let segment = String::from_utf8(decoded).map_err(|_| suspicious())?;
        if segment == "."
            || segment == ".."
            || segment.contains(['/', '\\'])
            || segment.chars().any(char::is_control)
        {
            return Err(suspicious());
        }
        segments.push(segment);
    }
    Ok(segments)
}

fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, Option<&[&str]>)]) -> RouteTable {
        let entries = routes
            .iter()
            .map(|(pattern, scopes)| RouteEntry {
                pattern: (*pattern).to_owned(),
                scopes: scopes.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
                public: scopes.is_none(),
            })
            .collect();
        RouteTable::from_entries(entries, Unmatched::Forbidden).expect("valid routes")
    }

    fn check(table: &RouteTable, method: &str, path: &str) -> String {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        match table.find(&method, path) {
            Ok(route) => route.pattern.clone(),
            Err(error) => format!("error {}", error.code().unwrap_or_default()),
        }
    }

    #[test]
    fn first_matching_route_wins() {
        let table = table(&[
            ("GET /invoices/*", Some(&["read"])),
            ("POST /invoices", Some(&["write"])),
            ("/admin/**", Some(&["admin"])),
            ("GET /health", None),
            ("* /files/*/raw", Some(&[])),
        ]);
        assert_eq!(check(&table, "GET", "/invoices/42"), "GET /invoices/*");
        assert_eq!(check(&table, "HEAD", "/invoices/42"), "GET /invoices/*");
        assert_eq!(check(&table, "GET", "/invoices/"), "error access_denied");
        assert_eq!(check(&table, "GET", "/invoices/42/lines"), "error access_denied");
        assert_eq!(check(&table, "POST", "/invoices"), "POST /invoices");
        assert_eq!(check(&table, "DELETE", "/admin"), "/admin/**");
        assert_eq!(check(&table, "GET", "/admin/users/1"), "/admin/**");
        assert_eq!(check(&table, "GET", "/%61dmin/users"), "/admin/**");
        assert_eq!(check(&table, "PUT", "/files/a/raw"), "* /files/*/raw");
        assert_eq!(check(&table, "GET", "/health"), "GET /health");
        assert_eq!(check(&table, "GET", "/healthz"), "error access_denied");
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        let table = table(&[("/**", None)]);
        for path in ["/a/../admin", "/a/%2e%2e/admin", "/a%2fb", "/a%5cb", "/./a", "/a%00", "/a%zz", "x"] {
            assert_eq!(check(&table, "GET", path), "error invalid_request", "{path}");
        }
    }

    #[test]
    fn bad_patterns_fail_at_start() {
        for pattern in ["invoices", "GET /a/**/b", "GET /a*", "G@T /a"] {
            let entry = RouteEntry { pattern: pattern.into(), scopes: Some(vec![]), public: false };
            assert!(RouteTable::from_entries(vec![entry], Unmatched::Forbidden).is_err(), "{pattern}");
        }
    }
}
