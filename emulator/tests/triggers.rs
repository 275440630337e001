//! Deployed triggers: deploy, the `…/deployed-triggers/*` routes, emitting
//! through `/__emulator/triggers/{id}/emit`, and signed webhook deliveries to
//! a listener the test runs itself.

mod common;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

fn jira_issue(key: &str, summary: &str) -> Value {
    json!({"id": "10042", "key": key, "self": format!("https://acme.atlassian.net/rest/api/3/issue/{key}"),
           "fields": {"summary": summary, "status": {"name": "To Do"}, "labels": ["backend"]}})
}

fn components() -> Value {
    let mut c = test_components();
    let list = c.as_array_mut().unwrap();
    list.retain(|x| x["component_type"] != "trigger");
    list.extend([
        json!({
            "key": "gmail-new-email-received", "name": "New Email Received", "version": "0.2.4", "component_type": "trigger",
            "configurable_props": [
                app_prop("gmail"),
                {"name": "db", "type": "$.service.db"},
                {"name": "timer", "type": "$.interface.timer", "default": {"intervalSeconds": 900}},
                {"name": "labels", "type": "string[]", "optional": true}
            ],
            "x_emulator": {
                "samples": [
                    {"id": "m1", "subject": "Invoice #1042", "from": "jordan@acme.example"},
                    {"id": "m2", "subject": "Build passed", "from": "ci@builds.example"}
                ],
                "summary": "New email: {{event.subject}}"
            }
        }),
        json!({
            "key": "jira-issue-created", "name": "New Issue Created Event (Instant)", "version": "0.0.14", "component_type": "source",
            "configurable_props": [
                app_prop("jira"),
                {"name": "db", "type": "$.service.db"},
                {"name": "http", "type": "$.interface.http", "customResponse": true},
                {"name": "cloudId", "type": "string"},
                {"name": "projectKey", "type": "string"},
                {"name": "jqlFilter", "type": "string", "optional": true}
            ],
            "x_emulator": {
                "samples": [jira_issue("WEB-1", "Login broken"), jira_issue("WEB-2", "Dark mode")],
                "summary": "New issue {{event.key}}: {{event.fields.summary}} ({{props.cloudId}})"
            }
        }),
        json!({
            "key": "slack-new-message-in-channels", "name": "New Message In Channels (Instant)", "version": "1.0.24", "component_type": "trigger",
            "configurable_props": [app_prop("slack"), {"name": "http", "type": "$.interface.http"}],
            "x_emulator": {"samples": [{"type": "message", "text": "hello", "channel": "C1"}]}
        }),
        json!({
            "key": "sendgrid-new-event", "name": "New Events (Instant)", "version": "0.0.1", "component_type": "trigger",
            "configurable_props": [app_prop("sendgrid")]
        }),
        json!({
            "key": "google_sheets-new-row-added", "name": "New Row Added", "version": "0.0.9", "component_type": "trigger",
            "configurable_props": [app_prop("google_sheets"), {"name": "sheetId", "type": "string", "reloadProps": true}],
            "x_emulator": {"dynamic_props": [{"name": "worksheetId", "type": "string"}]}
        }),
    ]);
    c
}

fn start(args: &[&str]) -> (Emu, String) {
    let emu = Emu::start_with(&test_apps(), &components(), args);
    let tok = emu.token();
    (emu, tok)
}

fn account(emu: &Emu, user: &str, app: &str) -> String {
    account_with(emu, json!({"external_user_id": user, "app": app}))
}

fn account_with(emu: &Emu, body: Value) -> String {
    let (s, v) = emu.control_post("/__emulator/accounts", &body);
    assert_eq!(s, 201, "{v}");
    v["data"]["id"].as_str().unwrap().to_string()
}

fn deploy(emu: &Emu, tok: &str, body: Value) -> (u16, Value) {
    emu.post(&emu.project("/triggers/deploy"), tok, &body)
}

/// A jira trigger of `user` (who gets a jira account), deployed with `extra` fields.
fn deploy_jira(emu: &Emu, tok: &str, user: &str, extra: Value) -> Value {
    let apn = account(emu, user, "jira");
    let mut body = json!({
        "id": "jira-issue-created", "external_user_id": user,
        "configured_props": {"jira": {"authProvisionId": apn}, "cloudId": "c-1", "projectKey": "WEB"},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, v) = deploy(emu, tok, body);
    assert_eq!(s, 200, "{v}");
    v["data"].clone()
}

/// A jira trigger of `u1` delivering to `hook`, without the events of the deploy.
fn deploy_to_hook(emu: &Emu, tok: &str, hook: &Hook) -> Value {
    deploy_jira(
        emu,
        tok,
        "u1",
        json!({"webhook_url": hook.url, "emit_on_deploy": false}),
    )
}

fn trig(emu: &Emu, id: &str, rest: &str, user: &str) -> String {
    emu.project(&format!(
        "/deployed-triggers/{id}{rest}?external_user_id={user}"
    ))
}

fn put(emu: &Emu, path: &str, tok: &str, body: &Value) -> (u16, Value) {
    send(emu.api(Method::PUT, path, tok).json(body))
}

fn emit(emu: &Emu, id: &str, body: Value) -> (u16, Value) {
    emu.control_post(&format!("/__emulator/triggers/{id}/emit"), &body)
}

fn deliveries(emu: &Emu) -> Vec<Value> {
    emu.control_get("/__emulator/trigger-deliveries")["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn not_found(s: u16, b: &Value, what: &str) {
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["code"], "not_found", "{b}");
    assert_eq!(b["error"], format!("{what} not found"), "{b}");
}

fn bad_request(s: u16, b: &Value, needle: &str) {
    assert_eq!(s, 400, "{b}");
    let e = b["error"].as_str().unwrap();
    assert!(e.contains(needle), "{needle:?} not in {e:?}");
}

// ---- the receiving end

/// One POST the hook got: lowercase header names, the raw body bytes.
#[derive(Debug, Clone)]
struct Got {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn signature(&self) -> Option<&str> {
        self.headers.get("x-pd-signature").map(String::as_str)
    }
}

/// A webhook receiver: answers each POST with the next planned (status,
/// delay before answering), 200 at once when the plan is empty.
struct Hook {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    plan: Arc<Mutex<VecDeque<(u16, u64)>>>,
}

impl Hook {
    fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/pd/events?src=emu",
            listener.local_addr().unwrap()
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(VecDeque::new()));
        let (g, p) = (got.clone(), plan.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = HashMap::new();
                let mut first = true;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if first {
                        headers.insert(":request".to_string(), line.trim_end().to_string());
                        first = false;
                    } else if let Some((k, v)) = line.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let len = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                g.lock().unwrap().push(Got { headers, body });
                let (status, delay) = p.lock().unwrap().pop_front().unwrap_or((200, 0));
                std::thread::sleep(Duration::from_millis(delay));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Hook { url, got, plan }
    }

    fn plan(&self, steps: &[(u16, u64)]) {
        self.plan.lock().unwrap().extend(steps);
    }

    fn take(&self) -> Vec<Got> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }

    /// Waits up to 5 s for `n` requests (for deliveries in the background).
    fn wait_for(&self, n: usize) -> Vec<Got> {
        let until = Instant::now() + Duration::from_secs(5);
        while self.got.lock().unwrap().len() < n && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.take()
    }
}

