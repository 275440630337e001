//! Test harness: spawns the built emulator binary on a free port, with a small
//! catalog written by the test itself (so these tests do not depend on the
//! built-in fixture), and kills it on drop.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

pub const PROJECT: &str = "proj_emulator";
pub const ENV: &str = "development";

pub struct Emu {
    child: Child,
    pub url: String,
    pub client: Client,
    dir: Option<PathBuf>,
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

static DIR_SEQ: AtomicUsize = AtomicUsize::new(0);

fn write_catalog(apps: &Value, components: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pd-emu-test-{}-{}",
        std::process::id(),
        DIR_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp catalog dir");
    std::fs::write(dir.join("apps.json"), apps.to_string()).expect("write apps");
    std::fs::write(dir.join("components.json"), components.to_string()).expect("write components");
    dir
}

impl Emu {
    /// With the test catalog below.
    pub fn start(args: &[&str]) -> Emu {
        let dir = write_catalog(&test_apps(), &test_components());
        let mut all = vec!["--catalog".to_string(), dir.display().to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        Self::spawn(all, Some(dir))
    }

    /// With a catalog the caller writes.
    pub fn start_with(apps: &Value, components: &Value, args: &[&str]) -> Emu {
        let dir = write_catalog(apps, components);
        let mut all = vec!["--catalog".to_string(), dir.display().to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        Self::spawn(all, Some(dir))
    }

    /// With the built-in (embedded) fixture catalog.
    pub fn start_builtin(args: &[&str]) -> Emu {
        Self::spawn(args.iter().map(|s| s.to_string()).collect(), None)
    }

    fn spawn(args: Vec<String>, dir: Option<PathBuf>) -> Emu {
        // Everything that can fail in the harness happens before the child exists, so a
        // failure here cannot leave an emulator running after the tests.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        let mut child = Command::new(env!("CARGO_BIN_EXE_pipedream-emulator"))
            .arg("--port")
            .arg("0")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn emulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read start-up line");
        if line.is_empty() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            panic!("emulator exited before listening: {err}");
        }
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected start-up line {line:?}"))
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Emu {
            child,
            url,
            client,
            dir,
        }
    }

    /// The emulator's process id, for what reads its CPU.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub fn token_response(&self) -> Value {
        let r = self
            .client
            .post(self.at("/v1/oauth/token"))
            .json(&json!({
                "grant_type": "client_credentials",
                "client_id": "emulator-client",
                "client_secret": "emulator-secret",
            }))
            .send()
            .expect("token request");
        assert_eq!(r.status(), 200);
        r.json().expect("token json")
    }

