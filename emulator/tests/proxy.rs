//! The Connect proxy (`/v1/connect/{project}/proxy/{url_64}`) against the
//! built-in fixture, through the echo upstream: each check in its order, what
//! is forwarded and inserted, what is relayed, the journal.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Map, Value, json};

const USER: &str = "u1";

struct Setup {
    emu: Emu,
    tok: String,
    /// app slug -> the account, with credentials.
    accounts: Map<String, Value>,
}

/// The built-in catalog with one account of USER per app given, and one of
/// `u2` for slack (another user's account).
fn setup(apps: &[&str]) -> Setup {
    let mut args: Vec<String> = apps
        .iter()
        .flat_map(|a| ["--account".to_string(), format!("{USER}:{a}")])
        .collect();
    args.extend(["--account".to_string(), "u2:slack".to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let emu = Emu::start_builtin(&refs);
    let tok = emu.token();
    let (s, list) = emu.get(
        &emu.project(&format!(
            "/accounts?external_user_id={USER}&include_credentials=true&limit=100"
        )),
        &tok,
    );
    assert_eq!(s, 200, "{list}");
    let mut accounts = Map::new();
    for a in list["data"].as_array().unwrap() {
        accounts.insert(
            a["app"]["name_slug"].as_str().unwrap().to_string(),
            a.clone(),
        );
    }
    Setup { emu, tok, accounts }
}

fn b64url(url: &str) -> String {
    URL_SAFE_NO_PAD.encode(url)
}

/// What the TS SDK sends: standard base64, then `encodeURIComponent`.
fn b64_standard_percent_encoded(url: &str) -> String {
    STANDARD
        .encode(url)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

impl Setup {
    fn account_id(&self, app: &str) -> String {
        self.accounts[app]["id"].as_str().unwrap().to_string()
    }

    fn path(&self, url_64: &str, app: &str) -> String {
        self.emu.project(&format!(
            "/proxy/{url_64}?external_user_id={USER}&account_id={}",
            self.account_id(app)
        ))
    }

    /// A proxy request for `url` (base64url, no padding) with the USER's `app` account.
    fn call(&self, method: Method, url: &str, app: &str) -> RequestBuilder {
        self.emu
            .api(method, &self.path(&b64url(url), app), &self.tok)
    }

    fn get(&self, url: &str, app: &str) -> (u16, Value) {
        send(self.call(Method::GET, url, app))
    }

    fn proxied(&self) -> Vec<Value> {
        self.emu.control_get("/__emulator/proxy")["data"]
            .as_array()
            .cloned()
            .unwrap()
    }
}

/// Status, content type and body bytes, whatever the content type.
fn raw(rb: RequestBuilder) -> (u16, String, Vec<u8>) {
    let r = rb.send().expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.bytes().expect("body").to_vec())
}

fn error_of(pair: (u16, Value)) -> (u16, String) {
    (pair.0, pair.1["error"].as_str().unwrap_or("").to_string())
}

#[test]
fn auth_environment_and_project_come_first() {
    let p = setup(&["slack"]);
    let path = p.path(&b64url("https://slack.com/api/auth.test"), "slack");
    let no_token = p
        .emu
        .client
        .get(p.emu.at(&path))
        .header("x-pd-environment", ENV);
    assert_eq!(send(no_token).0, 401);
    let no_env = p.emu.client.get(p.emu.at(&path)).bearer_auth(&p.tok);
    let (s, b) = send(no_env);
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("x-pd-environment"));
    let other_project = path.replace(PROJECT, "proj_other");
    assert_eq!(p.emu.get(&other_project, &p.tok).0, 404);
    // None of these reached the proxy.
    assert!(p.proxied().is_empty());
    // Unknown methods are unknown routes.
    let (s, _) = send(p.call(Method::OPTIONS, "https://slack.com/api/auth.test", "slack"));
    assert_eq!(s, 404);
}

#[test]
fn external_user_id_and_account_id_are_required() {
    let p = setup(&["slack"]);
    let url_64 = b64url("https://slack.com/api/auth.test");
    let slack = p.account_id("slack");
    let cases = [
        (
            format!("account_id={slack}"),
            "external_user_id is required",
        ),
        (
            format!("external_user_id=&account_id={slack}"),
            "external_user_id is required",
        ),
        (format!("external_user_id={USER}"), "account_id is required"),
        (
            format!("external_user_id={USER}&account_id="),
            "account_id is required",
        ),
    ];
    for (query, error) in cases {
        let path = p.emu.project(&format!("/proxy/{url_64}?{query}"));
        assert_eq!(
            error_of(p.emu.get(&path, &p.tok)),
            (400, error.to_string()),
            "{query}"
        );
    }
}

#[test]
fn url_64_in_all_three_encodings() {
    let p = setup(&["slack"]);
    // Standard base64 of this has `+`, `/` and padding; base64url differs.
    let url = "https://slack.com/api/chat.postMessage?x=~~~";
    assert!(STANDARD.encode(url).contains(['+', '/', '=']));
    for url_64 in [
        b64url(url),
        URL_SAFE.encode(url),
        b64_standard_percent_encoded(url),
    ] {
        let (s, echo) = send(p.emu.api(Method::GET, &p.path(&url_64, "slack"), &p.tok));
        assert_eq!(s, 200, "{url_64}: {echo}");
        assert_eq!(echo["url"], url, "{url_64}");
        assert_eq!(echo["query"], json!({"x": "~~~"}));
    }
    // The documented example (no padding).
    let (s, echo) = send(p.emu.api(
        Method::POST,
        &p.path(
            "aHR0cHM6Ly9zbGFjay5jb20vYXBpL2NoYXQucG9zdE1lc3NhZ2U",
            "slack",
        ),
        &p.tok,
    ));
    assert_eq!(s, 200, "{echo}");
    assert_eq!(echo["url"], "https://slack.com/api/chat.postMessage");

    for bad in ["not*base64", "aHR0c-+z", "aGk=x", "aGk%3D%3D%3D"] {
        let (s, e) = error_of(p.emu.get(&p.path(bad, "slack"), &p.tok));
        assert_eq!(s, 400, "{bad}: {e}");
        assert!(e.starts_with("url_64 is not base64"), "{bad}: {e}");
    }
    let not_utf8 = URL_SAFE_NO_PAD.encode([0x68, 0x74, 0xff, 0xfe]);
    assert_eq!(
        error_of(p.emu.get(&p.path(&not_utf8, "slack"), &p.tok)),
        (400, "url_64 does not decode to UTF-8 text".to_string())
    );
}

#[test]
fn the_account_must_exist_and_be_the_users() {
    let p = setup(&["slack"]);
    let url_64 = b64url("https://slack.com/api/auth.test");
    let (s, list) = p
        .emu
        .get(&p.emu.project("/accounts?external_user_id=u2"), &p.tok);
    assert_eq!(s, 200);
    let others = list["data"][0]["id"].as_str().unwrap().to_string();
    for account in ["apn_nope".to_string(), others] {
        let path = p.emu.project(&format!(
            "/proxy/{url_64}?external_user_id={USER}&account_id={account}"
        ));
        let (s, b) = p.emu.get(&path, &p.tok);
        assert_eq!(s, 404, "{b}");
        assert_eq!(b["error"], format!("account {account} not found"));
        assert_eq!(b["code"], "not_found");
    }
    // Checked after url_64: an undecodable one is the 400 even for an unknown account.
    let path = p.emu.project(&format!(
        "/proxy/***?external_user_id={USER}&account_id=apn_nope"
    ));
    assert_eq!(p.emu.get(&path, &p.tok).0, 400);
}

#[test]
fn apps_the_proxy_does_not_serve_are_403() {
    let p = setup(&["helper_functions", "postgresql", "slack"]);
    for app in ["helper_functions", "postgresql"] {
        assert_eq!(
            error_of(p.get("https://example.com/", app)),
            (403, format!("the proxy is not enabled for app {app}"))
        );
    }
    // An app whose catalog entry has no `connect` block at all (the test catalog's gmail).
    let emu = Emu::start(&["--account", "u1:gmail"]);
    let tok = emu.token();
    let (_, list) = emu.get(&emu.project("/accounts?external_user_id=u1"), &tok);
    let gmail = list["data"][0]["id"].as_str().unwrap();
    let path = emu.project(&format!(
        "/proxy/{}?external_user_id=u1&account_id={gmail}",
        b64url("https://gmail.googleapis.com/gmail/v1/users/me/profile")
    ));
    assert_eq!(
        error_of(emu.get(&path, &tok)),
        (403, "the proxy is not enabled for app gmail".to_string())
    );
}

#[test]
fn relative_urls_absolute_https_and_allowed_domains() {
    let p = setup(&["zendesk", "slack", "mailchimp", "gmail"]);
    // Zendesk: the account's `subdomain` fills the base.
    let subdomain = p.accounts["zendesk"]["credentials"]["subdomain"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(subdomain, "d3v-u1");
    let (s, echo) = p.get("/api/v2/tickets.json?page=2", "zendesk");
    assert_eq!(s, 200, "{echo}");
    assert_eq!(
        echo["url"],
        "https://d3v-u1.zendesk.com/api/v2/tickets.json?page=2"
    );
    assert_eq!(echo["headers"]["host"], "d3v-u1.zendesk.com");
    assert_eq!(echo["query"], json!({"page": "2"}));
    // An absolute URL on a subdomain of an allowed domain.
    let (s, echo) = p.get("https://other.zendesk.com/api/v2/users/me.json", "zendesk");
    assert_eq!(
        (s, &echo["url"]),
        (
            200,
            &json!("https://other.zendesk.com/api/v2/users/me.json")
        )
    );
    assert_eq!(echo["headers"]["host"], "other.zendesk.com");
    // Slack: a plain base; a second allowed domain for gmail.
    assert_eq!(
        p.get("/api/auth.test", "slack").1["url"],
        "https://slack.com/api/auth.test"
    );
    assert_eq!(
        p.get("https://www.googleapis.com/oauth2/v2/userinfo", "gmail")
            .0,
        200
    );
    // Mailchimp has no base: absolute URLs only.
    let (s, e) = error_of(p.get("/3.0/ping", "mailchimp"));
    assert_eq!(s, 400);
    assert!(e.contains("no base_proxy_target_url"), "{e}");
    assert_eq!(
        p.get("https://us21.api.mailchimp.com/3.0/ping", "mailchimp")
            .0,
        200
    );

    // https only, whatever the host.
    for url in ["http://slack.com/api/auth.test", "ftp://slack.com/x"] {
        assert_eq!(
            error_of(p.get(url, "slack")),
            (400, "only https URLs can be proxied".to_string()),
            "{url}"
        );
    }
    let (s, e) = error_of(p.get("slack.com/api/auth.test", "slack"));
    assert_eq!(s, 400);
    assert!(
        e.contains("absolute https URL or a path starting with /"),
        "{e}"
    );
    // Allowed domains: equal or a parent, nothing else.
    for (url, app, host) in [
        ("https://evilzendesk.com/api", "zendesk", "evilzendesk.com"),
        (
            "https://zendesk.com.evil.io/",
            "zendesk",
            "zendesk.com.evil.io",
        ),
        (
            "https://api.slack.com.example.org/",
            "slack",
            "api.slack.com.example.org",
        ),
        ("https://api.github.com/user", "slack", "api.github.com"),
    ] {
        assert_eq!(
            error_of(p.get(url, app)),
            (
                403,
                format!("{host} is not an allowed domain for app {app}")
            ),
            "{url}"
        );
    }
    // A relative path stays on the base's host, however it starts.
    let (s, echo) = p.get("//evil.example/x", "slack");
    assert_eq!((s, &echo["headers"]["host"]), (200, &json!("slack.com")));
    assert_eq!(echo["url"], "https://slack.com//evil.example/x");
}

#[test]
fn a_placeholder_the_account_cannot_fill_is_400() {
    let mut apps = test_apps();
    apps[1]["connect"] = json!({"proxy_enabled": true, "allowed_domains": ["slack.com"],
        "base_proxy_target_url": "https://{{custom_fields.team}}.{{region}}.slack.com"});
    let emu = Emu::start_with(&apps, &test_components(), &["--account", "u1:slack"]);
    let tok = emu.token();
    let (_, list) = emu.get(
        &emu.project("/accounts?external_user_id=u1&include_credentials=true"),
        &tok,
    );
    let a = &list["data"][0];
    // The account was given the custom field the base names.
    assert_eq!(a["credentials"]["team"], "d3v-u1");
    let path = emu.project(&format!(
        "/proxy/{}?external_user_id=u1&account_id={}",
        b64url("/api/auth.test"),
        a["id"].as_str().unwrap()
    ));
    let (s, e) = error_of(emu.get(&path, &tok));
    assert_eq!(s, 400);
    assert!(e.contains("placeholder that cannot be filled"), "{e}");
}

#[test]
fn only_x_pd_proxy_headers_are_forwarded() {
    let p = setup(&["github"]);
    let (s, echo) = send(
        p.call(Method::GET, "https://api.github.com/user", "github")
            .header("x-pd-proxy-x-github-api-version", "2022-11-28")
            .header("X-PD-Proxy-Accept", "application/vnd.github+json")
            .header("x-custom", "not forwarded")
            .header("accept", "application/json"),
    );
    assert_eq!(s, 200, "{echo}");
    let headers = echo["headers"].as_object().unwrap();
    assert_eq!(headers["x-github-api-version"], "2022-11-28");
    assert_eq!(headers["accept"], "application/vnd.github+json");
    let mut names: Vec<&str> = headers.keys().map(String::as_str).collect();
    names.sort();
    // Forwarded, plus what the proxy itself sets (no body: no content type).
    assert_eq!(
        names,
        [
            "accept",
            "host",
            "x-emulator-account",
            "x-emulator-upstream-url",
            "x-github-api-version"
        ]
    );
    assert_eq!(headers["host"], "api.github.com");
    assert_eq!(
        headers["x-emulator-account"],
        p.account_id("github").as_str()
    );
    assert_eq!(
        headers["x-emulator-upstream-url"],
        "https://api.github.com/user"
    );
    assert!(!echo.to_string().contains("not forwarded"));
    assert!(
        !echo.to_string().contains(&p.tok),
        "the caller's bearer stays here"
    );

    for name in [
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "accept-encoding",
        "via",
    ] {
        let (s, e) = error_of(send(
            p.call(Method::GET, "https://api.github.com/user", "github")
                .header(format!("x-pd-proxy-{name}"), "1"),
        ));
        assert_eq!((s, e), (400, format!("header {name} cannot be proxied")));
    }
    // Checked after the URL: a refused domain wins over a refused header.
    let (s, _) = send(
        p.call(Method::GET, "https://example.com/", "github")
            .header("x-pd-proxy-cookie", "1"),
    );
    assert_eq!(s, 403);
}

#[test]
fn injected_credentials_win_and_never_show() {
    let p = setup(&["github", "openai"]);
    for (app, secret_field) in [("github", "oauth_access_token"), ("openai", "api_key")] {
        let secret = p.accounts[app]["credentials"][secret_field]
            .as_str()
            .unwrap()
            .to_string();
        let url = if app == "github" {
            "https://api.github.com/user"
        } else {
            "https://api.openai.com/v1/models"
        };
        let (s, ct, body) = raw(p
            .call(Method::GET, url, app)
            .header("x-pd-proxy-authorization", "Bearer caller-supplied"));
        assert_eq!((s, ct.as_str()), (200, "application/json"));
        let text = String::from_utf8(body).unwrap();
        let echo: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(echo["authorized_as"], p.account_id(app).as_str(), "{app}");
        assert!(echo["headers"].get("authorization").is_none());
        assert!(
            !text.contains(&secret),
            "{app}: the credential leaked: {text}"
        );
        assert!(!text.contains("caller-supplied"), "{app}: {text}");
    }
}

#[test]
fn methods_and_bodies_are_forwarded_as_sent() {
    let p = setup(&["slack"]);
    let url = "https://slack.com/api/chat.postMessage";
    let (s, echo) = send(
        p.call(Method::POST, url, "slack")
            .json(&json!({"channel": "C1", "text": "hi"})),
    );
    assert_eq!(s, 200, "{echo}");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], json!({"channel": "C1", "text": "hi"}));
    assert_eq!(echo["body_bytes"], 28);
    assert_eq!(echo["headers"]["content-type"], "application/json");
    // A non-JSON body with its own content type, byte for byte.
    let form = "channel=C1&text=h%C3%A9";
    let (_, echo) = send(
        p.call(Method::PUT, url, "slack")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
    );
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["body"], form);
    assert_eq!(echo["body_bytes"], form.len());
    assert_eq!(
        echo["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    // A forwarded content type wins over the request's own.
    let (_, echo) = send(
        p.call(Method::PATCH, url, "slack")
            .header("content-type", "text/plain")
            .header("x-pd-proxy-content-type", "application/merge-patch+json")
            .body("{\"a\": 1}"),
    );
    assert_eq!(echo["method"], "PATCH");
    assert_eq!(echo["body"], json!({"a": 1}));
    assert_eq!(
        echo["headers"]["content-type"],
        "application/merge-patch+json"
    );
    let (_, echo) = send(p.call(Method::DELETE, url, "slack"));
    assert_eq!(
        (&echo["method"], &echo["body"]),
        (&json!("DELETE"), &Value::Null)
    );
    assert_eq!(echo["body_bytes"], 0);
    // HEAD goes upstream as HEAD; the answer has no body.
    let (s, ct, body) = raw(p.call(Method::HEAD, url, "slack"));
    assert_eq!((s, ct.as_str(), body.len()), (200, "application/json", 0));
    let methods: Vec<Value> = p.proxied().iter().map(|e| e["method"].clone()).collect();
    assert_eq!(
        methods,
        json!(["POST", "PUT", "PATCH", "DELETE", "HEAD"])
            .as_array()
            .unwrap()
            .clone()
    );
}

#[test]
fn upstream_status_content_type_and_body_are_relayed() {
    let p = setup(&["notion"]);
    // A 404 with the echo's JSON, not turned into an API error.
    let (s, ct, body) = raw(p.call(
        Method::GET,
        "https://api.notion.com/v1/pages/nope?__status=404",
        "notion",
    ));
    assert_eq!((s, ct.as_str()), (404, "application/json"));
    let echo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        echo["url"],
        "https://api.notion.com/v1/pages/nope?__status=404"
    );
    assert!(echo.get("error").is_none(), "{echo}");
    // Bytes, exactly.
    let (s, ct, body) = raw(p.call(
        Method::GET,
        "https://api.notion.com/v1/blocks?__bytes=100000",
        "notion",
    ));
    assert_eq!((s, ct.as_str(), body.len()), (200, "text/plain", 100_000));
    assert!(body.iter().all(|&b| b == b'x'));
    // A non-JSON error answer stays as it is (no `{"error"}` rewrite), with its own type.
    let (s, ct, body) = raw(p.call(
        Method::POST,
        "https://api.notion.com/v1/pages?__status=502&__bytes=5&__content_type=text/html;%20charset=utf-8",
        "notion",
    ));
    assert_eq!(
        (s, ct.as_str(), body.as_slice()),
        (502, "text/html; charset=utf-8", &b"xxxxx"[..])
    );
    // A 405 from upstream is relayed, not treated as the proxy's unknown method.
    let (s, _, _) = raw(p.call(
        Method::GET,
        "https://api.notion.com/v1/x?__status=405",
        "notion",
    ));
    assert_eq!(s, 405);
    // The echo's own 400 for a control it cannot use is relayed too.
    let (s, e) = error_of(p.get("https://api.notion.com/v1/x?__status=700", "notion"));
    assert_eq!((s, e.as_str()), (400, "__status must be 200..599"));
    // A delay under the limit is waited out.
    let t = Instant::now();
    assert_eq!(
        p.get("https://api.notion.com/v1/x?__delay_ms=300", "notion")
            .0,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[test]
fn an_upstream_slower_than_30_s_is_a_504() {
    let p = setup(&["notion"]);
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let path = p.path(
        &b64url("https://api.notion.com/v1/search?__delay_ms=31000"),
        "notion",
    );
    let t = Instant::now();
    let (s, b) = send(
        client
            .get(p.emu.at(&path))
            .bearer_auth(&p.tok)
            .header("x-pd-environment", ENV),
    );
    let took = t.elapsed();
    assert_eq!(s, 504, "{b}");
    assert_eq!(b["error"], "the upstream did not answer within 30 s");
    assert!(
        took >= Duration::from_secs(30) && took < Duration::from_secs(31),
        "{took:?}"
    );
    assert_eq!(p.proxied()[0]["status"], 504);
}

#[test]
fn every_proxy_request_is_journaled() {
    let p = setup(&["slack", "helper_functions"]);
    let slack = p.account_id("slack");
    p.get("https://slack.com/api/auth.test?__status=201", "slack");
    p.get("/api/conversations.list", "helper_functions");
    let bad = p.emu.project(&format!(
        "/proxy/***?external_user_id={USER}&account_id={slack}"
    ));
    p.emu.get(&bad, &p.tok);
    let no_user = p
        .emu
        .project(&format!("/proxy/{}?account_id={slack}", b64url("/x")));
    p.emu.get(&no_user, &p.tok);
    p.get("http://slack.com/", "slack");

    let entries = p.proxied();
    assert_eq!(entries.len(), 5, "{entries:?}");
    let ts = entries[0]["ts_ms"].as_u64().unwrap();
    assert!(ts > 1_700_000_000_000);
    assert_eq!(
        entries[0],
        json!({"seq": 1, "ts_ms": ts, "method": "GET",
               "url": "https://slack.com/api/auth.test?__status=201",
               "target_url": "https://slack.com/api/auth.test?__status=201",
               "external_user_id": USER, "account_id": slack, "status": 201})
    );
    let e = &entries[1];
    assert_eq!(
        (&e["url"], &e["target_url"], &e["status"]),
        (&json!("/api/conversations.list"), &Value::Null, &json!(403))
    );
    assert_eq!(e["account_id"], p.account_id("helper_functions").as_str());
    let e = &entries[2];
    assert_eq!((&e["url"], &e["status"]), (&Value::Null, &json!(400)));
    let e = &entries[3];
    assert_eq!(
        (&e["external_user_id"], &e["url"], &e["status"]),
        (&Value::Null, &Value::Null, &json!(400))
    );
    let e = &entries[4];
    assert_eq!(
        (&e["url"], &e["target_url"], &e["status"]),
        (&json!("http://slack.com/"), &Value::Null, &json!(400))
    );
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);

    // Reset clears the journal and restarts its numbering.
    let (s, _) = p.emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(s, 200);
    assert!(p.proxied().is_empty());
    p.get("https://slack.com/api/auth.test", "slack");
    assert_eq!(p.proxied()[0]["seq"], 1);
}

#[test]
fn fault_rules_apply_to_proxy_paths() {
    let p = setup(&["slack"]);
    p.emu
        .fault(json!({"path": "/proxy/", "status": 429, "retry_after": 2, "count": 1}));
    let r = p
        .call(Method::GET, "https://slack.com/api/auth.test", "slack")
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    // The fault answered before the handler: nothing reached the upstream.
    assert!(p.proxied().is_empty());
    // `when: after`: the request goes upstream and its answer is replaced.
    p.emu
        .fault(json!({"path": "/proxy/", "status": 503, "when": "after", "count": 1}));
    assert_eq!(p.get("https://slack.com/api/auth.test", "slack").0, 503);
    assert_eq!(p.proxied()[0]["status"], 200);
    assert_eq!(p.get("https://slack.com/api/auth.test", "slack").0, 200);
    let logged: Vec<(Value, Value)> = p
        .emu
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains("/proxy/"))
        .map(|r| (r["status"].clone(), r["fault"].clone()))
        .collect();
    assert_eq!(
        logged,
        [
            (json!(429), json!(true)),
            (json!(503), json!(true)),
            (json!(200), json!(false))
        ]
    );
}
