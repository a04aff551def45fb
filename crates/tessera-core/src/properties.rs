//! Property tests of the rules most worth breaking: scope subset math,
//! redirect URI matching and PKCE. Each property is checked against a model
//! written the obvious way (sets, string equality, SHA-256), on inputs
//! proptest generates, including the near misses an attacker would try.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::authorize::{AuthorizeError, AuthorizePolicy, validate_authorization_request};
use crate::client::{Client, GrantType};
use crate::fixtures;
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::redirect_uri::RedirectUri;
use crate::request::FormParams;
use crate::scope::ScopeSet;

const REGISTERED: &str = "https://app.example.com/cb";

fn scope_token() -> impl Strategy<Value = String> {
    "[a-z]{1,6}(\\.[a-z]{1,6})?"
}

fn scope_set() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::collection::btree_set(scope_token(), 0..6)
}

fn parse_set(set: &BTreeSet<String>) -> ScopeSet {
    ScopeSet::parse(&set.iter().cloned().collect::<Vec<_>>().join(" ")).expect("valid scopes")
}

fn verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn client() -> Client {
    Client {
        redirect_uris: vec![RedirectUri::parse(REGISTERED).expect("uri")],
        grant_types: vec![GrantType::AuthorizationCode],
        ..fixtures::client("app")
    }
}

/// Whether `/authorize` trusts `redirect` enough to send the browser there.
fn redirects_to(redirect: &str) -> bool {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", "app")
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect)
        .append_pair("code_challenge", &s256(&"v".repeat(43)))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let params = FormParams::parse(query.as_bytes()).expect("form");
    let policy = AuthorizePolicy { code_lifetime: 120, allow_plain_pkce: false };
    match validate_authorization_request(&policy, Some(&client()), &params) {
        Ok(request) => request.redirect_uri.as_str() == redirect,
        Err(AuthorizeError::Redirect { redirect_uri, .. }) => redirect_uri.as_str() == redirect,
        Err(AuthorizeError::Page(_)) => false,
    }
}

proptest! {
    #[test]
    fn scope_subsets_agree_with_set_inclusion(asked in scope_set(), granted in scope_set()) {
        let (asked_set, granted_set) = (parse_set(&asked), parse_set(&granted));
        prop_assert_eq!(asked_set.is_subset_of(&granted_set), asked.is_subset(&granted));
        prop_assert_eq!(asked_set.ensure_within(&granted_set).is_ok(), asked.is_subset(&granted));
        let missing: BTreeSet<String> = asked_set.missing_from(&granted_set).map(ToString::to_string).collect();
        prop_assert_eq!(missing, asked.difference(&granted).cloned().collect::<BTreeSet<_>>());
    }

    #[test]
    fn scope_sets_ignore_order_and_repetition(scopes in proptest::collection::vec(scope_token(), 0..8)) {
        let forwards = ScopeSet::parse(&scopes.join(" ")).expect("valid");
        let mut reversed = scopes.clone();
        reversed.reverse();
        reversed.extend(scopes.iter().cloned());
        let backwards = ScopeSet::parse(&reversed.join("  ")).expect("valid");
        prop_assert_eq!(forwards.to_string(), backwards.to_string());
        prop_assert_eq!(ScopeSet::parse(&forwards.to_string()).expect("round trip").to_string(), forwards.to_string());
    }

    #[test]
    fn only_the_registered_redirect_uri_is_trusted(
        position in 0usize..REGISTERED.len(),
        inserted in "[a-zA-Z0-9./@:%?#-]{1,3}",
    ) {
        // Any insertion into the registered URI (a suffix, a prefix host, an
        // `@`, a `..`, an encoded byte, a query, a fragment) names another URI.
        let mut tampered = REGISTERED.to_owned();
        tampered.insert_str(position, &inserted);
        prop_assert!(redirects_to(REGISTERED));
        prop_assert!(!redirects_to(&tampered), "trusted {}", tampered);
    }

    #[test]
    fn a_case_change_names_another_redirect_uri(position in 8usize..REGISTERED.len()) {
        let mut changed: Vec<char> = REGISTERED.chars().collect();
        changed[position] = changed[position].to_ascii_uppercase();
        let changed: String = changed.into_iter().collect();
        // Host names are case-insensitive for URL parsers, but the registered string is compared exactly.
        prop_assert_eq!(redirects_to(&changed), changed == REGISTERED);
    }

    #[test]
    fn s256_accepts_exactly_its_own_verifier(verifier in verifier(), other in verifier()) {
        let challenge = CodeChallenge::parse(Some(&s256(&verifier)), Some("S256"), false)
            .expect("well formed")
            .expect("present");
        prop_assert_eq!(challenge.method, ChallengeMethod::S256);
        prop_assert!(challenge.is_answered_by(&verifier));
        prop_assert_eq!(challenge.is_answered_by(&other), other == verifier);
        // The challenge itself is no answer (a client that sends it back learned nothing).
        prop_assert!(!challenge.is_answered_by(&challenge.value) || challenge.value == verifier);
    }

    #[test]
    fn malformed_verifiers_never_answer(verifier in verifier(), junk in "[^A-Za-z0-9._~-]") {
        let challenge = CodeChallenge::parse(Some(&s256(&verifier)), Some("S256"), false)
            .expect("well formed")
            .expect("present");
        let mut broken = verifier.clone();
        broken.push_str(&junk);
        prop_assert!(!challenge.is_answered_by(&broken));
        prop_assert!(!challenge.is_answered_by(&verifier[..42]), "too short");
    }

    #[test]
    fn plain_is_refused_unless_allowed(verifier in verifier()) {
        prop_assert!(CodeChallenge::parse(Some(&verifier), Some("plain"), false).is_err());
        prop_assert!(CodeChallenge::parse(Some(&verifier), None, false).is_err(), "an omitted method means plain");
        let allowed = CodeChallenge::parse(Some(&verifier), Some("plain"), true).expect("allowed").expect("present");
        prop_assert!(allowed.is_answered_by(&verifier));
    }
}
