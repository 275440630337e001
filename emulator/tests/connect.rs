//! Accounts by id (retrieve, delete, delete by app), external users (list,
//! delete), Connect token validation, and the Connect Link flow emulated by
//! `POST /__emulator/connect` with its connection webhooks.

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// Status and raw body text, for the 204 answers (`send` insists on JSON).
fn delete(emu: &Emu, path: &str, tok: &str) -> (u16, String) {
    let r = emu
        .api(reqwest::Method::DELETE, path, tok)
        .send()
        .expect("delete");
    let s = r.status().as_u16();
    (s, r.text().expect("body"))
}

/// A 404 with `code: "not_found"` whose text names `what`.
fn assert_not_found(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "not_found", "{body}");
    let text = body["error"].as_str().unwrap();
    assert!(text.contains(what), "{text:?} should name {what:?}");
}

fn ids_of(emu: &Emu, tok: &str, query: &str) -> Vec<String> {
    let (s, b) = emu.get(&emu.project(&format!("/accounts?limit=100{query}")), tok);
    assert_eq!(s, 200, "{b}");
    keys(&b["data"], "id")
}

/// `(method, path, status)` of every logged request whose path contains `part`.
fn journal(emu: &Emu, part: &str) -> Vec<(String, String, u64)> {
    emu.requests()
        .into_iter()
        .filter(|e| e["path"].as_str().unwrap().contains(part))
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn account_retrieve_and_delete() {
    let emu = Emu::start(&["--account", "u1:gmail:Work", "--account", "u2:airtable"]);
    let tok = emu.token();
    let ids = ids_of(&emu, &tok, "");
    let (gmail, airtable) = (&ids[0], &ids[1]);

    // The bare Account, as SDK 3 `accounts.retrieve` parses it (no `data` envelope).
    let (s, a) = emu.get(&emu.project(&format!("/accounts/{gmail}")), &tok);
    assert_eq!(s, 200, "{a}");
    assert!(a.get("data").is_none(), "{a}");
    assert_eq!(a["id"], gmail.as_str());
    assert_eq!(a["name"], "Work");
    assert_eq!(a["external_id"], "u1");
    assert_eq!(a["healthy"], true);
    assert_eq!(a["dead"], false);
    assert_eq!(a["app"]["name_slug"], "gmail");
    assert!(a["app"].get("x_emulator").is_none());
    assert!(a["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(a.get("credentials").is_none());
    // The same object the list has.
    let (_, list) = emu.get(&emu.project("/accounts?external_user_id=u1"), &tok);
    assert_eq!(list["data"][0], a);

    let (_, c) = emu.get(
        &emu.project(&format!("/accounts/{gmail}?include_credentials=true")),
        &tok,
    );
    assert!(c["credentials"]["oauth_access_token"].is_string(), "{c}");
    let (_, c) = emu.get(
        &emu.project(&format!("/accounts/{airtable}?include_credentials=1")),
        &tok,
    );
    assert!(c["credentials"]["api_key"].is_string(), "{c}");
    let (s, _) = emu.get(
        &emu.project(&format!("/accounts/{gmail}?include_credentials=maybe")),
        &tok,
    );
    assert_eq!(s, 400);

    let (s, b) = emu.get(&emu.project("/accounts/apn_nope"), &tok);
    assert_not_found(s, &b, "account apn_nope");
    let (s, b) = emu.get(&format!("/v1/connect/proj_other/accounts/{gmail}"), &tok);
    assert_not_found(s, &b, "project proj_other");
    // Auth first, then the environment header.
    let (s, _) = send(
        emu.client
            .get(emu.at(&emu.project(&format!("/accounts/{gmail}"))))
            .header("x-pd-environment", ENV),
    );
    assert_eq!(s, 401);
    let (s, _) = send(
        emu.client
            .delete(emu.at(&emu.project(&format!("/accounts/{gmail}"))))
            .bearer_auth(&tok),
    );
    assert_eq!(s, 400);
    assert_eq!(ids_of(&emu, &tok, "").len(), 2, "nothing deleted so far");

    // DELETE: 204 with no body; then it is gone everywhere.
    let (s, body) = delete(&emu, &emu.project(&format!("/accounts/{gmail}")), &tok);
    assert_eq!((s, body.as_str()), (204, ""));
    let (s, b) = emu.get(&emu.project(&format!("/accounts/{gmail}")), &tok);
    assert_not_found(s, &b, gmail);
    assert_eq!(ids_of(&emu, &tok, ""), vec![airtable.clone()]);
    let (s, body) = delete(&emu, &emu.project(&format!("/accounts/{gmail}")), &tok);
    assert_eq!(s, 404);
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_not_found(s, &b, gmail);
    let (s, _) = delete(
        &emu,
        &format!("/v1/connect/proj_other/accounts/{airtable}"),
        &tok,
    );
    assert_eq!(s, 404);
    assert_eq!(ids_of(&emu, &tok, "").len(), 1);

    // Journal: every call with the status it got.
    let log: Vec<(String, u64)> = journal(&emu, &format!("/accounts/{gmail}"))
        .into_iter()
        .filter(|(_, p, _)| p.starts_with("/v1/connect/proj_emulator/"))
        .map(|(m, _, s)| (m, s))
        .collect();
    let want: Vec<(String, u64)> = [
        ("GET", 200),
        ("GET", 200),
        ("GET", 400),
        ("GET", 401),
        ("DELETE", 400),
        ("DELETE", 204),
        ("GET", 404),
        ("DELETE", 404),
    ]
    .iter()
    .map(|(m, s)| (m.to_string(), *s))
    .collect();
    assert_eq!(log, want);

    // Reset brings the seeded account back, same id.
    emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(
        emu.get(&emu.project(&format!("/accounts/{gmail}")), &tok).0,
        200
    );
}

#[test]
fn delete_accounts_by_app() {
    let emu = Emu::start(&[
        "--account",
        "u1:gmail",
        "--account",
        "u2:gmail",
        "--account",
        "u1:slack",
        "--account",
        "u3:airtable",
    ]);
    let tok = emu.token();
    let (s, body) = delete(&emu, &emu.project("/apps/gmail/accounts"), &tok);
    assert_eq!((s, body.as_str()), (204, ""));
    let (_, left) = emu.get(&emu.project("/accounts"), &tok);
    let apps: Vec<&str> = left["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"]["name_slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        apps,
        ["slack", "airtable"],
        "every user's gmail accounts went"
    );

    // By app id; an app without accounts is still a 204.
    assert_eq!(
        delete(&emu, &emu.project("/apps/app_slack/accounts"), &tok).0,
        204
    );
    assert_eq!(ids_of(&emu, &tok, "&app=slack").len(), 0);
    assert_eq!(
        delete(&emu, &emu.project("/apps/jira/accounts"), &tok).0,
        204
    );
    assert_eq!(ids_of(&emu, &tok, "").len(), 1);

    let (s, body) = delete(&emu, &emu.project("/apps/no_such_app/accounts"), &tok);
    assert_not_found(s, &serde_json::from_str(&body).unwrap(), "app no_such_app");
    let (s, _) = delete(&emu, "/v1/connect/proj_other/apps/airtable/accounts", &tok);
    assert_eq!(s, 404);
    let (s, _) = delete(&emu, "/v1/connect/bad-project/apps/airtable/accounts", &tok);
    assert_eq!(s, 400);
    // GET on the route is an unknown route.
    let (s, b) = emu.get(&emu.project("/apps/airtable/accounts"), &tok);
    assert_not_found(s, &b, "not found");
    assert_eq!(ids_of(&emu, &tok, "").len(), 1, "airtable's account stays");

    let statuses: Vec<u64> = journal(&emu, "/apps/")
        .into_iter()
        .map(|(_, _, s)| s)
        .collect();
    assert_eq!(statuses, [204, 204, 204, 404, 404, 400, 404]);
}

#[test]
fn users_list_filter_paging_and_delete() {
    let emu = Emu::start(&[
        "--account",
        "alice:gmail",
        "--account",
        "bob:slack",
        "--account",
        "alice:slack",
        "--account",
        "Carol-Admin:airtable",
        "--account",
        "dave:jira",
    ]);
    let tok = emu.token();
    let url = emu.project("/users");
    let (s, all) = emu.get(&url, &tok);
    assert_eq!(s, 200, "{all}");
    // One entry per external user, in the order of their first account.
    assert_eq!(
        keys(&all["data"], "external_id"),
        ["alice", "bob", "Carol-Admin", "dave"]
    );
    assert_eq!(all["page_info"]["total_count"], 4);
    for u in all["data"].as_array().unwrap() {
        let obj = u.as_object().unwrap();
        let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["created_at", "external_id", "id", "updated_at"]);
        let id = u["id"].as_str().unwrap();
        assert!(id.starts_with("exu_") && id.len() > 4, "{id}");
        assert!(u["created_at"].as_str().unwrap().ends_with('Z'));
        assert!(u["updated_at"].as_str().unwrap() >= u["created_at"].as_str().unwrap());
    }
    // Ids are stable.
    assert_eq!(emu.get(&url, &tok).1["data"], all["data"]);

    // q: case-insensitive substring of the external user id.
    let (_, q) = emu.get(&format!("{url}?q=A"), &tok);
    assert_eq!(
        keys(&q["data"], "external_id"),
        ["alice", "Carol-Admin", "dave"]
    );
    let (_, q) = emu.get(&format!("{url}?q=carol-ad"), &tok);
    assert_eq!(keys(&q["data"], "external_id"), ["Carol-Admin"]);
    assert_eq!(q["page_info"]["total_count"], 1);
    let (_, q) = emu.get(&format!("{url}?q=zzz"), &tok);
    assert_eq!(q["data"], json!([]));

    // Paging to the end (then the one empty page).
    let (_, p1) = emu.get(&format!("{url}?limit=3"), &tok);
    assert_eq!(p1["page_info"]["count"], 3);
    let c = p1["page_info"]["end_cursor"].as_str().unwrap();
    let (_, p2) = emu.get(&format!("{url}?limit=3&after={c}"), &tok);
    assert_eq!(keys(&p2["data"], "external_id"), ["dave"]);
    let c = p2["page_info"]["end_cursor"].as_str().unwrap();
    let (_, p3) = emu.get(&format!("{url}?limit=3&after={c}"), &tok);
    assert_eq!(p3["data"], json!([]));
    assert!(p3["page_info"]["end_cursor"].is_null());
    assert_eq!(emu.get(&format!("{url}?limit=0"), &tok).0, 400);
    assert_eq!(emu.get(&format!("{url}?after=garbage"), &tok).0, 400);

    // DELETE: 204, the user's accounts (all apps) are gone, others stay.
    let (s, body) = delete(&emu, &emu.project("/users/alice"), &tok);
    assert_eq!((s, body.as_str()), (204, ""));
    assert!(ids_of(&emu, &tok, "&external_user_id=alice").is_empty());
    assert_eq!(ids_of(&emu, &tok, "").len(), 3);
    let (_, after) = emu.get(&url, &tok);
    assert_eq!(
        keys(&after["data"], "external_id"),
        ["bob", "Carol-Admin", "dave"]
    );
    assert_eq!(after["data"][0]["id"], all["data"][1]["id"]);
    // Again, or a user who never had accounts: 404 naming the user.
    let (s, body) = delete(&emu, &emu.project("/users/alice"), &tok);
    assert_not_found(
        s,
        &serde_json::from_str(&body).unwrap(),
        "external user alice",
    );
    let (s, _) = delete(&emu, &emu.project("/users/nobody"), &tok);
    assert_eq!(s, 404);
    // Ids with reserved characters arrive percent-encoded.
    emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "a/b c@x", "app": "gmail"}),
    );
    assert_eq!(
        delete(&emu, &emu.project("/users/a%2Fb%20c%40x"), &tok).0,
        204
    );
    // A user who comes back is a new user.
    emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "alice", "app": "gmail"}),
    );
    let (_, back) = emu.get(&format!("{url}?q=alice"), &tok);
    assert_ne!(back["data"][0]["id"], all["data"][0]["id"]);

    let (s, _) = emu.get("/v1/connect/proj_other/users", &tok);
    assert_eq!(s, 404);
    let (s, _) = send(emu.client.get(emu.at(&url)).bearer_auth(&tok));
    assert_eq!(s, 400, "x-pd-environment required");
    let statuses: Vec<(String, u64)> = journal(&emu, "/users/")
        .into_iter()
        .map(|(m, _, s)| (m, s))
        .collect();
    assert_eq!(
        statuses,
        [
            ("DELETE".to_string(), 204),
            ("DELETE".to_string(), 404),
            ("DELETE".to_string(), 404),
            ("DELETE".to_string(), 204)
        ]
    );
}