/// `t=<secs>,v1=<hex>` split up.
fn parse_signature(header: &str) -> (u64, String) {
    let (t, v1) = header.split_once(',').expect("t=…,v1=…");
    let t = t
        .strip_prefix("t=")
        .expect("t=")
        .parse()
        .expect("t is a number");
    let v1 = v1.strip_prefix("v1=").expect("v1=").to_string();
    (t, v1)
}

/// The receiver's check: HMAC-SHA256 with the key's UTF-8 bytes over "<t>.<raw body>".
fn verifies(key: &str, got: &Got) -> bool {
    let Some(header) = got.signature() else {
        return false;
    };
    let (t, v1) = parse_signature(header);
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&got.body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex == v1
}

// ---- deploy

#[test]
fn deploy_answers_a_deployed_component() {
    let (emu, tok) = start(&[]);
    let apn = account(&emu, "u1", "gmail");
    let before = now_secs();
    let (s, v) = deploy(
        &emu,
        &tok,
        json!({"id": "gmail-new-email-received", "external_user_id": "u1",
               "configured_props": {"gmail": {"authProvisionId": apn}, "labels": ["INBOX"]},
               "webhook_url": "http://127.0.0.1:9/hook"}),
    );
    assert_eq!(s, 200, "{v}");
    let d = &v["data"];
    assert!(d["id"].as_str().unwrap().starts_with("dc_"), "{d}");
    // owner_id is the user's exu id as GET /users shows it.
    let (_, users) = emu.get(&emu.project("/users"), &tok);
    assert_eq!(users["data"][0]["external_id"], "u1");
    assert_eq!(d["owner_id"], users["data"][0]["id"]);
    let exu = d["owner_id"].as_str().unwrap();
    assert!(exu.starts_with("exu_"));
    assert!(d["component_id"].as_str().unwrap().starts_with("sc_"));
    assert_eq!(d["component_key"], "gmail-new-email-received");
    let (_, c) = emu.get(&emu.project("/triggers/gmail-new-email-received"), &tok);
    assert_eq!(d["configurable_props"], c["data"]["configurable_props"]);
    // As sent, plus the server's db entry and the timer's default.
    assert_eq!(
        d["configured_props"],
        json!({"gmail": {"authProvisionId": apn}, "labels": ["INBOX"],
               "db": {"type": "$.service.db"}, "timer": {"intervalSeconds": 900}})
    );
    assert_eq!(d["active"], true);
    let created = d["created_at"].as_u64().unwrap();
    assert!(
        created >= before && created <= now_secs(),
        "epoch seconds: {created}"
    );
    assert_eq!(d["updated_at"], d["created_at"]);
    assert_eq!(d["name"], format!("Pipedream Emulator - {exu}"));
    let slug = format!(
        "pipedream-emulator---{}",
        exu.to_ascii_lowercase().replace('_', "-")
    );
    assert_eq!(d["name_slug"], slug.as_str());
    assert_eq!(d["emit_on_deploy"], true);
    assert_eq!(d["type"], "DeployedComponent");
    let key = d["webhook_signing_key"].as_str().unwrap();
    assert!(key.len() >= 32, "{key}");
    assert!(
        key.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "url-safe: {key}"
    );
    assert!(d.get("http").is_none());

    // A deploy always makes a new trigger; the slug stays unique; the
    // component id is the component's. No webhook_url: no signing key.
    let (s, v2) = deploy(
        &emu,
        &tok,
        json!({"id": "gmail-new-email-received", "external_user_id": "u1", "emit_on_deploy": false,
               "configured_props": {"gmail": {"authProvisionId": apn}}}),
    );
    assert_eq!(s, 200, "{v2}");
    let d2 = &v2["data"];
    assert_ne!(d2["id"], d["id"]);
    assert_eq!(d2["component_id"], d["component_id"]);
    assert_eq!(d2["name_slug"], format!("{slug}-2"));
    assert_eq!(d2["emit_on_deploy"], false);
    assert!(d2.get("webhook_signing_key").is_none(), "{d2}");
    // An $.interface.http prop gets an endpoint; another component, another sc_ id.
    let j = deploy_jira(&emu, &tok, "u1", json!({}));
    let url = j["configured_props"]["http"]["endpoint_url"]
        .as_str()
        .unwrap();
    assert!(
        url.starts_with("https://") && url.ends_with(".m.pipedream.net"),
        "{url}"
    );
    assert_eq!(j["configured_props"]["db"], json!({"type": "$.service.db"}));
    assert_ne!(j["component_id"], d["component_id"]);

    // The journal: every trigger, its user and webhook URLs.
    let all = emu.control_get("/__emulator/triggers")["data"].clone();
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert_eq!(all[0]["id"], d["id"]);
    assert_eq!(all[0]["external_user_id"], "u1");
    assert_eq!(all[0]["active"], true);
    assert_eq!(all[0]["environment"], ENV);
    assert_eq!(all[0]["webhook_urls"], json!(["http://127.0.0.1:9/hook"]));
    assert_eq!(all[1]["webhook_urls"], json!([]));
}