    pub fn token(&self) -> String {
        self.token_response()["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// An authenticated API request builder with the environment header.
    pub fn api(&self, method: reqwest::Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.at(path))
            .bearer_auth(token)
            .header("x-pd-environment", ENV)
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        send(self.api(reqwest::Method::GET, path, token))
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        send(self.api(reqwest::Method::POST, path, token).json(body))
    }

    pub fn control_get(&self, path: &str) -> Value {
        let r = self.client.get(self.at(path)).send().expect("control get");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().expect("control json")
    }

    pub fn control_post(&self, path: &str, body: &Value) -> (u16, Value) {
        send(self.client.post(self.at(path)).json(body))
    }

    pub fn control_delete(&self, path: &str) -> Value {
        let r = self
            .client
            .delete(self.at(path))
            .send()
            .expect("control delete");
        assert!(r.status().is_success());
        r.json().expect("json")
    }

    pub fn fault(&self, rule: Value) -> Value {
        let (s, v) = self.control_post("/__emulator/faults", &rule);
        assert_eq!(s, 201, "{v}");
        v
    }

    pub fn requests(&self) -> Vec<Value> {
        self.control_get("/__emulator/requests")["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn runs(&self) -> Vec<Value> {
        self.control_get("/__emulator/runs")["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn project(&self, rest: &str) -> String {
        format!("/v1/connect/{PROJECT}{rest}")
    }
}

/// Status and JSON body; asserts every response is JSON.
pub fn send(rb: RequestBuilder) -> (u16, Value) {
    let r = rb.send().expect("request");
    json_of(r)
}

pub fn json_of(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().expect("body");
    assert!(
        ct.starts_with("application/json"),
        "status {status}: content-type {ct:?}, body {text}"
    );
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    if status >= 400 {
        assert!(v["error"].is_string(), "error body without error: {v}");
    }
    (status, v)
}

pub fn keys(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|x| x[field].as_str().unwrap_or("").to_string())
        .collect()
}

pub fn app(slug: &str, name: &str, weight: i64, desc: &str, auth: &str) -> Value {
    json!({
        "id": format!("app_{}", slug.replace('_', "")),
        "name_slug": slug,
        "name": name,
        "auth_type": auth,
        "description": desc,
        "img_src": format!("https://assets.pipedream.net/s.v0/app_{}/logo/orig", slug.replace('_', "")),
        "custom_fields_json": "[]",
        "categories": ["Test"],
        "featured_weight": weight,
        "scope_profiles": [],
        "x_emulator": {"secret": "never sent"},
    })
}

/// 10 apps; 4 mention "mail", 3 of them in name or slug (gmail, mailchimp, zmailer;
/// sendgrid only in its description).
pub fn test_apps() -> Value {
    let mut apps = json!([
        app("gmail", "Gmail", 900, "Email by Google", "oauth"),
        app("slack", "Slack", 950, "Team chat", "oauth"),
        app("airtable", "Airtable", 500, "Spreadsheet-database", "keys"),
        app(
            "google_sheets",
            "Google Sheets",
            800,
            "Spreadsheets",
            "oauth"
        ),
        app(
            "helper_functions",
            "Helper Functions",
            100,
            "Utilities",
            "none"
        ),
        app("mailchimp", "Mailchimp", 300, "Marketing", "oauth"),
        app(
            "sendgrid",
            "SendGrid",
            300,
            "Transactional mail delivery",
            "keys"
        ),
        app("zmailer", "ZMailer", 10, "No components", "keys"),
        app("jira", "Jira", 400, "Issue tracking", "oauth"),
        app("clearbit", "Clearbit", 200, "Enrichment", "keys"),
    ]);
    // `connect` blocks: slack's and google_sheets' as documented, one app the proxy
    // does not serve, and the rest without a block (the proxy does not serve those either).
    for (i, connect) in [
        (
            1,
            json!({"proxy_enabled": true, "allowed_domains": ["slack.com"], "base_proxy_target_url": "https://slack.com"}),
        ),
        (
            3,
            json!({"allowed_domains": ["www.googleapis.com", "sheets.googleapis.com"],
                   "base_proxy_target_url": "https://sheets.googleapis.com", "proxy_enabled": true}),
        ),
        (
            4,
            json!({"proxy_enabled": false, "allowed_domains": null, "base_proxy_target_url": null}),
        ),
    ] {
        apps[i]["connect"] = connect;
    }
    apps
}

pub fn app_prop(app: &str) -> Value {
    json!({"name": app, "type": "app", "app": app})
}

pub fn channels() -> Vec<Value> {
    (0..25)
        .map(|i| json!({"label": format!("#channel-{i:02}"), "value": format!("C{i:04}")}))
        .collect()
}

pub fn test_components() -> Value {
    json!([
        {
            "key": "gmail-search-emails", "name": "Search Emails", "version": "0.1.7",
            "component_type": "action", "description": "Search mail",
            "annotations": {"destructiveHint": false, "idempotentHint": true, "openWorldHint": true, "readOnlyHint": true, "title": "Search Emails"},
            "configurable_props": [
                app_prop("gmail"),
                {"name": "query", "type": "string", "label": "Query"},
                {"name": "maxResults", "type": "integer", "min": 1, "max": 500, "default": 20, "optional": true},
                {"name": "labelIds", "type": "string[]", "optional": true, "remoteOptions": true}
            ],
            "x_emulator": {
                "ret": {"emails": [{"id": "m1"}, {"id": "m2"}, {"id": "m3"}], "count": 3, "q": "{{props.query}}"},
                "summary": "Found 3 emails for {{props.query}}",
                "remote_options": {"labelIds": {"options": [{"label": "INBOX", "value": "INBOX"}, {"label": "SENT", "value": "SENT"}]}}
            }
        },
        {
            "key": "gmail-send-email", "name": "Send Email", "version": "0.2.0", "component_type": "action",
            "configurable_props": [app_prop("gmail"), {"name": "to", "type": "string"}, {"name": "body", "type": "string", "optional": true}]
        },
        {
            "key": "gmail-new-email-received", "name": "New Email", "version": "0.0.3", "component_type": "trigger",
            "configurable_props": [app_prop("gmail"), {"name": "timer", "type": "$.interface.timer", "default": {"intervalSeconds": 900}}]
        },
        {
            "key": "slack-send-message", "name": "Send Message", "version": "1.0.0", "component_type": "action",
            "configurable_props": [
                app_prop("slack"),
                {"name": "conversation", "type": "string", "remoteOptions": true},
                {"name": "text", "type": "string"},
                {"name": "as_user", "type": "boolean", "optional": true}
            ],
            "x_emulator": {"remote_options": {"conversation": {"options": channels(), "page_size": 10,
                "paging": "cursor", "context": {"types": ["public_channel", "private_channel"]}}}}
        },
        {
            "key": "slack-new-message-in-channels", "name": "New Message", "version": "1.0.0", "component_type": "trigger",
            "configurable_props": [app_prop("slack")]
        },
        {
            "key": "airtable-create-record", "name": "Create Record", "version": "0.0.1", "component_type": "action",
            "configurable_props": [
                app_prop("airtable"),
                {"name": "base_id", "type": "string"},
                {"name": "table_name", "type": "string"},
                {"name": "fields", "type": "object"},
                {"name": "typecast", "type": "boolean", "optional": true, "default": false}
            ],
            "x_emulator": {"ret": {"id": "recABC", "createdTime": "2024-01-01T00:00:00.000Z", "fields": "{{props.fields}}", "where": "{{props.base_id}}/{{props.table_name}}"}}
        },
        {
            "key": "google_sheets-add-single-row", "name": "Add Single Row", "version": "2.1.0", "component_type": "action",
            "configurable_props": [
                app_prop("google_sheets"),
                {"name": "sheetId", "type": "string", "remoteOptions": true, "reloadProps": true},
                {"name": "worksheetId", "type": "string", "remoteOptions": true}
            ],
            "x_emulator": {
                "remote_options": {
                    "sheetId": {"options": [{"label": "Budget", "value": "s1"}, {"label": "Roadmap", "value": "s2"}]},
                    "worksheetId": {"string_options": ["Sheet1", "Sheet2", "Summary"], "page_size": 2}
                },
                "dynamic_props": [
                    {"name": "myColumnData", "type": "string[]"},
                    {"name": "hasHeaders", "type": "boolean", "optional": true}
                ]
            }
        },
        {
            "key": "helper_functions-format-iso8601-datetime", "name": "Format ISO8601", "version": "0.0.1", "component_type": "action",
            "configurable_props": [{"name": "date", "type": "string"}]
        },
        {
            "key": "jira-create-issue", "name": "Create Issue", "version": "0.1.0", "component_type": "action",
            "description": "Creates an issue",
            "configurable_props": [app_prop("jira"), {"name": "summary", "type": "string"}],
            "x_emulator": {"error": {"name": "JiraApiError", "message": "Project XYZ does not exist"}}
        },
        {
            "key": "jira-search-issues", "name": "Search Issues", "version": "0.1.0", "component_type": "action",
            "configurable_props": [app_prop("jira")]
        },
        {
            "key": "clearbit-enrich-person", "name": "Enrich Person", "version": "0.0.2", "component_type": "action",
            "configurable_props": [app_prop("clearbit"), {"name": "email", "type": "string"}],
            "x_emulator": {"ret": {"person": {"email": "{{props.email}}"}}}
        },
        {
            "key": "mailchimp-add-subscriber", "name": "Add Subscriber", "version": "0.0.1",
            "configurable_props": [app_prop("mailchimp"), {"name": "email", "type": "string"}, {"name": "note", "type": "alert", "alertType": "info", "content": "hi"}]
        },
        {
            "key": "sendgrid-send-email", "name": "Send Email", "version": "0.0.1", "component_type": "action",
            "configurable_props": [app_prop("sendgrid"), {"name": "to", "type": "string"}]
        }
    ])
}