fn create_token(emu: &Emu, tok: &str, body: Value) -> String {
    let (s, t) = emu.post(&emu.project("/tokens"), tok, &body);
    assert_eq!(s, 200, "{t}");
    t["token"].as_str().unwrap().to_string()
}

fn validate(emu: &Emu, tok: &str, ctok: &str, query: &str) -> Value {
    let (s, v) = emu.get(&format!("/v1/connect/tokens/{ctok}/validate{query}"), tok);
    assert_eq!(s, 200, "{v}");
    v
}

#[test]
fn token_options_and_validate() {
    let emu = Emu::start(&["--account", "u1:slack", "--account", "u2:slack"]);
    let tok = emu.token();
    let accounts = ids_of(&emu, &tok, "");
    let ctok = create_token(
        &emu,
        &tok,
        json!({
            "external_user_id": "u1",
            "allowed_origins": ["https://app.example.com"],
            "success_redirect_uri": "https://app.example.com/ok",
            "error_redirect_uri": "https://app.example.com/err",
            "webhook_uri": "http://127.0.0.1:9/hook",
            "expires_in": 600,
            "scope": "connect:accounts:write",
            "allow_progressive_scopes": true,
            "app_id": "slack",
            "oauth_app_id": "oa_abc123",
        }),
    );
    let v = validate(&emu, &tok, &ctok, "");
    assert_eq!(v["success"], true, "{v}");
    assert!(v.get("error").is_none());
    assert_eq!(v["project_id"], PROJECT);
    assert_eq!(v["project_environment"], ENV);
    assert!(v["project_app_name"].is_string());
    assert_eq!(v["success_redirect_uri"], "https://app.example.com/ok");
    assert_eq!(v["error_redirect_uri"], "https://app.example.com/err");
    assert_eq!(v["oauth_app_id"], "oa_abc123");
    assert_eq!(v["app"]["name_slug"], "slack");
    assert!(v["app"].get("x_emulator").is_none());
    assert!(v.get("app_override_id").is_none());

    // Query params: the same app by id, an own account, an override echoed.
    let v = validate(
        &emu,
        &tok,
        &ctok,
        &format!(
            "?app_id=app_slack&account_id={}&app_override_id=ao_1&oauth_app_id=oa_zzz",
            accounts[0]
        ),
    );
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["app_override_id"], "ao_1");
    assert_eq!(v["app_override_field_names"], json!([]));
    assert_eq!(v["oauth_app_id"], "oa_zzz");
    // Failures are 200 {success: false, error}.
    let bad = |q: &str, says: &str| {
        let v = validate(&emu, &tok, &ctok, q);
        assert_eq!(v["success"], false, "{q}: {v}");
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(says), "{q}: {e:?} should say {says:?}");
    };
    bad("?app_id=gmail", "scoped to app slack");
    bad("?app_id=nope", "app nope not found");
    bad(&format!("?account_id={}", accounts[1]), "not found"); // u2's account
    bad("?account_id=apn_missing", "account apn_missing not found");

    // A plain token: no app unless asked for; redirect fields absent.
    let plain = create_token(&emu, &tok, json!({"external_user_id": "u1"}));
    let v = validate(&emu, &tok, &plain, "");
    assert_eq!(v["success"], true);
    for absent in [
        "app",
        "success_redirect_uri",
        "error_redirect_uri",
        "oauth_app_id",
    ] {
        assert!(v.get(absent).is_none(), "{absent}: {v}");
    }
    assert_eq!(
        validate(&emu, &tok, &plain, "?app_id=gmail")["app"]["name_slug"],
        "gmail"
    );

    // Unknown token.
    let v = validate(&emu, &tok, "ctok_00000000000000000000000000000000", "");
    assert_eq!(v["success"], false);
    assert!(v["error"].as_str().unwrap().contains("not valid"));
    // Expired token: still says where to send the user on error.
    let short = create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u1", "expires_in": 1, "error_redirect_uri": "https://x/err"}),
    );
    assert_eq!(validate(&emu, &tok, &short, "")["success"], true);
    std::thread::sleep(Duration::from_millis(1100));
    let v = validate(&emu, &tok, &short, "");
    assert_eq!(v["success"], false);
    assert!(v["error"].as_str().unwrap().contains("expired"), "{v}");
    assert_eq!(v["error_redirect_uri"], "https://x/err");

    // Create-side validation.
    for body in [
        json!({"external_user_id": "u1", "webhook_uri": "not a url"}),
        json!({"external_user_id": "u1", "webhook_uri": "ftp://x/y"}),
        json!({"external_user_id": "u1", "expires_in": 0}),
        json!({"external_user_id": "u1", "expires_in": 14401}),
        json!({"external_user_id": "u1", "allow_progressive_scopes": "yes"}),
        json!({"external_user_id": "u1", "scope": 5}),
    ] {
        assert_eq!(
            emu.post(&emu.project("/tokens"), &tok, &body).0,
            400,
            "{body}"
        );
    }
    create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u1", "expires_in": 14400}),
    );

    // Validate is authenticated and needs the environment header, but has no project.
    let path = format!("/v1/connect/tokens/{plain}/validate");
    let (s, _) = send(
        emu.client
            .get(emu.at(&path))
            .header("x-pd-environment", ENV),
    );
    assert_eq!(s, 401);
    let (s, _) = send(emu.client.get(emu.at(&path)).bearer_auth(&tok));
    assert_eq!(s, 400);
    let (s, _) = emu.post(&path, &tok, &json!({}));
    assert_eq!(s, 404, "POST is not a route");
    let statuses: Vec<u64> = journal(&emu, &format!("/tokens/{plain}/validate"))
        .into_iter()
        .map(|(_, _, s)| s)
        .collect();
    assert_eq!(statuses, [200, 200, 401, 400, 404]);

    // Reset forgets every token.
    emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(validate(&emu, &tok, &plain, "")["success"], false);
}