#[test]
fn deploy_refuses_what_the_api_refuses() {
    let (emu, tok) = start(&[]);
    let jira = account(&emu, "u1", "jira");
    let other_user = account(&emu, "u2", "jira");
    let other_app = account(&emu, "u1", "gmail");
    let dead = account_with(
        &emu,
        json!({"external_user_id": "u1", "app": "jira", "dead": true}),
    );
    let ok_props = json!({"jira": {"authProvisionId": jira}, "cloudId": "c", "projectKey": "W"});
    let body = |extra: Value| {
        let mut b = json!({"id": "jira-issue-created", "external_user_id": "u1", "configured_props": ok_props});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let props = |jira_value: Value| {
        let mut p = ok_props.clone();
        p["jira"] = jira_value;
        p
    };

    let (s, b) = deploy(&emu, &tok, body(json!({"prop_name": "x"})));
    bad_request(s, &b, "prop_name");
    let (s, b) = deploy(&emu, &tok, json!({"external_user_id": "u1"}));
    bad_request(s, &b, "id is required");
    let (s, b) = deploy(&emu, &tok, json!({"id": "jira-issue-created"}));
    bad_request(s, &b, "external_user_id is required");
    let (s, b) = deploy(&emu, &tok, body(json!({"id": "gmail-search-emails"})));
    bad_request(s, &b, "gmail-search-emails is an action, not a trigger");
    let (s, b) = deploy(&emu, &tok, body(json!({"id": "jira-nope"})));
    not_found(s, &b, "component jira-nope");
    let (s, b) = deploy(&emu, &tok, body(json!({"version": "9.9.9"})));
    assert_eq!(s, 404, "{b}");
    let (s, b) = deploy(&emu, &tok, body(json!({"version": "0.0.14"})));
    assert_eq!(s, 200, "{b}");
    // Accounts: missing is a 400 naming the prop; a wrong one is an unknown account.
    let (s, b) = deploy(
        &emu,
        &tok,
        body(json!({"configured_props": {"cloudId": "c", "projectKey": "W"}})),
    );
    bad_request(s, &b, "prop jira is required");
    for wrong in [&other_user, &other_app, "apn_nope"] {
        let (s, b) = deploy(
            &emu,
            &tok,
            body(json!({"configured_props": props(json!({"authProvisionId": wrong}))})),
        );
        not_found(s, &b, &format!("account {wrong}"));
    }
    let (s, b) = deploy(
        &emu,
        &tok,
        body(json!({"configured_props": props(json!({"authProvisionId": dead}))})),
    );
    bad_request(s, &b, "dead");
    // Required props, all listed.
    let (s, b) = deploy(
        &emu,
        &tok,
        body(json!({"configured_props": {"jira": {"authProvisionId": jira}}})),
    );
    bad_request(s, &b, "Missing required props: cloudId, projectKey");
    for url in ["ftp://x/y", "/relative", "", "not a url"] {
        let (s, b) = deploy(&emu, &tok, body(json!({"webhook_url": url})));
        bad_request(s, &b, "webhook_url");
    }
    let (s, b) = deploy(&emu, &tok, body(json!({"workflow_id": "wf-1"})));
    bad_request(s, &b, "workflow id");
    let (s, b) = deploy(&emu, &tok, body(json!({"emit_on_deploy": "yes"})));
    assert_eq!(s, 400, "{b}");
    let (s, b) = deploy(&emu, &tok, body(json!({"dynamic_props_id": "dyp_nope"})));
    bad_request(s, &b, "unknown dynamic_props_id");
    // Only the one good deploy exists.
    let all = emu.control_get("/__emulator/triggers")["data"].clone();
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");

    // dynamic_props_id: the reloaded props are what the deploy is checked against.
    let sheets = account(&emu, "u1", "google_sheets");
    let (s, r) = emu.post(
        &emu.project("/triggers/props"),
        &tok,
        &json!({"id": "google_sheets-new-row-added", "external_user_id": "u1",
                "configured_props": {"google_sheets": {"authProvisionId": sheets}, "sheetId": "s1"}}),
    );
    assert_eq!(s, 200, "{r}");
    let dyp = r["dynamicProps"]["id"].as_str().unwrap();
    let sheets_body = |props: Value| {
        json!({"id": "google_sheets-new-row-added", "external_user_id": "u1",
               "dynamic_props_id": dyp, "configured_props": props})
    };
    let (s, b) = deploy(
        &emu,
        &tok,
        sheets_body(json!({"google_sheets": {"authProvisionId": sheets}, "sheetId": "s1"})),
    );
    bad_request(s, &b, "Missing required props: worksheetId");
    let (s, b) = deploy(
        &emu,
        &tok,
        sheets_body(
            json!({"google_sheets": {"authProvisionId": sheets}, "sheetId": "s1", "worksheetId": "w"}),
        ),
    );
    assert_eq!(s, 200, "{b}");
    let names: Vec<String> = keys(&b["data"]["configurable_props"], "name");
    assert_eq!(names, ["google_sheets", "sheetId", "worksheetId"]);
    // Another user's dyp id is unknown to this one.
    account(&emu, "u2", "google_sheets");
    let mut other = sheets_body(json!({}));
    other["external_user_id"] = json!("u2");
    let (s, b) = deploy(&emu, &tok, other);
    bad_request(s, &b, "unknown dynamic_props_id");
}

fn connect_token(emu: &Emu, tok: &str, user: &str) -> String {
    let (s, v) = emu.post(
        &emu.project("/tokens"),
        tok,
        &json!({"external_user_id": user}),
    );
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

#[test]
fn signing_keys_only_for_oauth_callers() {
    let (emu, tok) = start(&[]);
    let apn = account(&emu, "u1", "jira");
    let ctok = connect_token(&emu, &tok, "u1");
    let body = json!({"id": "jira-issue-created", "external_user_id": "u1",
                      "configured_props": {"jira": {"authProvisionId": apn}, "cloudId": "c", "projectKey": "W"},
                      "webhook_url": "http://127.0.0.1:9/a"});
    // A Connect token deploys for its own user, and never sees the key.
    let (s, v) = deploy(&emu, &ctok, body.clone());
    assert_eq!(s, 200, "{v}");
    let id = v["data"]["id"].as_str().unwrap().to_string();
    assert!(v["data"].get("webhook_signing_key").is_none(), "{v}");
    let (s, w) = emu.get(&trig(&emu, &id, "/webhooks", "u1"), &ctok);
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["webhook_urls"], json!(["http://127.0.0.1:9/a"]));
    assert_eq!(w["webhooks"][0]["signing_key_set"], true);
    assert!(w["webhooks"][0].get("signing_key").is_none(), "{w}");
    // The same trigger through OAuth: the key is there.
    let (_, w) = emu.get(&trig(&emu, &id, "/webhooks", "u1"), &tok);
    let key = w["webhooks"][0]["signing_key"].as_str().unwrap();
    assert!(key.len() >= 32);
    let (s, v) = deploy(&emu, &tok, body.clone());
    assert_eq!(s, 200);
    assert!(v["data"]["webhook_signing_key"].is_string());

    // A Connect token acts for its user, in its environment, on trigger routes only.
    let mut other = body.clone();
    other["external_user_id"] = json!("u2");
    let (s, b) = deploy(&emu, &ctok, other);
    assert_eq!(s, 403, "{b}");
    let (s, b) = emu.get(&trig(&emu, &id, "", "u2"), &ctok);
    assert_eq!(s, 403, "{b}");
    let (s, b) = send(
        emu.client
            .get(emu.at(&trig(&emu, &id, "", "u1")))
            .bearer_auth(&ctok)
            .header("x-pd-environment", "production"),
    );
    assert_eq!(s, 403, "{b}");
    let (s, _) = emu.get(&emu.project("/accounts"), &ctok);
    assert_eq!(s, 401);
    let (s, b) = emu.get(&trig(&emu, &id, "", "u1"), "ctok_nope");
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid access token"))
    );
    let (s, v) = emu.post(
        &emu.project("/tokens"),
        &tok,
        &json!({"external_user_id": "u1", "expires_in": 1}),
    );
    assert_eq!(s, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let (s, b) = emu.get(&trig(&emu, &id, "", "u1"), v["token"].as_str().unwrap());
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("connect token expired"))
    );
}

// ---- list, retrieve, update, delete

