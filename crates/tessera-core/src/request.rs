//! Form-encoded request parameters, checked once on the way in.
//!
//! RFC 6749 §3.2 and OAuth 2.1 §3.2.2: parameters must not repeat, and a
//! parameter sent without a value is treated as omitted. RFC 8707 is the one
//! exception to the first rule: `resource` may be given several times.

use crate::error::{ErrorCode, OAuthError};

/// Parameters that RFC 8707 allows to appear more than once.
const MULTI_VALUED: &[&str] = &["resource"];

/// Decoded `application/x-www-form-urlencoded` pairs without repeats or empty values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormParams {
    pairs: Vec<(String, String)>,
}

impl FormParams {
    /// Decodes a form body, refusing repeated parameters.
    pub fn parse(body: &[u8]) -> Result<FormParams, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            let repeated = pairs.iter().any(|(seen, _)| *seen == name);
            if repeated && !MULTI_VALUED.contains(&name.as_ref()) {
                return Err(
                    ErrorCode::InvalidRequest.with(format!("parameter `{name}` must not be repeated"))
                );
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(FormParams { pairs })
    }

    /// The value of a single-valued parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Every value of a parameter, in the order sent.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// A required parameter, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| ErrorCode::InvalidRequest.with(format!("missing required parameter `{name}`")))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Encodes the parameters back to `application/x-www-form-urlencoded`.
    pub fn encode(&self) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    }

    /// The same parameters without `name`, or with `keep` applied to its value
    /// (an empty result drops it).
    pub fn with_value_filtered(&self, name: &str, keep: impl Fn(&str) -> String) -> FormParams {
        let pairs = self
            .pairs
            .iter()
            .filter_map(|(key, value)| match key == name {
                true => Some((key.clone(), keep(value))).filter(|(_, value)| !value.is_empty()),
                false => Some((key.clone(), value.clone())),
            })
            .collect();
        FormParams { pairs }
    }

    /// The same parameters with `name` set to `value` (last), replacing any
    /// value it had; an empty value drops it, as parsing would.
    pub fn with_value(&self, name: &str, value: &str) -> FormParams {
        let mut replaced = self.with_value_filtered(name, |_| String::new());
        if !value.is_empty() {
            replaced.pairs.push((name.to_owned(), value.to_owned()));
        }
        replaced
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[track_caller]
    fn check(body: &str, expect: Expect) {
        let actual = match FormParams::parse(body.as_bytes()) {
            Ok(params) => format!("{:?}", params.pairs),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn decodes_pairs() {
        check(
            "grant_type=client_credentials&scope=a+b%20c",
            expect![[r#"[("grant_type", "client_credentials"), ("scope", "a b c")]"#]],
        );
    }

    #[test]
    fn empty_values_count_as_omitted() {
        check("scope=&grant_type=x", expect![[r#"[("grant_type", "x")]"#]]);
    }

    #[test]
    fn repeated_parameter_is_refused() {
        check("scope=a&scope=b", expect!["Err(invalid_request: parameter `scope` must not be repeated)"]);
    }

    #[test]
    fn resource_may_repeat() {
        check(
            "resource=https://a&resource=https://b",
            expect![[r#"[("resource", "https://a"), ("resource", "https://b")]"#]],
        );
    }

    #[test]
    fn a_value_can_be_set_or_replaced() {
        let params = FormParams::parse(b"a=1&b=2").expect("valid form");
        assert_eq!(params.with_value("a", "3").encode(), "b=2&a=3");
        assert_eq!(params.with_value("c", "x y").encode(), "a=1&b=2&c=x+y");
        assert_eq!(params.with_value("a", "").encode(), "b=2");
    }

    #[test]
    fn require_names_the_missing_parameter() {
        let params = FormParams::parse(b"a=1").expect("valid form");
        let err = params.require("grant_type").expect_err("missing");
        assert_eq!(err.to_string(), "invalid_request: missing required parameter `grant_type`");
    }
}