/// A tiny webhook receiver: answers each POST with the next queued status
/// (200 once the queue is empty) and keeps what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(String, Value)>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/pd?k=1", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let (g, st) = (got.clone(), statuses.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = Vec::new();
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    head.push(line.trim_end().to_string());
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                g.lock().unwrap().push((head.join("\n"), payload));
                let status = st.lock().unwrap().pop_front().unwrap_or(200);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver { url, got, statuses }
    }

    fn queue(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }

    fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

fn webhooks(emu: &Emu) -> Vec<Value> {
    emu.control_get("/__emulator/webhooks")["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn connect_link_control_and_webhooks() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let hook = Receiver::start();
    let ctok = create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u1", "app_id": "slack", "webhook_uri": hook.url}),
    );

    // Success: an account for the token's user and app, then CONNECTION_SUCCESS.
    let (s, r) = emu.control_post(
        "/__emulator/connect",
        &json!({"token": ctok, "name": "My Slack"}),
    );
    assert_eq!(s, 201, "{r}");
    let d = &r["data"];
    assert_eq!(d["event"], "CONNECTION_SUCCESS");
    assert_eq!(d["connect_session_id"], 1);
    let id = d["account"]["id"].as_str().unwrap().to_string();
    assert!(d["account"].get("credentials").is_none());
    assert_eq!(d["webhook"]["ok"], true, "{d}");
    assert_eq!(d["webhook"]["attempts"].as_array().unwrap().len(), 1);
    let (s, a) = emu.get(&emu.project(&format!("/accounts/{id}")), &tok);
    assert_eq!(s, 200);
    assert_eq!(a["external_id"], "u1");
    assert_eq!(a["name"], "My Slack");
    assert_eq!(a["app"]["name_slug"], "slack");
    let got = hook.take();
    assert_eq!(got.len(), 1);
    let (head, p) = &got[0];
    assert!(head.starts_with("POST /hooks/pd?k=1 HTTP/1.1"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert_eq!(p["event"], "CONNECTION_SUCCESS");
    assert_eq!(p["connect_token"], ctok.as_str());
    assert_eq!(p["environment"], ENV);
    assert_eq!(p["connect_session_id"], 1);
    assert!(p.get("error").is_none());
    let acc = &p["account"];
    assert_eq!(acc["id"], id.as_str());
    assert_eq!(acc["external_id"], "u1");
    assert_eq!(acc["name"], "My Slack");
    assert_eq!(
        (&acc["healthy"], &acc["dead"]),
        (&json!(true), &json!(false))
    );
    assert!(acc.get("credentials").is_none(), "never credentials: {acc}");
    assert_eq!(acc["app"]["name_slug"], "slack");
    // The app's own `connect` block, as apps list and retrieve send it.
    assert_eq!(
        acc["app"]["connect"],
        json!({"proxy_enabled": true, "allowed_domains": ["slack.com"], "base_proxy_target_url": "https://slack.com"})
    );
    assert_eq!(acc["app"], a["app"]);
    assert_eq!(acc["created_at"], a["created_at"]);

    // The token is spent.
    let v = validate(&emu, &tok, &ctok, "");
    assert_eq!(v["success"], false);
    assert!(v["error"].as_str().unwrap().contains("already been used"));
    let (s, _) = emu.control_post("/__emulator/connect", &json!({"token": ctok}));
    assert_eq!(s, 400);

    // fail: CONNECTION_ERROR, no account, the token stays usable; retried on 5xx.
    let ctok2 = create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u2", "webhook_uri": hook.url}),
    );
    hook.queue(&[500, 503]);
    let (s, r) = emu.control_post(
        "/__emulator/connect",
        &json!({"token": ctok2, "app": "gmail", "fail": true, "error": "user cancelled"}),
    );
    assert_eq!(s, 200, "{r}");
    assert!(r["data"]["account"].is_null());
    let w = &r["data"]["webhook"];
    let statuses: Vec<u64> = w["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 503, 200]);
    assert_eq!((&w["ok"], &w["status"]), (&json!(true), &json!(200)));
    let times: Vec<u64> = w["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ts_ms"].as_u64().unwrap())
        .collect();
    assert!(
        times[1] - times[0] >= 200 && times[2] - times[1] >= 200,
        "{times:?}"
    );
    let got = hook.take();
    assert_eq!(got.len(), 3, "three identical deliveries");
    let p = &got[2].1;
    assert_eq!(p["event"], "CONNECTION_ERROR");
    assert_eq!(p["error"], "user cancelled");
    assert_eq!(p["connect_token"], ctok2.as_str());
    assert_eq!(p["connect_session_id"], 2);
    assert!(p.get("account").is_none());
    assert!(ids_of(&emu, &tok, "&external_user_id=u2").is_empty());
    assert_eq!(validate(&emu, &tok, &ctok2, "")["success"], true);

    // Never a 2xx: three attempts, then it gives up (ok false, last status).
    hook.queue(&[500, 500, 500]);
    let (s, r) = emu.control_post(
        "/__emulator/connect",
        &json!({"token": ctok2, "app": "gmail"}),
    );
    assert_eq!(s, 201);
    assert_eq!(r["data"]["webhook"]["ok"], false);
    assert_eq!(r["data"]["webhook"]["status"], 500);
    assert_eq!(
        r["data"]["webhook"]["attempts"].as_array().unwrap().len(),
        3
    );
    let got = hook.take();
    assert_eq!(got.len(), 3);
    // An app whose fixture has no `connect` block: the block of an app the proxy does not serve.
    assert_eq!(
        got[0].1["account"]["app"]["connect"],
        json!({"proxy_enabled": false, "allowed_domains": null, "base_proxy_target_url": null})
    );
    assert_eq!(
        ids_of(&emu, &tok, "&external_user_id=u2&app=gmail").len(),
        1
    );

    // Nobody listening: three attempts with status 0 and an error.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/x", closed.local_addr().unwrap());
    drop(closed);
    let ctok3 = create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u3", "webhook_uri": dead_url}),
    );
    let (_, r) = emu.control_post(
        "/__emulator/connect",
        &json!({"token": ctok3, "app": "jira"}),
    );
    let w = &r["data"]["webhook"];
    assert_eq!(w["attempts"].as_array().unwrap().len(), 3, "{w}");
    assert_eq!((&w["status"], &w["ok"]), (&json!(0), &json!(false)));
    assert!(w["attempts"][0]["error"].is_string());
    // https: no TLS here, recorded once as failed.
    let ctok4 = create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u4", "webhook_uri": "https://app.example.com/hook"}),
    );
    let (s, r) = emu.control_post(
        "/__emulator/connect",
        &json!({"token": ctok4, "app": "jira"}),
    );
    assert_eq!(s, 201);
    let w = &r["data"]["webhook"];
    assert_eq!(w["attempts"].as_array().unwrap().len(), 1);
    assert!(
        w["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("https")
    );
    // No webhook_uri: nothing sent.
    let ctok5 = create_token(&emu, &tok, json!({"external_user_id": "u5"}));
    let (s, r) = emu.control_post(
        "/__emulator/connect",
        &json!({"token": ctok5, "app": "gmail"}),
    );
    assert_eq!(s, 201);
    assert!(r["data"]["webhook"].is_null());

    // The delivery log.
    let log = webhooks(&emu);
    assert_eq!(log.len(), 5);
    assert_eq!(
        log.iter()
            .map(|d| d["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(log[0]["url"], hook.url.as_str());
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["event"], "CONNECTION_SUCCESS");
    assert_eq!(log[0]["payload"]["account"]["id"], id.as_str());
    assert_eq!(log[1]["payload"]["event"], "CONNECTION_ERROR");
    assert_eq!(log[3]["url"], dead_url.as_str());

    // Control errors.
    let c = |body: Value| emu.control_post("/__emulator/connect", &body);
    let (s, b) = c(json!({}));
    assert_eq!(s, 400, "{b}");
    let (s, b) = c(json!({"token": "ctok_nope", "app": "gmail"}));
    assert_not_found(s, &b, "connect token ctok_nope");
    let ctok6 = create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u6", "app_id": "slack"}),
    );
    let (s, b) = c(json!({"token": ctok6, "app": "gmail"}));
    assert_eq!(s, 400, "scoped to slack: {b}");
    let plain = create_token(&emu, &tok, json!({"external_user_id": "u6"}));
    let (s, b) = c(json!({"token": plain}));
    assert_eq!(s, 400, "no app: {b}");
    let (s, b) = c(json!({"token": plain, "app": "no_such_app"}));
    assert_not_found(s, &b, "app no_such_app");
    let (s, _) = c(json!({"token": plain, "app": "gmail", "bogus": 1}));
    assert_eq!(s, 400, "unknown fields are refused");
    let short = create_token(
        &emu,
        &tok,
        json!({"external_user_id": "u7", "expires_in": 1}),
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (s, b) = c(json!({"token": short, "app": "gmail"}));
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("expired"));
    assert_eq!(webhooks(&emu).len(), 5, "errors send nothing");

    // Reset clears deliveries, tokens and session numbers.
    emu.control_post("/__emulator/reset", &json!({}));
    assert!(webhooks(&emu).is_empty());
    let ctok8 = create_token(&emu, &tok, json!({"external_user_id": "u8"}));
    let (_, r) = c(json!({"token": ctok8, "app": "gmail"}));
    assert_eq!(r["data"]["connect_session_id"], 1);
    // The control route is not in the request log.
    assert!(journal(&emu, "/__emulator").is_empty());
}
