//! A hostile client: malformed and malicious requests across every endpoint.
//! Each must get the answer its RFC prescribes (status and error code, or an
//! error page that never redirects), and the server must stay healthy and keep
//! serving honest clients afterwards. Every case runs, and every mismatch is
//! reported at the end, so one run shows the whole picture.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tessera_core::registration::ClientRegistration;
use tessera_testkit::{TestApp, authorize_in_browser, form_body};

const REDIRECT: &str = "https://app.example.com/cb";
const PASSWORD: &str = "hostile suite password";

/// What a case must get back.
enum Expect {
    /// This status and, in a JSON body, this `error`.
    Error(u16, &'static str),
    /// This status, whatever the body.
    Status(u16),
    /// An HTML error page (400) and no redirect anywhere.
    Page,
    /// A redirect to the client carrying this `error`.
    Redirected(&'static str),
    /// Introspection says `{"active": false}`.
    Inactive,
}

struct Suite {
    app: TestApp,
    client_id: String,
    secret: String,
    public_id: String,
    failures: Vec<String>,
    cases: usize,
}

impl Suite {
    fn basic(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.client_id, self.secret)))
    }

    fn token_request(&self, form: &[(&str, &str)]) -> RequestBuilder {
        self.app
            .http
            .post(self.app.url("/token"))
            .header("authorization", self.basic())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form))
    }

    fn introspect(&self, token: &str) -> RequestBuilder {
        self.app
            .http
            .post(self.app.url("/introspect"))
            .header("authorization", self.basic())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("token", token)]))
    }

    fn authorize(&self, query: &str) -> RequestBuilder {
        self.app.http.get(self.app.url(&format!("/authorize?{query}")))
    }

    async fn check(&mut self, name: &str, request: RequestBuilder, expect: Expect) {
        self.cases += 1;
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return self.failures.push(format!("{name}: no response: {err}")),
        };
        let status = response.status().as_u16();
        let location =
            response.headers().get("location").and_then(|value| value.to_str().ok()).map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let outcome = match expect {
            Expect::Error(want_status, want_error) => (status == want_status && json["error"] == want_error)
                .then_some(())
                .ok_or(format!("want {want_status} {want_error}, got {status} {body}")),
            Expect::Status(want) => {
                (status == want).then_some(()).ok_or(format!("want {want}, got {status} {body}"))
            }
            Expect::Page => (status == 400 && location.is_none() && body.contains("<html"))
                .then_some(())
                .ok_or(format!("want an error page, got {status} location={location:?}")),
            Expect::Redirected(error) => {
                let redirected = location
                    .as_deref()
                    .is_some_and(|to| to.starts_with(REDIRECT) && to.contains(&format!("error={error}")));
                (status == 303 && redirected)
                    .then_some(())
                    .ok_or(format!("want a redirect with {error}, got {status} {location:?}"))
            }
            Expect::Inactive => (status == 200 && json == json!({ "active": false }))
                .then_some(())
                .ok_or(format!("want inactive, got {status} {body}")),
        };
        if let Err(why) = outcome {
            self.failures.push(format!("{name}: {why}"));
        }
    }

    /// A fresh code for the confidential client, with an S256 challenge of `verifier`.
    async fn code(&self, verifier: &str) -> String {
        let challenge = URL_SAFE_NO_PAD
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()));
        let url = self.app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=contact.read%20offline_access&state=s\
             &code_challenge={challenge}&code_challenge_method=S256",
            self.client_id,
            urlencode(REDIRECT)
        ));
        let back = authorize_in_browser(
            &self.app.browser(),
            &url,
            "mallory",
            PASSWORD,
            &["contact.read", "offline_access"],
        )
        .await;
        back.query_pairs().find(|(key, _)| key == "code").map(|(_, value)| value.into_owned()).expect("code")
    }
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn as_refs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(key, value)| (*key, value.as_str())).collect()
}

fn jwt(header: Value, claims: Value, signature: &[u8]) -> String {
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!("{}.{}.{}", part(&header), part(&claims), URL_SAFE_NO_PAD.encode(signature))
}