#[test]
fn list_pages_one_users_triggers() {
    let (emu, tok) = start(&[]);
    let ids: Vec<String> = (0..3)
        .map(|_| {
            deploy_jira(&emu, &tok, "u1", json!({}))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let theirs = deploy_jira(&emu, &tok, "u2", json!({}));
    let list = |q: &str| emu.get(&emu.project(&format!("/deployed-triggers{q}")), &tok);

    let (s, p1) = list("?external_user_id=u1&limit=2");
    assert_eq!(s, 200, "{p1}");
    assert_eq!(keys(&p1["data"], "id"), ids[..2]);
    assert_eq!(p1["data"][0]["type"], "DeployedComponent");
    assert_eq!(p1["page_info"]["total_count"], 3);
    let after = p1["page_info"]["end_cursor"].as_str().unwrap();
    let (_, p2) = list(&format!("?external_user_id=u1&limit=2&after={after}"));
    assert_eq!(keys(&p2["data"], "id"), ids[2..]);
    let after = p2["page_info"]["end_cursor"].as_str().unwrap();
    let (_, p3) = list(&format!("?external_user_id=u1&limit=2&after={after}"));
    assert_eq!(p3["data"], json!([]));
    assert!(p3["page_info"]["end_cursor"].is_null());
    let (_, u2) = list("?external_user_id=u2");
    assert_eq!(keys(&u2["data"], "id"), [theirs["id"].as_str().unwrap()]);
    let (_, none) = list("?external_user_id=u3");
    assert_eq!(none["data"], json!([]));
    // emitter_type: sources are all there is.
    let (_, src) = list("?external_user_id=u1&emitter_type=source");
    assert_eq!(src["data"].as_array().unwrap().len(), 3);
    for t in ["email", "http", "timer"] {
        let (s, v) = list(&format!("?external_user_id=u1&emitter_type={t}"));
        assert_eq!((s, &v["data"]), (200, &json!([])), "{t}");
    }
    let (s, b) = list("?external_user_id=u1&emitter_type=webhook");
    bad_request(s, &b, "emitter_type");
    let (s, b) = list("");
    bad_request(s, &b, "external_user_id is required");
    let (s, b) = list("?external_user_id=u1&after=garbage");
    assert_eq!(s, 400, "{b}");
    // A trigger lives in its environment.
    let (s, v) = send(
        emu.client
            .get(emu.at(&emu.project("/deployed-triggers?external_user_id=u1")))
            .bearer_auth(&tok)
            .header("x-pd-environment", "production"),
    );
    assert_eq!((s, &v["data"]), (200, &json!([])));
}

#[test]
fn retrieve_update_delete() {
    let (emu, tok) = start(&[]);
    let apn = account(&emu, "u1", "jira");
    let (s, v) = deploy(
        &emu,
        &tok,
        json!({"id": "jira-issue-created", "external_user_id": "u1",
               "configured_props": {"jira": {"authProvisionId": apn}, "cloudId": "c-1",
                                    "projectKey": "WEB", "jqlFilter": "priority = High"}}),
    );
    assert_eq!(s, 200, "{v}");
    let d = v["data"].clone();
    let id = d["id"].as_str().unwrap();
    let endpoint = d["configured_props"]["http"].clone();

    let (s, g) = emu.get(&trig(&emu, id, "", "u1"), &tok);
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["data"], d);
    let (s, b) = emu.get(&trig(&emu, id, "", "u2"), &tok);
    not_found(s, &b, &format!("trigger {id}"));
    let (s, b) = emu.get(&emu.project(&format!("/deployed-triggers/{id}")), &tok);
    bad_request(s, &b, "external_user_id is required");

    // PUT replaces configured_props (jqlFilter is gone), keeps the endpoint.
    std::thread::sleep(Duration::from_millis(1100));
    let (s, u) = put(
        &emu,
        &trig(&emu, id, "", "u1"),
        &tok,
        &json!({"configured_props": {"jira": {"authProvisionId": apn}, "cloudId": "c-2", "projectKey": "API"},
                "name": "Jira issues", "active": false, "emit_on_deploy": false}),
    );
    assert_eq!(s, 200, "{u}");
    let u = &u["data"];
    assert_eq!(
        u["configured_props"],
        json!({"jira": {"authProvisionId": apn}, "cloudId": "c-2", "projectKey": "API",
               "db": {"type": "$.service.db"}, "http": endpoint})
    );
    assert!(u["updated_at"].as_u64() > d["updated_at"].as_u64(), "{u}");
    assert_eq!(u["created_at"], d["created_at"]);
    assert_eq!(
        (&u["name"], &u["name_slug"]),
        (&json!("Jira issues"), &json!("jira-issues"))
    );
    assert_eq!(
        (&u["active"], &u["emit_on_deploy"]),
        (&json!(false), &json!(false))
    );
    let (_, g) = emu.get(&trig(&emu, id, "", "u1"), &tok);
    assert_eq!(&g["data"], u);
    // Only what is sent changes.
    let (s, u2) = put(
        &emu,
        &trig(&emu, id, "", "u1"),
        &tok,
        &json!({"active": true}),
    );
    assert_eq!(s, 200);
    assert_eq!(u2["data"]["active"], true);
    assert_eq!(u2["data"]["configured_props"], u["configured_props"]);
    assert_eq!(u2["data"]["name"], "Jira issues");

    // PUT's props are checked as on deploy; a failed PUT changes nothing.
    let p = trig(&emu, id, "", "u1");
    let (s, b) = put(
        &emu,
        &p,
        &tok,
        &json!({"configured_props": {"jira": {"authProvisionId": apn}}}),
    );
    bad_request(s, &b, "Missing required props: cloudId, projectKey");
    let (s, b) = put(
        &emu,
        &p,
        &tok,
        &json!({"configured_props": {"jira": {"authProvisionId": "apn_nope"}, "cloudId": "c", "projectKey": "W"}}),
    );
    not_found(s, &b, "account apn_nope");
    let (s, b) = put(&emu, &p, &tok, &json!({"external_user_id": "u1"}));
    assert_eq!(s, 400, "unknown keys: {b}");
    let (s, b) = put(&emu, &p, &tok, &json!({"name": " "}));
    assert_eq!(s, 400, "{b}");
    let (s, b) = put(
        &emu,
        &trig(&emu, id, "", "u2"),
        &tok,
        &json!({"active": false}),
    );
    not_found(s, &b, &format!("trigger {id}"));
    let (_, g) = emu.get(&p, &tok);
    assert_eq!(g["data"], u2["data"]);

    // DELETE: 204 and no body, then 404; ignore_hook_errors must be a bool.
    let del = |path: &str| {
        let r = emu.api(Method::DELETE, path, &tok).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (s, b) = del(&format!("{p}&ignore_hook_errors=maybe"));
    assert_eq!(s, 400, "{b}");
    let (s, b) = del(&trig(&emu, id, "", "u2"));
    assert_eq!(s, 404, "{b}");
    let (s, b) = del(&format!("{p}&ignore_hook_errors=true"));
    assert_eq!((s, b.as_str()), (204, ""));
    let (s, b) = emu.get(&p, &tok);
    not_found(s, &b, &format!("trigger {id}"));
    let (s, b) = del(&p);
    assert_eq!(s, 404, "{b}");
    assert!(
        emu.control_get("/__emulator/triggers")["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != id)
    );
}

// ---- events

#[test]
fn events_newest_first_at_most_n() {
    let (emu, tok) = start(&[]);
    // Deploy emits the first sample (once: --deploy-emits defaults to 1).
    let d = deploy_jira(&emu, &tok, "u1", json!({}));
    let id = d["id"].as_str().unwrap();
    let events = |q: &str| emu.get(&format!("{}{q}", trig(&emu, id, "/events", "u1")), &tok);
    let (s, v) = events("");
    assert_eq!(s, 200, "{v}");
    assert!(v.get("page_info").is_none());
    let list = v["data"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let e = &list[0];
    assert_eq!(e["e"], jira_issue("WEB-1", "Login broken"));
    assert_eq!(e["k"], "emit");
    let ts = e["ts"].as_u64().unwrap();
    assert!(ts > 1_000_000_000_000, "epoch ms: {ts}");
    assert_eq!(e["id"], format!("{ts}-0"));
    assert_eq!(e["sum"], "New issue WEB-1: Login broken (c-1)");

    // Samples go round; `count` emits several.
    let (s, r) = emit(&emu, id, json!({"count": 3}));
    assert_eq!(s, 200, "{r}");
    let sent: Vec<&str> = r["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["e"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(sent, ["WEB-2", "WEB-1", "WEB-2"]);
    let (s, r) = emit(
        &emu,
        id,
        json!({"payload": {"key": "X-9"}, "summary": "custom"}),
    );
    assert_eq!(s, 200, "{r}");
    let (_, v) = events("");
    let all = v["data"].as_array().unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0]["e"], json!({"key": "X-9"}));
    assert_eq!(all[0]["sum"], "custom");
    assert_eq!(all[4]["id"], e["id"], "oldest last");
    // Newest first, by id.
    let order: Vec<(u64, u64)> = all
        .iter()
        .map(|e| {
            let (ts, seq) = e["id"].as_str().unwrap().split_once('-').unwrap();
            (ts.parse().unwrap(), seq.parse().unwrap())
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(order, sorted);
    let (_, v) = events("&n=2");
    assert_eq!(v["data"].as_array().unwrap()[..], all[..2]);
    let (_, v) = events("&n=100");
    assert_eq!(v["data"].as_array().unwrap().len(), 5);
    for bad in ["0", "101", "-1", "abc", "2.5"] {
        let (s, b) = events(&format!("&n={bad}"));
        bad_request(s, &b, "n must be");
    }
    let (s, b) = emu.get(&trig(&emu, id, "/events", "u2"), &tok);
    not_found(s, &b, &format!("trigger {id}"));

    // emit_on_deploy: false emits nothing; a component without a summary has no `sum`.
    let quiet = deploy_jira(&emu, &tok, "u1", json!({"emit_on_deploy": false}));
    let (_, v) = emu.get(
        &trig(&emu, quiet["id"].as_str().unwrap(), "/events", "u1"),
        &tok,
    );
    assert_eq!(v["data"], json!([]));
    let slack = account(&emu, "u1", "slack");
    let (_, s1) = deploy(
        &emu,
        &tok,
        json!({"id": "slack-new-message-in-channels", "external_user_id": "u1",
               "configured_props": {"slack": {"authProvisionId": slack}}}),
    );
    let (_, v) = emu.get(
        &trig(&emu, s1["data"]["id"].as_str().unwrap(), "/events", "u1"),
        &tok,
    );
    assert_eq!(v["data"][0]["e"]["text"], "hello");
    assert!(v["data"][0].get("sum").is_none(), "{v}");
}

#[test]
fn deploy_emits_flag() {
    let (emu, tok) = start(&["--deploy-emits", "0"]);
    let d = deploy_jira(&emu, &tok, "u1", json!({}));
    let (_, v) = emu.get(
        &trig(&emu, d["id"].as_str().unwrap(), "/events", "u1"),
        &tok,
    );
    assert_eq!(v["data"], json!([]), "--deploy-emits 0: none");
    drop(emu);
    let (emu, tok) = start(&["--deploy-emits", "3"]);
    let d = deploy_jira(&emu, &tok, "u1", json!({}));
    let (_, v) = emu.get(
        &trig(&emu, d["id"].as_str().unwrap(), "/events", "u1"),
        &tok,
    );
    let keys: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["e"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["WEB-1", "WEB-2", "WEB-1"],
        "newest first, samples in turn"
    );
}

// ---- webhooks and pipelines

#[test]
fn webhooks_put_keeps_kept_urls() {
    let (emu, tok) = start(&[]);
    let (a, b, c) = (
        "http://127.0.0.1:9/a",
        "http://127.0.0.1:9/b",
        "https://hooks.example.com/c",
    );
    let d = deploy_jira(&emu, &tok, "u1", json!({"webhook_url": a}));
    let id = d["id"].as_str().unwrap();
    let path = trig(&emu, id, "/webhooks", "u1");
    let (s, w) = emu.get(&path, &tok);
    assert_eq!(s, 200, "{w}");
    assert!(w.get("data").is_none(), "not wrapped: {w}");
    assert_eq!(w["webhook_urls"], json!([a]));
    let wa = w["webhooks"][0].clone();
    assert!(wa["id"].as_str().unwrap().starts_with("wh_"));
    assert_eq!(wa["signing_key"], d["webhook_signing_key"]);
    assert_eq!(wa["url"], a);

    let (s, w) = put(&emu, &path, &tok, &json!({"webhook_urls": [b, a]}));
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["webhook_urls"], json!([b, a]));
    assert_eq!(w["webhooks"][1], wa, "kept: same id and key");
    let wb = w["webhooks"][0].clone();
    assert_ne!(wb["id"], wa["id"]);
    assert_ne!(wb["signing_key"], wa["signing_key"]);
    let (s, w) = put(&emu, &path, &tok, &json!({"webhook_urls": [c, b]}));
    assert_eq!(s, 200);
    assert_eq!(w["webhooks"][1], wb);
    assert_ne!(
        w["webhooks"][0]["id"], wa["id"],
        "a dropped URL's webhook is gone"
    );
    let (_, g) = emu.get(&path, &tok);
    assert_eq!(g, w);
    let all = emu.control_get("/__emulator/triggers")["data"].clone();
    assert_eq!(all[0]["webhook_urls"], json!([c, b]));

    for bad in [
        json!({}),
        json!({"webhook_urls": ["ftp://x"]}),
        json!({"webhook_urls": [a, a]}),
        json!({"webhook_urls": "http://127.0.0.1:9/a"}),
        json!({"webhook_urls": [], "x": 1}),
    ] {
        let (s, e) = put(&emu, &path, &tok, &bad);
        assert_eq!(s, 400, "{bad}: {e}");
    }
    let (s, e) = put(
        &emu,
        &trig(&emu, id, "/webhooks", "u2"),
        &tok,
        &json!({"webhook_urls": []}),
    );
    not_found(s, &e, &format!("trigger {id}"));
    let (_, g) = emu.get(&path, &tok);
    assert_eq!(g, w, "refused PUTs change nothing");
    let (s, w) = put(&emu, &path, &tok, &json!({"webhook_urls": []}));
    assert_eq!((s, &w["webhooks"]), (200, &json!([])));
}

#[test]
fn webhook_retrieve_and_regenerate() {
    let (emu, tok) = start(&[]);
    let before = now_secs();
    let d = deploy_jira(
        &emu,
        &tok,
        "u1",
        json!({"webhook_url": "http://127.0.0.1:9/a"}),
    );
    let id = d["id"].as_str().unwrap();
    let (_, w) = emu.get(&trig(&emu, id, "/webhooks", "u1"), &tok);
    let wid = w["webhooks"][0]["id"].as_str().unwrap();
    let one = trig(&emu, id, &format!("/webhooks/{wid}"), "u1");
    let (s, g) = emu.get(&one, &tok);
    assert_eq!(s, 200, "{g}");
    let g = &g["data"];
    assert_eq!(g["id"], wid);
    assert_eq!(g["url"], "http://127.0.0.1:9/a");
    assert_eq!(g["signing_key"], d["webhook_signing_key"]);
    assert_eq!(g["signing_key_set"], true);
    let created = g["created_at"].as_u64().unwrap();
    assert!(
        created >= before && created <= now_secs(),
        "seconds: {created}"
    );
    assert_eq!(g["updated_at"], g["created_at"]);

    let regen = trig(
        &emu,
        id,
        &format!("/webhooks/{wid}/regenerate_signing_key"),
        "u1",
    );
    let (s, r) = send(emu.api(Method::POST, &regen, &tok));
    assert_eq!(s, 200, "{r}");
    let r = &r["data"];
    assert_eq!(r["id"], wid);
    assert_ne!(r["signing_key"], g["signing_key"]);
    assert!(r["signing_key"].as_str().unwrap().len() >= 32);
    let (_, again) = emu.get(&one, &tok);
    assert_eq!(&again["data"], r);
    let (_, list) = emu.get(&trig(&emu, id, "/webhooks", "u1"), &tok);
    assert_eq!(list["webhooks"][0]["signing_key"], r["signing_key"]);
    let (s, b) = emu.post(&regen, &tok, &json!({"x": 1}));
    assert_eq!(s, 400, "no body: {b}");

    let (s, b) = emu.get(&trig(&emu, id, "/webhooks/wh_nope", "u1"), &tok);
    not_found(s, &b, "webhook wh_nope");
    let (s, b) = send(emu.api(
        Method::POST,
        &trig(&emu, id, "/webhooks/wh_nope/regenerate_signing_key", "u1"),
        &tok,
    ));
    not_found(s, &b, "webhook wh_nope");
    let (s, b) = emu.get(&trig(&emu, id, &format!("/webhooks/{wid}"), "u2"), &tok);
    not_found(s, &b, &format!("trigger {id}"));
}

#[test]
fn pipelines_store_workflow_ids() {
    let (emu, tok) = start(&[]);
    let d = deploy_jira(&emu, &tok, "u1", json!({"workflow_id": "p_abc123"}));
    let id = d["id"].as_str().unwrap();
    let path = trig(&emu, id, "/pipelines", "u1");
    let (s, v) = emu.get(&path, &tok);
    assert_eq!((s, v), (200, json!({"workflow_ids": ["p_abc123"]})));
    let (s, v) = put(
        &emu,
        &path,
        &tok,
        &json!({"workflow_ids": ["p_x1", "p_y2"]}),
    );
    assert_eq!((s, &v), (200, &json!({"workflow_ids": ["p_x1", "p_y2"]})));
    let (_, v) = emu.get(&path, &tok);
    assert_eq!(v, json!({"workflow_ids": ["p_x1", "p_y2"]}));
    for bad in [
        json!({}),
        json!({"workflow_ids": ["nope"]}),
        json!({"workflow_ids": "p_1"}),
    ] {
        let (s, b) = put(&emu, &path, &tok, &bad);
        assert_eq!(s, 400, "{bad}: {b}");
    }
    let (s, b) = emu.get(&trig(&emu, id, "/pipelines", "u2"), &tok);
    not_found(s, &b, &format!("trigger {id}"));
}

// ---- emitting and delivering

#[test]
fn emit_delivers_a_signed_payload() {
    let (emu, tok) = start(&[]);
    let hook = Hook::start();
    // Deploy-time events are delivered too, in the background.
    let d = deploy_jira(&emu, &tok, "u1", json!({"webhook_url": hook.url}));
    let id = d["id"].as_str().unwrap();
    let key = d["webhook_signing_key"].as_str().unwrap();
    let got = hook.wait_for(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json(), jira_issue("WEB-1", "Login broken"));
    assert!(verifies(key, &got[0]));

    let payload = json!({"key": "WEB-7", "fields": {"summary": "Ünïcode ✓", "n": 1.5}});
    let before = now_secs();
    let (s, r) = emit(&emu, id, json!({"payload": payload}));
    assert_eq!(s, 200, "{r}");
    let data = &r["data"];
    assert_eq!(data["active"], true);
    assert_eq!(data["events"][0]["e"], payload);
    let del = &data["deliveries"][0];
    assert_eq!(del["ok"], true, "{del}");
    assert_eq!(del["status"], 200);
    assert_eq!(del["trigger_id"], id);
    assert_eq!(del["url"], hook.url.as_str());
    assert_eq!(del["event_id"], data["events"][0]["id"]);
    assert_eq!(del["attempts"].as_array().unwrap().len(), 1);
    // Done before the answer: the hook already has it.
    let got = hook.take();
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert!(g.headers[":request"].starts_with("POST /pd/events?src=emu HTTP/1.1"));
    assert_eq!(g.headers["content-type"], "application/json");
    // The body is the payload itself (no envelope).
    assert_eq!(g.json(), payload);
    assert_eq!(g.body, serde_json::to_vec(&payload).unwrap());
    let header = g.signature().expect("x-pd-signature");
    let (t, v1) = parse_signature(header);
    assert!(t >= before && t <= now_secs(), "t is now: {t}");
    assert_eq!(v1.len(), 64);
    assert!(
        v1.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert!(verifies(key, g));
    assert!(!verifies("another key", g));
    assert_eq!(del["attempts"][0]["signature"], header);

    // The delivery log, per trigger.
    let log = deliveries(&emu);
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["seq"], 2);
    assert_eq!(log[1]["payload"], payload);
    let only = emu.control_get(&format!("/__emulator/trigger-deliveries?trigger_id={id}"));
    assert_eq!(only["data"].as_array().unwrap().len(), 2);
    let none = emu.control_get("/__emulator/trigger-deliveries?trigger_id=dc_nope");
    assert_eq!(none["data"], json!([]));

    // Every webhook gets every event.
    let hook2 = Hook::start();
    let (s, _) = put(
        &emu,
        &trig(&emu, id, "/webhooks", "u1"),
        &tok,
        &json!({"webhook_urls": [hook.url, hook2.url]}),
    );
    assert_eq!(s, 200);
    let (_, w) = emu.get(&trig(&emu, id, "/webhooks", "u1"), &tok);
    let key2 = w["webhooks"][1]["signing_key"].as_str().unwrap();
    let (_, r) = emit(&emu, id, json!({"count": 2}));
    assert_eq!(r["data"]["deliveries"].as_array().unwrap().len(), 4);
    let (g1, g2) = (hook.take(), hook2.take());
    assert_eq!((g1.len(), g2.len()), (2, 2));
    assert!(g1.iter().all(|g| verifies(key, g)));
    assert!(g2.iter().all(|g| verifies(key2, g) && !verifies(key, g)));
    assert_eq!(g1[0].body, g2[0].body);
}

#[test]
fn retries_resign_the_same_body() {
    let (emu, tok) = start(&[]);
    let hook = Hook::start();
    let d = deploy_to_hook(&emu, &tok, &hook);
    let id = d["id"].as_str().unwrap();
    let key = d["webhook_signing_key"].as_str().unwrap();
    // Three slow 500s: the retries cross a second boundary, so `t` moves on.
    hook.plan(&[(500, 700), (500, 700), (503, 0)]);
    let (s, r) = emit(&emu, id, json!({"payload": {"n": 1}}));
    assert_eq!(s, 200, "{r}");
    let del = &r["data"]["deliveries"][0];
    let attempts = del["attempts"].as_array().unwrap();
    let statuses: Vec<u64> = attempts
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 503, 200]);
    assert_eq!((&del["ok"], &del["status"]), (&json!(true), &json!(200)));
    let times: Vec<u64> = attempts
        .iter()
        .map(|a| a["ts_ms"].as_u64().unwrap())
        .collect();
    assert!(
        times[1] - times[0] >= 750 && times[2] - times[1] >= 800 && times[3] - times[2] >= 200,
        "backoff 50, 100, 200 ms after each answer: {times:?}"
    );
    let got = hook.take();
    assert_eq!(got.len(), 4);
    let ts: Vec<u64> = got
        .iter()
        .map(|g| parse_signature(g.signature().unwrap()).0)
        .collect();
    for g in &got {
        assert_eq!(g.body, got[0].body, "same bytes every time");
        assert!(verifies(key, g), "each attempt signed for its own t");
    }
    assert!(ts[2] > ts[0], "a fresh t: {ts:?}");
    for (a, t) in attempts.iter().zip(&ts) {
        assert_eq!(a["t"].as_u64(), Some(*t));
    }

    // Never a 2xx: four attempts, then it gives up.
    hook.plan(&[(500, 0), (502, 0), (500, 0), (500, 0)]);
    let (_, r) = emit(&emu, id, json!({"payload": {"n": 2}}));
    let del = &r["data"]["deliveries"][0];
    assert_eq!((&del["ok"], &del["status"]), (&json!(false), &json!(500)));
    assert_eq!(del["attempts"].as_array().unwrap().len(), 4);
    assert_eq!(hook.take().len(), 4);

    // Nobody listening: four attempts without a status.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/x", closed.local_addr().unwrap());
    drop(closed);
    put(
        &emu,
        &trig(&emu, id, "/webhooks", "u1"),
        &tok,
        &json!({"webhook_urls": [dead, "https://hooks.example.com/x"]}),
    );
    let (_, r) = emit(&emu, id, json!({"payload": {"n": 3}}));
    let dels = r["data"]["deliveries"].as_array().unwrap();
    assert_eq!(dels[0]["attempts"].as_array().unwrap().len(), 4);
    assert_eq!(
        (&dels[0]["status"], &dels[0]["ok"]),
        (&json!(0), &json!(false))
    );
    assert!(dels[0]["attempts"][0]["error"].is_string());
    // https: no TLS here; recorded once as failed.
    assert_eq!(dels[1]["attempts"].as_array().unwrap().len(), 1);
    assert!(
        dels[1]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("https")
    );
    assert_eq!(deliveries(&emu).len(), 4);
}

#[test]
fn inactive_triggers_emit_nothing() {
    let (emu, tok) = start(&[]);
    let hook = Hook::start();
    let d = deploy_to_hook(&emu, &tok, &hook);
    let id = d["id"].as_str().unwrap();
    let path = trig(&emu, id, "", "u1");
    let (s, _) = put(&emu, &path, &tok, &json!({"active": false}));
    assert_eq!(s, 200);
    assert_eq!(
        emu.control_get("/__emulator/triggers")["data"][0]["active"],
        false
    );
    let (s, r) = emit(&emu, id, json!({"count": 2}));
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["data"],
        json!({"active": false, "events": [], "deliveries": []})
    );
    let (_, ev) = emu.get(&trig(&emu, id, "/events", "u1"), &tok);
    assert_eq!(ev["data"], json!([]));
    std::thread::sleep(Duration::from_millis(200));
    assert!(hook.take().is_empty());
    assert!(deliveries(&emu).is_empty());
    // Active again: it delivers.
    put(&emu, &path, &tok, &json!({"active": true}));
    let (_, r) = emit(&emu, id, json!({}));
    assert_eq!(r["data"]["deliveries"][0]["ok"], true);
    assert_eq!(hook.take().len(), 1);
}

#[test]
fn regenerated_key_signs_from_then_on() {
    let (emu, tok) = start(&[]);
    let hook = Hook::start();
    let d = deploy_to_hook(&emu, &tok, &hook);
    let id = d["id"].as_str().unwrap();
    let old = d["webhook_signing_key"].as_str().unwrap();
    let (_, w) = emu.get(&trig(&emu, id, "/webhooks", "u1"), &tok);
    let wid = w["webhooks"][0]["id"].as_str().unwrap();
    let (_, r) = send(emu.api(
        Method::POST,
        &trig(
            &emu,
            id,
            &format!("/webhooks/{wid}/regenerate_signing_key"),
            "u1",
        ),
        &tok,
    ));
    let new = r["data"]["signing_key"].as_str().unwrap();
    emit(&emu, id, json!({}));
    let got = hook.take();
    assert!(verifies(new, &got[0]));
    assert!(
        !verifies(old, &got[0]),
        "the old key stops verifying at once"
    );
}

#[test]
fn faults_break_what_a_receiver_checks() {
    let (emu, tok) = start(&[]);
    let hook = Hook::start();
    let d = deploy_to_hook(&emu, &tok, &hook);
    let id = d["id"].as_str().unwrap();
    let key = d["webhook_signing_key"].as_str().unwrap();
    let with = |faults: Value| {
        let (s, r) = emit(&emu, id, json!({"payload": {"k": 1}, "faults": faults}));
        assert_eq!(s, 200, "{r}");
        (r["data"]["deliveries"][0].clone(), hook.take())
    };

    let (del, got) = with(json!({"bad_signature": true}));
    assert_eq!(got.len(), 1);
    let (t, _) = parse_signature(got[0].signature().unwrap());
    assert!(t + 5 >= now_secs());
    assert!(!verifies(key, &got[0]), "signed with another key");
    assert_eq!(del["faults"], json!({"bad_signature": true}));

    let (del, got) = with(json!({"no_signature": true}));
    assert!(got[0].signature().is_none(), "{:?}", got[0].headers);
    assert!(del["attempts"][0]["signature"].is_null());
    assert_eq!(got[0].json(), json!({"k": 1}));

    let (_, got) = with(json!({"stale_secs": 600}));
    let (t, _) = parse_signature(got[0].signature().unwrap());
    let now = now_secs();
    assert!(
        t + 600 >= now - 5 && t + 600 <= now,
        "t = now - 600: {t} vs {now}"
    );
    assert!(verifies(key, &got[0]), "a valid signature, only old");

    let (del, got) = with(json!({"replay": true}));
    assert_eq!(got.len(), 2, "the same request twice");
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(got[0].signature(), got[1].signature());
    assert!(verifies(key, &got[1]));
    let attempts = del["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (&attempts[0]["replay"], &attempts[1]["replay"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(attempts[0]["signature"], attempts[1]["signature"]);
    // No replay of a delivery that never got through.
    hook.plan(&[(500, 0), (500, 0), (500, 0), (500, 0)]);
    let (del, got) = with(json!({"replay": true}));
    assert_eq!(
        (got.len(), del["attempts"].as_array().unwrap().len()),
        (4, 4)
    );

    let started = Instant::now();
    let (del, got) = with(json!({"delay_ms": 400}));
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(del["ts_ms"].as_u64().is_some() && got.len() == 1 && verifies(key, &got[0]));

    let (s, b) = emit(&emu, id, json!({"payload": {}, "faults": {"bogus": true}}));
    assert_eq!(s, 400, "{b}");
}

#[test]
fn emit_control_errors_and_reset() {
    let (emu, tok) = start(&[]);
    let d = deploy_jira(&emu, &tok, "u1", json!({}));
    let id = d["id"].as_str().unwrap();
    let (s, b) = emit(&emu, "dc_nope", json!({}));
    not_found(s, &b, "trigger dc_nope");
    for bad in [
        json!({"payload": [1]}),
        json!({"payload": "x"}),
        json!({"count": 0}),
        json!({"count": 101}),
        json!({"bogus": 1}),
    ] {
        let (s, b) = emit(&emu, id, bad.clone());
        assert_eq!(s, 400, "{bad}: {b}");
    }
    // A component without samples needs a payload.
    let apn = account(&emu, "u1", "sendgrid");
    let (s, v) = deploy(
        &emu,
        &tok,
        json!({"id": "sendgrid-new-event", "external_user_id": "u1",
               "configured_props": {"sendgrid": {"authProvisionId": apn}}}),
    );
    assert_eq!(s, 200, "{v}");
    let bare = v["data"]["id"].as_str().unwrap();
    let (_, ev) = emu.get(&trig(&emu, bare, "/events", "u1"), &tok);
    assert_eq!(ev["data"], json!([]), "no samples: nothing on deploy");
    let (s, b) = emit(&emu, bare, json!({}));
    bad_request(s, &b, "no x_emulator.samples");
    let (s, r) = emit(&emu, bare, json!({"payload": {"ok": true}}));
    assert_eq!(s, 200, "{r}");
    assert!(r["data"]["events"][0].get("sum").is_none());
    assert_eq!(r["data"]["deliveries"], json!([]));

    // Reset forgets triggers, events and deliveries.
    let hook = Hook::start();
    put(
        &emu,
        &trig(&emu, id, "/webhooks", "u1"),
        &tok,
        &json!({"webhook_urls": [hook.url]}),
    );
    emit(&emu, id, json!({}));
    assert_eq!(deliveries(&emu).len(), 1);
    let (s, _) = emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(s, 200);
    assert_eq!(emu.control_get("/__emulator/triggers")["data"], json!([]));
    assert!(deliveries(&emu).is_empty());
    let (s, b) = emu.get(&trig(&emu, id, "", "u1"), &tok);
    not_found(s, &b, &format!("trigger {id}"));
    let (s, b) = emit(&emu, id, json!({}));
    not_found(s, &b, &format!("trigger {id}"));
    // Control routes stay out of the request log; the API ones are in it.
    assert!(
        emu.requests()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/__emulator"))
    );
}

#[test]
fn builtin_fixture_samples() {
    let emu = Emu::start_builtin(&[
        "--account",
        "u1:github",
        "--account",
        "u1:gmail",
        "--account",
        "u1:slack",
    ]);
    let tok = emu.token();
    let (_, accts) = emu.get(&emu.project("/accounts?external_user_id=u1"), &tok);
    let apn = |slug: &str| {
        accts["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["app"]["name_slug"] == slug)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first_event = |body: Value| {
        let (s, v) = deploy(&emu, &tok, body);
        assert_eq!(s, 200, "{v}");
        let id = v["data"]["id"].as_str().unwrap().to_string();
        let (_, ev) = emu.get(&trig(&emu, &id, "/events", "u1"), &tok);
        (id, ev["data"][0].clone())
    };
    let (gh, e) = first_event(json!({"id": "github-new-issue", "external_user_id": "u1",
        "configured_props": {"github": {"authProvisionId": apn("github")}, "repoFullname": "acme-corp/web-app"}}));
    assert_eq!(
        e["sum"],
        "New issue: \"Login button unresponsive on Safari 17\""
    );
    assert_eq!(e["e"]["number"], 412);
    assert_eq!(e["e"]["state"], "open");
    let (_, r) = emit(&emu, &gh, json!({}));
    assert_eq!(
        r["data"]["events"][0]["sum"],
        "New issue: \"Add dark mode to the settings page\""
    );
    let (_, e) = first_event(
        json!({"id": "gmail-new-email-received", "external_user_id": "u1",
        "configured_props": {"gmail": {"authProvisionId": apn("gmail")}}}),
    );
    assert_eq!(
        e["sum"],
        "New email from Jordan Lee <jordan.lee@acme.example>: Invoice #1042 for October"
    );
    assert_eq!(e["e"]["threadId"], "18c2f5a9d3e4b701");
    let (_, e) = first_event(
        json!({"id": "slack-new-message-in-channels", "external_user_id": "u1",
        "configured_props": {"slack": {"authProvisionId": apn("slack")}, "conversations": ["C0EJM2QQDO8"]}}),
    );
    assert_eq!(e["e"]["type"], "message");
    assert!(
        e.get("sum").is_none(),
        "the slack source emits without a summary"
    );
}