#[tokio::test]
async fn hostile_requests_get_their_rfc_answers_and_the_server_stays_healthy() {
    let app = TestApp::spawn().await;
    app.add_scope("contact.read").await;
    app.add_scope("admin.all").await;
    app.add_user("mallory", PASSWORD).await;
    let confidential = app
        .register(ClientRegistration {
            name: "Target".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into(), "offline_access".into()],
            grant_types: vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ],
            ..ClientRegistration::default()
        })
        .await;
    let public = app
        .register(ClientRegistration {
            name: "Public".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into()],
            public: true,
            ..ClientRegistration::default()
        })
        .await;
    // Another client with the same grants: a stolen code or refresh token must not work for it.
    let other = app
        .register(ClientRegistration {
            name: "Other".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into(), "offline_access".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            ..ClientRegistration::default()
        })
        .await;
    let (other_id, other_secret) =
        (other.client.client_id.clone(), other.client_secret.clone().expect("secret"));
    let mut s = Suite {
        client_id: confidential.client.client_id.clone(),
        secret: confidential.client_secret.clone().expect("secret"),
        public_id: public.client.client_id.clone(),
        app,
        failures: Vec::new(),
        cases: 0,
    };
    let cc = [("grant_type", "client_credentials")];

    // ---- /token: transport and syntax -----------------------------------
    s.check("GET /token", s.app.http.get(s.app.url("/token")), Expect::Error(405, "invalid_request")).await;
    let json_body = s
        .app
        .http
        .post(s.app.url("/token"))
        .header("authorization", s.basic())
        .json(&json!({"grant_type": "client_credentials"}));
    s.check("JSON body", json_body, Expect::Error(400, "invalid_request")).await;
    let in_query = s
        .app
        .http
        .post(s.app.url("/token?grant_type=client_credentials"))
        .header("authorization", s.basic())
        .header("content-type", "application/x-www-form-urlencoded");
    s.check("parameters in the query", in_query, Expect::Error(400, "invalid_request")).await;
    let huge = s.token_request(&[("grant_type", "client_credentials"), ("pad", &"x".repeat(20_000))]);
    s.check("oversized body", huge, Expect::Error(413, "invalid_request")).await;
    let duplicated =
        s.token_request(&[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]);
    s.check("duplicate grant_type", duplicated, Expect::Error(400, "invalid_request")).await;
    s.check(
        "missing grant_type",
        s.token_request(&[("scope", "contact.read")]),
        Expect::Error(400, "invalid_request"),
    )
    .await;
    s.check(
        "unknown grant_type",
        s.token_request(&[("grant_type", "urn:evil")]),
        Expect::Error(400, "unsupported_grant_type"),
    )
    .await;
    s.check(
        "password grant",
        s.token_request(&[("grant_type", "password"), ("username", "mallory"), ("password", PASSWORD)]),
        Expect::Error(400, "unsupported_grant_type"),
    )
    .await;
    s.check(
        "implicit via token endpoint",
        s.token_request(&[("grant_type", "implicit")]),
        Expect::Error(400, "unsupported_grant_type"),
    )
    .await;

    // ---- /token: client authentication ----------------------------------
    let both = s.token_request(&[("grant_type", "client_credentials"), ("client_secret", "also-here")]);
    s.check("Basic and client_secret together", both, Expect::Error(400, "invalid_request")).await;
    let wrong = s.app.http.post(s.app.url("/token")).basic_auth(&s.client_id, Some("wrong")).form(&cc);
    s.check("wrong secret", wrong, Expect::Error(401, "invalid_client")).await;
    let unknown = s.app.http.post(s.app.url("/token")).basic_auth("no-such-client", Some("x")).form(&cc);
    s.check("unknown client", unknown, Expect::Error(401, "invalid_client")).await;
    let garbage =
        s.app.http.post(s.app.url("/token")).header("authorization", "Basic !!!not-base64!!!").form(&cc);
    s.check("Basic header not base64", garbage, Expect::Error(401, "invalid_client")).await;
    let no_colon = s
        .app
        .http
        .post(s.app.url("/token"))
        .header("authorization", format!("Basic {}", STANDARD.encode("nocolon")))
        .form(&cc);
    s.check("Basic header without a colon", no_colon, Expect::Error(401, "invalid_client")).await;
    let control = s.app.http.post(s.app.url("/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "evil\u{1}id"),
        ("client_secret", "x"),
    ]);
    s.check("control character in client_id", control, Expect::Error(401, "invalid_client")).await;
    let sql = s.app.http.post(s.app.url("/token")).basic_auth("' OR '1'='1", Some("' OR '1'='1")).form(&cc);
    s.check("SQL in credentials", sql, Expect::Error(401, "invalid_client")).await;
    let public_cc = s
        .app
        .http
        .post(s.app.url("/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", s.public_id.as_str())]);
    s.check("client_credentials by a public client", public_cc, Expect::Error(400, "unauthorized_client"))
        .await;
    let no_auth = s.app.http.post(s.app.url("/token")).form(&cc);
    s.check("no client authentication", no_auth, Expect::Error(401, "invalid_client")).await;

    // ---- /token: scopes --------------------------------------------------
    s.check(
        "scope escalation",
        s.token_request(&[("grant_type", "client_credentials"), ("scope", "admin.all")]),
        Expect::Error(400, "invalid_scope"),
    )
    .await;
    s.check(
        "unknown scope",
        s.token_request(&[("grant_type", "client_credentials"), ("scope", "root")]),
        Expect::Error(400, "invalid_scope"),
    )
    .await;
    s.check(
        "scope with a quote",
        s.token_request(&[("grant_type", "client_credentials"), ("scope", "contact.read\"")]),
        Expect::Error(400, "invalid_scope"),
    )
    .await;
    s.check(
        "resource not registered",
        s.token_request(&[("grant_type", "client_credentials"), ("resource", "https://evil.example.com")]),
        Expect::Error(400, "invalid_target"),
    )
    .await;

    // ---- /token: codes, PKCE and refresh tokens ---------------------------
    let verifier = "v".repeat(43);
    let code = s.code(&verifier).await;
    let redeem = |code: &str, verifier: &str, redirect: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let wrong_verifier = redeem(&code, &"w".repeat(43), REDIRECT);
    s.check(
        "wrong PKCE verifier",
        s.token_request(&as_refs(&wrong_verifier)),
        Expect::Error(400, "invalid_grant"),
    )
    .await;
    let code = s.code(&verifier).await;
    let downgrade =
        [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
    s.check("PKCE downgrade (no verifier)", s.token_request(&downgrade), Expect::Error(400, "invalid_grant"))
        .await;
    let code = s.code(&verifier).await;
    let other_redirect = redeem(&code, &verifier, "https://app.example.com/other");
    s.check(
        "code with another redirect_uri",
        s.token_request(&as_refs(&other_redirect)),
        Expect::Error(400, "invalid_grant"),
    )
    .await;
    let code = s.code(&verifier).await;
    let stolen = s
        .app
        .http
        .post(s.app.url("/token"))
        .basic_auth(&other_id, Some(&other_secret))
        .form(&as_refs(&redeem(&code, &verifier, REDIRECT)));
    s.check("code redeemed by another client", stolen, Expect::Error(400, "invalid_grant")).await;
    let code = s.code(&verifier).await;
    let honest = redeem(&code, &verifier, REDIRECT);
    let tokens: Value =
        s.token_request(&as_refs(&honest)).send().await.expect("redeem").json().await.expect("json");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    s.check("code replay", s.token_request(&as_refs(&honest)), Expect::Error(400, "invalid_grant")).await;
    s.check(
        "empty code",
        s.token_request(&[("grant_type", "authorization_code"), ("redirect_uri", REDIRECT)]),
        Expect::Error(400, "invalid_request"),
    )
    .await;
    s.check(
        "made-up code",
        s.token_request(&as_refs(&redeem("made-up", &verifier, REDIRECT))),
        Expect::Error(400, "invalid_grant"),
    )
    .await;
    let code = s.code(&verifier).await;
    let tokens: Value = s
        .token_request(&as_refs(&redeem(&code, &verifier, REDIRECT)))
        .send()
        .await
        .expect("redeem")
        .json()
        .await
        .expect("json");
    let refresh_token_2 = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let widen = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token_2.as_str()),
        ("scope", "contact.read admin.all"),
    ];
    s.check("refresh widening the scope", s.token_request(&widen), Expect::Error(400, "invalid_scope")).await;
    let foreign = s
        .app
        .http
        .post(s.app.url("/token"))
        .basic_auth(&other_id, Some(&other_secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token_2.as_str())]);
    s.check("refresh token of another client", foreign, Expect::Error(400, "invalid_grant")).await;
    let revoked_family = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())];
    s.check(
        "refresh token of a replayed code",
        s.token_request(&revoked_family),
        Expect::Error(400, "invalid_grant"),
    )
    .await;
    let rotate = [("grant_type", "refresh_token"), ("refresh_token", refresh_token_2.as_str())];
    let rotated = s.token_request(&rotate).send().await.expect("rotate");
    assert_eq!(rotated.status(), StatusCode::OK, "an honest rotation");
    s.check("refresh token replay", s.token_request(&rotate), Expect::Error(400, "invalid_grant")).await;

    // ---- /authorize: redirect URI tricks never redirect ---------------------
    let base = format!(
        "response_type=code&client_id={}&scope=contact.read&state=s&code_challenge={}&code_challenge_method=S256",
        s.client_id,
        "c".repeat(43)
    );
    for (name, redirect) in [
        ("unregistered redirect_uri", "https://evil.example.com/cb"),
        ("prefix trick", "https://app.example.com/cb.evil.example.com"),
        ("suffix path", "https://app.example.com/cb/../../evil"),
        ("userinfo@host", "https://app.example.com@evil.example.com/cb"),
        ("fragment", "https://app.example.com/cb#x"),
        ("upper-case path", "https://app.example.com/CB"),
        ("encoded dots", "https://app.example.com/cb/%2e%2e/evil"),
        ("extra query", "https://app.example.com/cb?next=https://evil.example.com"),
        ("http downgrade", "http://app.example.com/cb"),
        ("another port", "https://app.example.com:8443/cb"),
    ] {
        let query = format!("{base}&redirect_uri={}", urlencode(redirect));
        s.check(name, s.authorize(&query), Expect::Page).await;
    }
    s.check(
        "unknown client at /authorize",
        s.authorize(&format!("response_type=code&client_id=nobody&redirect_uri={}", urlencode(REDIRECT))),
        Expect::Page,
    )
    .await;
    s.check("no client_id at /authorize", s.authorize("response_type=code"), Expect::Page).await;
    let with_redirect = format!("{base}&redirect_uri={}", urlencode(REDIRECT));
    s.check(
        "implicit response_type",
        s.authorize(&with_redirect.replace("response_type=code", "response_type=token")),
        Expect::Redirected("unsupported_response_type"),
    )
    .await;
    let plain = format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=contact.read&state=s&code_challenge={}&code_challenge_method=plain",
        s.client_id,
        urlencode(REDIRECT),
        "c".repeat(43)
    );
    s.check("plain PKCE", s.authorize(&plain), Expect::Redirected("invalid_request")).await;
    let no_pkce = format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=contact.read&state=s",
        s.public_id,
        urlencode(REDIRECT)
    );
    s.check("public client without PKCE", s.authorize(&no_pkce), Expect::Redirected("invalid_request")).await;
    s.check(
        "scope escalation at /authorize",
        s.authorize(&with_redirect.replace("scope=contact.read", "scope=admin.all")),
        Expect::Redirected("invalid_scope"),
    )
    .await;
    // A repeated parameter makes the whole request ambiguous, `state` included:
    // it is refused on a page rather than sent back (RFC 6749 §3.1).
    s.check("duplicate state", s.authorize(&format!("{with_redirect}&state=again")), Expect::Page).await;

    // ---- tokens that are not ours: alg confusion, kid injection, tampering ----
    let now = tessera_testkit::unix_now();
    let claims = json!({"iss": s.app.base_url, "sub": s.client_id, "aud": s.app.base_url, "client_id": s.client_id, "scope": "contact.read", "iat": now, "nbf": now, "exp": now + 600, "jti": "forged"});
    s.check(
        "alg none",
        s.introspect(&jwt(json!({"alg": "none", "typ": "at+jwt"}), claims.clone(), b"")),
        Expect::Inactive,
    )
    .await;
    let hs256 = jwt(
        json!({"alg": "HS256", "typ": "at+jwt", "kid": "any"}),
        claims.clone(),
        b"signed-with-a-public-key",
    );
    s.check("HS256 alg confusion", s.introspect(&hs256), Expect::Inactive).await;
    let kid = jwt(
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "../../../../etc/passwd"}),
        claims.clone(),
        &[0; 64],
    );
    s.check("kid path injection", s.introspect(&kid), Expect::Inactive).await;
    let jku = jwt(
        json!({"alg": "ES256", "typ": "at+jwt", "jku": "https://evil.example.com/jwks"}),
        claims.clone(),
        &[0; 64],
    );
    s.check("jku header", s.introspect(&jku), Expect::Inactive).await;
    let real = s.app.access_token(&s.client_id, &s.secret).await;
    let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
    parts[1] =
        URL_SAFE_NO_PAD.encode(json!({"sub": "admin", "scope": "admin.all", "exp": now + 9999}).to_string());
    s.check("tampered payload", s.introspect(&parts.join(".")), Expect::Inactive).await;
    s.check("not a JWT", s.introspect("definitely-not-a-jwt"), Expect::Inactive).await;

    // ---- userinfo, introspection and revocation authentication ------------
    s.check(
        "userinfo without a token",
        s.app.http.get(s.app.url("/userinfo")),
        Expect::Error(401, "invalid_token"),
    )
    .await;
    s.check(
        "userinfo with garbage",
        s.app.http.get(s.app.url("/userinfo")).bearer_auth("garbage"),
        Expect::Error(401, "invalid_token"),
    )
    .await;
    s.check(
        "introspection without authentication",
        s.app.http.post(s.app.url("/introspect")).form(&[("token", real.as_str())]),
        Expect::Error(401, "invalid_client"),
    )
    .await;
    s.check(
        "revocation without authentication",
        s.app.http.post(s.app.url("/revoke")).form(&[("token", real.as_str())]),
        Expect::Error(401, "invalid_client"),
    )
    .await;
    let unknown_revocation = s
        .app
        .http
        .post(s.app.url("/revoke"))
        .basic_auth(&s.client_id, Some(&s.secret))
        .form(&[("token", "unknown-token")]);
    s.check("revoking an unknown token (RFC 7009 §2.2)", unknown_revocation, Expect::Status(200)).await;

    // ---- dynamic registration --------------------------------------------
    let register = |body: Value| s.app.http.post(s.app.url("/register")).json(&body);
    s.check(
        "registration without an initial access token",
        register(json!({"redirect_uris": [REDIRECT]})),
        Expect::Error(401, "invalid_token"),
    )
    .await;
    let bad_uri = s
        .app
        .http
        .post(s.app.url("/register"))
        .bearer_auth("wrong-initial-token")
        .json(&json!({"redirect_uris": ["javascript:alert(1)"]}));
    s.check("registration with a wrong initial token", bad_uri, Expect::Error(401, "invalid_token")).await;

    // ---- forms and framing --------------------------------------------------
    let login = s
        .app
        .http
        .post(s.app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=mallory&password=x");
    s.check("login without its CSRF token", login, Expect::Page).await;
    let consent = s
        .app
        .http
        .post(s.app.url("/consent"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=allow");
    s.check("consent without its CSRF token", consent, Expect::Page).await;
    let console = s
        .app
        .http
        .post(s.app.url("/admin/apps"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x");
    s.check("console form without a session", console, Expect::Status(303)).await;
    let framed =
        s.app.http.get(s.app.url(&format!("/authorize?{with_redirect}"))).send().await.expect("login page");
    s.cases += 1;
    if framed.headers().get("x-frame-options").and_then(|v| v.to_str().ok()) != Some("DENY") {
        s.failures.push("login page: no X-Frame-Options: DENY (clickjacking)".into());
    }
    s.cases += 1;
    if framed.headers().get("referrer-policy").and_then(|v| v.to_str().ok()) != Some("no-referrer") {
        s.failures.push("login page: no Referrer-Policy: no-referrer (RFC 9700 §4.2)".into());
    }
    s.check(
        "path traversal",
        s.app.http.get(s.app.url("/assets/../../../../etc/passwd")),
        Expect::Error(404, "not_found"),
    )
    .await;
    s.check(
        "method not allowed on /revoke",
        s.app.http.request(Method::PUT, s.app.url("/revoke")),
        Expect::Error(405, "invalid_request"),
    )
    .await;

    // ---- still healthy, still serving ------------------------------------
    s.check("healthz afterwards", s.app.http.get(s.app.url("/healthz")), Expect::Status(200)).await;
    let honest = s.app.http.post(s.app.url("/token")).basic_auth(&s.client_id, Some(&s.secret)).form(&cc);
    s.check("an honest grant afterwards", honest, Expect::Status(200)).await;

    assert!(s.cases >= 50, "the suite sends at least 50 hostile requests ({} sent)", s.cases);
    assert!(
        s.failures.is_empty(),
        "{} of {} cases failed:\n{}",
        s.failures.len(),
        s.cases,
        s.failures.join("\n")
    );
}
