//! Fault injection and the rest of the control API.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn raw_http(emu: &Emu) -> TcpStream {
    let addr = emu.url.trim_start_matches("http://");
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one HTTP/1.1 response with a Content-Length body.
fn read_response(s: &mut TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read head");
        assert_eq!(
            n,
            1,
            "connection closed mid-head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("content-length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

#[test]
fn status_fault_with_retry_after_and_rate_limit_headers() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let added = emu
        .fault(json!({"path": "^/v1/connect/apps$", "status": 429, "retry_after": 2, "count": 1}));
    assert_eq!(added["data"][0]["id"], "flt_1");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = emu
        .api(reqwest::Method::GET, "/v1/connect/apps", &tok)
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    let h = r.headers().clone();
    assert_eq!(h["retry-after"], "2");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert!(h.contains_key("x-ratelimit-limit"));
    let reset: u64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!(
        reset >= before + 2 && reset <= before + 4,
        "{reset} vs {before}"
    );
    let (_, body) = json_of(r);
    assert_eq!(body, json!({"error": "Throttled"}));
    // count: 1 -> the next one is normal.
    assert_eq!(emu.get("/v1/connect/apps", &tok).0, 200);
    // apps/{id} is not matched by the anchored regex.
    let emu_rules = emu.control_get("/__emulator/faults");
    assert_eq!(emu_rules["data"][0]["hits"], 1);
    let log = emu.requests();
    let faulted: Vec<bool> = log.iter().map(|r| r["fault"].as_bool().unwrap()).collect();
    assert_eq!(faulted, [false, true, false]);
    assert_eq!(log[1]["status"], 429);
}

#[test]
fn status_fault_custom_body_headers_method_and_default_reason() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    emu.fault(json!({"rules": [
        {"path": "/actions/run", "method": "post", "status": 502, "body": {"error": "upstream", "code": "bad_gateway"}, "headers": {"x-custom": "yes", "x-num": 5}},
        {"path": "/apps", "status": 503}
    ]}));
    let (s, b) = emu.post(&emu.project("/actions/run"), &tok, &json!({}));
    assert_eq!(
        (s, b),
        (502, json!({"error": "upstream", "code": "bad_gateway"}))
    );
    let r = emu
        .api(reqwest::Method::POST, &emu.project("/actions/run"), &tok)
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-custom"], "yes");
    assert_eq!(r.headers()["x-num"], "5");
    // Method filter: a GET on a matching path is untouched by rule 1.
    let (s, _) = emu.get(&emu.project("/actions/run"), &tok);
    assert_eq!(s, 404, "only POST /actions/run exists");
    let (s, b) = emu.get("/v1/connect/apps", &tok);
    assert_eq!((s, b), (503, json!({"error": "Service Unavailable"})));
    // Faults apply before auth: no token needed to be throttled.
    let (s, _) = send(emu.client.get(emu.at("/v1/connect/apps/gmail")));
    assert_eq!(s, 503);
    // The token endpoint can be faulted too.
    emu.control_delete("/__emulator/faults");
    emu.fault(json!({"path": "oauth/token", "status": 500, "count": 1}));
    let (s, _) = send(emu.client.post(emu.at("/v1/oauth/token")).json(&json!({})));
    assert_eq!(s, 500);
    emu.token();
}

#[test]
fn body_text_is_sent_byte_for_byte() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    // What a tree written again would change: key order, escapes, a number past a double, a
    // repeated key, spacing, characters beyond ASCII.
    let text = r#"{"z": 1, "a": "Zo\u00eb \/ é", "n": 12345678901234567890123, "a": 2}"#;
    emu.fault(json!({"path": "/actions/run", "status": 200, "body_text": text, "count": 1}));
    let r = raw(
        &emu,
        "POST",
        &emu.project("/actions/run"),
        &tok,
        Some(&json!({})),
    );
    assert_eq!((r.status, r.body.as_slice()), (200, text.as_bytes()));
    let content_type = r.headers.iter().find(|(n, _)| n == "content-type");
    assert_eq!(
        content_type.map(|(_, v)| v.as_str()),
        Some("application/json")
    );
    // Without a status, as with `body`: 500.
    emu.fault(json!({"path": "/apps$", "body_text": "{\"error\": \"x\"}", "count": 1}));
    let r = raw(&emu, "GET", "/v1/connect/apps", &tok, None);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (500, br#"{"error": "x"}"#.as_slice())
    );
    emu.control_delete("/__emulator/faults");
    for (rule, needle) in [
        (
            json!({"path": "/x", "body": {}, "body_text": "{}"}),
            "body and body_text cannot be combined",
        ),
        (
            json!({"path": "/x", "malformed": "html", "body_text": "{}"}),
            "body_text cannot be combined with malformed",
        ),
    ] {
        assert_rule_refused(&emu, rule, needle);
    }
}

#[test]
fn delay_then_normal_response() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    emu.fault(json!({"path": "/apps", "delay_ms": 300, "count": 1}));
    let t = Instant::now();
    let (s, b) = emu.get("/v1/connect/apps", &tok);
    assert_eq!(s, 200);
    assert!(b["data"].is_array());
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    emu.get("/v1/connect/apps", &tok);
    assert!(t.elapsed() < Duration::from_millis(300));
    // Delay combined with a status.
    emu.fault(json!({"path": "/apps", "delay_ms": 200, "status": 504, "count": 1}));
    let t = Instant::now();
    assert_eq!(emu.get("/v1/connect/apps", &tok).0, 504);
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[test]
fn reset_closes_connection_without_response() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    emu.fault(json!({"path": "/apps", "reset": true, "count": 1}));
    let err = emu
        .api(reqwest::Method::GET, "/v1/connect/apps", &tok)
        .send()
        .expect_err("connection should be closed");
    assert!(!err.is_timeout(), "{err:?}");
    let log = emu.requests();
    let last = log.last().unwrap();
    assert_eq!(last["status"], 0);
    assert_eq!(last["fault"], true);

    // Raw socket: zero bytes then EOF.
    emu.fault(json!({"path": "/apps", "reset": true, "count": 1}));
    let mut s = raw_http(&emu);
    write!(s, "GET /v1/connect/apps HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(buf.is_empty(), "{:?}", String::from_utf8_lossy(&buf));

    // Afterwards the server is healthy.
    assert_eq!(emu.get("/v1/connect/apps", &tok).0, 200);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let emu = Emu::start(&[]);
    let mut s = raw_http(&emu);
    for _ in 0..3 {
        write!(s, "GET /__emulator/health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (head, body) = read_response(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, r#"{"ok":true}"#);
    }
    write!(s, "GET /v1/connect/apps HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (head, body) = read_response(&mut s);
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(body.contains("error"));
}

#[test]
fn malformed_body_is_truncated_json() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    emu.fault(json!({"path": "/apps/", "malformed": true}));
    let r = emu
        .api(reqwest::Method::GET, "/v1/connect/apps/gmail", &tok)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    // `after` + malformed: a cut-off version of the real body.
    emu.control_delete("/__emulator/faults");
    emu.fault(json!({"path": "/apps/", "malformed": true, "when": "after"}));
    let text = emu
        .api(reqwest::Method::GET, "/v1/connect/apps/gmail", &tok)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.starts_with(r#"{"data":{"#), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[test]
fn count_limits_applications() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    emu.fault(json!({"path": "/apps", "status": 500, "count": 2}));
    let statuses: Vec<u16> = (0..4)
        .map(|_| emu.get("/v1/connect/apps", &tok).0)
        .collect();
    assert_eq!(statuses, [500, 500, 200, 200]);
    // First matching rule with count left wins.
    emu.fault(json!({"rules": [
        {"path": "/apps", "status": 502, "count": 1},
        {"path": "/apps", "status": 503, "count": 1}
    ]}));
    let statuses: Vec<u16> = (0..3)
        .map(|_| emu.get("/v1/connect/apps", &tok).0)
        .collect();
    assert_eq!(statuses, [502, 503, 200]);
}

#[test]
fn when_after_runs_the_action_then_replaces_the_response() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let run = json!({"id": "helper_functions-format-iso8601-datetime", "external_user_id": "u1", "configured_props": {"date": "d"}});
    emu.fault(json!({"path": "/actions/run$", "status": 500, "when": "after", "count": 1}));
    let (s, _) = emu.post(&emu.project("/actions/run"), &tok, &run);
    assert_eq!(s, 500);
    let runs = emu.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "ok");
    assert_eq!(runs[0]["configured_props"], json!({"date": "d"}));

    // `before` never reaches the handler.
    emu.fault(json!({"path": "/actions/run$", "status": 500, "count": 1}));
    assert_eq!(emu.post(&emu.project("/actions/run"), &tok, &run).0, 500);
    assert_eq!(emu.runs().len(), 1);

    // `after` + reset: the run happened, the caller saw a dropped connection.
    emu.fault(json!({"path": "/actions/run$", "reset": true, "when": "after", "count": 1}));
    assert!(
        emu.api(reqwest::Method::POST, &emu.project("/actions/run"), &tok)
            .json(&run)
            .send()
            .is_err()
    );
    assert_eq!(emu.runs().len(), 2);
    assert_eq!(emu.requests().last().unwrap()["status"], 0);
}

fn fault_pattern(seed: &str) -> Vec<bool> {
    let emu = Emu::start(&["--seed", seed]);
    let tok = emu.token();
    emu.fault(json!({"path": "/apps", "status": 500, "probability": 0.5}));
    (0..40)
        .map(|_| emu.get("/v1/connect/apps", &tok).0 == 500)
        .collect()
}

#[test]
fn probability_is_seeded_and_reproducible() {
    let a = fault_pattern("42");
    let b = fault_pattern("42");
    assert_eq!(a, b);
    let hits = a.iter().filter(|x| **x).count();
    assert!((5..=35).contains(&hits), "{hits}/40");

    // Reset rewinds the generator: the same pattern replays in-process.
    let emu = Emu::start(&["--seed", "42"]);
    let tok = emu.token();
    let mut runs = Vec::new();
    for _ in 0..2 {
        emu.control_post("/__emulator/reset", &json!({}));
        emu.fault(json!({"path": "/apps", "status": 500, "probability": 0.5}));
        runs.push(
            (0..40)
                .map(|_| emu.get("/v1/connect/apps", &tok).0 == 500)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(runs[0], a);
    assert_eq!(runs[1], a);

    // 0 never fires, 1 always does.
    emu.control_delete("/__emulator/faults");
    emu.fault(json!({"path": "/apps", "status": 500, "probability": 0}));
    assert_eq!(emu.get("/v1/connect/apps", &tok).0, 200);
    emu.control_delete("/__emulator/faults");
    emu.fault(json!({"path": "/apps", "status": 500, "probability": 1}));
    assert_eq!(emu.get("/v1/connect/apps", &tok).0, 500);
}

#[test]
fn fault_rules_are_validated_and_listed() {
    let emu = Emu::start(&[]);
    for bad in [
        json!({"path": "("}),
        json!({"path": "/x", "retryAfter": 1}),
        json!({"status": 500}),
        json!({"path": "/x", "status": 1000}),
        json!({"path": "/x", "probability": 1.5}),
        json!({"path": "/x", "when": "during"}),
        json!({"rules": "nope"}),
    ] {
        let (s, b) = emu.control_post("/__emulator/faults", &bad);
        assert_eq!(s, 400, "{bad}: {b}");
    }
    // A bad batch adds nothing.
    let (s, _) = emu.control_post(
        "/__emulator/faults",
        &json!({"rules": [{"path": "/ok"}, {"path": "("}]}),
    );
    assert_eq!(s, 400);
    assert_eq!(emu.control_get("/__emulator/faults")["data"], json!([]));

    let added = emu.fault(json!({"rules": [{"path": "/a", "status": 500}, {"path": "/b", "delay_ms": 5, "count": 3}]}));
    assert_eq!(keys(&added["data"], "id"), ["flt_1", "flt_2"]);
    let listed = emu.control_get("/__emulator/faults");
    assert_eq!(listed["data"][1]["count"], 3);
    assert_eq!(listed["data"][1]["hits"], 0);
    // Control routes are never faulted, even by a match-everything rule.
    emu.fault(json!({"path": ".*", "status": 500}));
    assert_eq!(emu.control_get("/__emulator/health"), json!({"ok": true}));
    assert_eq!(emu.control_delete("/__emulator/faults")["deleted"], 3);
    assert_eq!(emu.control_get("/__emulator/faults")["data"], json!([]));
}

#[test]
fn request_log_filter_and_reset() {
    let emu = Emu::start(&["--account", "u1:gmail"]);
    let tok = emu.token();
    emu.get("/v1/connect/apps?q=mail&limit=2", &tok);
    emu.get(&emu.project("/actions"), &tok);
    emu.post(
        &emu.project("/actions/run"),
        &tok,
        &json!({"id": "x", "external_user_id": "u"}),
    );
    emu.post(
        &emu.project("/tokens"),
        &tok,
        &json!({"external_user_id": "u"}),
    );
    emu.post(
        &emu.project("/actions/props"),
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": "u"}),
    );
    emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "u2", "app": "slack"}),
    );
    emu.fault(json!({"path": "/nothing"}));

    let log = emu.requests();
    assert_eq!(log.len(), 6);
    assert_eq!(
        keys(&Value::Array(log.clone()), "method"),
        ["POST", "GET", "GET", "POST", "POST", "POST"]
    );
    let seqs: Vec<u64> = log.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(log[1]["query"], "q=mail&limit=2");
    assert!(log[0]["query"].is_null());
    assert!(log[0]["environment"].is_null());
    assert!(log[1]["ts_ms"].as_u64().unwrap() >= log[0]["ts_ms"].as_u64().unwrap());

    let filtered =
        emu.control_get("/__emulator/requests?path=%2Factions%2F(run%7Cprops)%24")["data"].clone();
    assert_eq!(keys(&filtered, "path").len(), 2);
    let r = emu
        .client
        .get(emu.at("/__emulator/requests?path=("))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);

    // Reset clears log, runs, faults and extra accounts; seq restarts; tokens survive.
    let (s, b) = emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!((s, b), (200, json!({"ok": true})));
    assert!(emu.requests().is_empty());
    assert!(emu.runs().is_empty());
    assert_eq!(emu.control_get("/__emulator/faults")["data"], json!([]));
    let (s, accts) = emu.get(&emu.project("/accounts"), &tok);
    assert_eq!(s, 200, "token survives reset");
    assert_eq!(accts["page_info"]["total_count"], 1);
    assert_eq!(emu.requests()[0]["seq"], 1);
}

#[test]
fn reset_forgets_dynamic_props() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let (_, r) = emu.post(
        &emu.project("/actions/props"),
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": "u1", "configured_props": {"sheetId": "s1"}}),
    );
    let dyp = r["dynamicProps"]["id"].clone();
    let body = json!({"id": "google_sheets-add-single-row", "external_user_id": "u1", "prop_name": "worksheetId", "dynamic_props_id": dyp});
    assert_eq!(
        emu.post(&emu.project("/actions/configure"), &tok, &body).0,
        200
    );
    emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(
        emu.post(&emu.project("/actions/configure"), &tok, &body).0,
        400
    );
}

// ---- Raw exchanges for the fault matrix: exact bytes, headers and timing ----

/// One response read off a raw socket, with when its parts arrived.
struct Raw {
    status: u16,
    /// Header lines as (lower-cased name, value), in order, duplicates kept.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// From the request being written to the end of the head.
    head_at: Duration,
    /// From the request being written to the last body byte.
    done_at: Duration,
    /// The first `split` body bytes arrived by this time (see `raw_split`).
    split_at: Duration,
}

impl Raw {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of a header; panics when absent or repeated.
    fn header(&self, name: &str) -> &str {
        match self.all(name)[..] {
            [v] => v,
            ref other => panic!("{name}: {other:?} in {:?}", self.headers),
        }
    }
}

fn raw_write(emu: &Emu, method: &str, path: &str, tok: &str, body: Option<&Value>) -> TcpStream {
    let mut s = raw_http(emu);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\
         x-pd-environment: {ENV}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    s
}

/// Sends a run and reads whatever comes back until the connection closes.
fn run_until_closed(emu: &Emu, tok: &str) -> Vec<u8> {
    let mut s = raw_write(
        emu,
        "POST",
        &emu.project("/actions/run"),
        tok,
        Some(&run_body()),
    );
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    buf
}

/// Sends a request and reads the response (Content-Length framed). The body
/// is read in two parts, the first `split` bytes and then the rest, so a
/// stalled body can be timed.
fn raw_split(
    emu: &Emu,
    method: &str,
    path: &str,
    tok: &str,
    body: Option<&Value>,
    split: usize,
) -> Raw {
    let t = Instant::now();
    let mut s = raw_write(emu, method, path, tok, body);
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read head");
        assert_eq!(n, 1, "closed mid-head: {:?}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head_at = t.elapsed();
    let head = String::from_utf8(buf).expect("head is UTF-8");
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no content-length: {head}"));
    let split = split.min(len);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body[..split]).expect("first part");
    let split_at = t.elapsed();
    s.read_exact(&mut body[split..]).expect("rest of body");
    let done_at = t.elapsed();
    Raw {
        status,
        headers,
        body,
        head_at,
        done_at,
        split_at,
    }
}

fn raw(emu: &Emu, method: &str, path: &str, tok: &str, body: Option<&Value>) -> Raw {
    raw_split(emu, method, path, tok, body, 0)
}

fn run_body() -> Value {
    json!({"id": "helper_functions-format-iso8601-datetime", "external_user_id": "u1", "configured_props": {"date": "d"}})
}

/// The last journaled request was faulted and answered `status` (0: reset).
fn assert_last_logged(emu: &Emu, status: u16) {
    let log = emu.requests();
    let last = log.last().expect("a logged request");
    assert_eq!(last["fault"], true, "{last}");
    assert_eq!(last["status"], status, "{last}");
}

fn assert_rule_refused(emu: &Emu, rule: Value, needle: &str) {
    // As the second rule of a batch: the message names index 1, nothing is added.
    let batch = json!({"rules": [{"path": "/ok"}, rule]});
    let (s, b) = emu.control_post("/__emulator/faults", &batch);
    assert_eq!(s, 400, "{batch}: {b}");
    let msg = b["error"].as_str().unwrap();
    assert!(msg.starts_with("rule 1: "), "{msg}");
    assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    assert_eq!(emu.control_get("/__emulator/faults")["data"], json!([]));
}

#[test]
fn malformed_kinds_send_exact_unreadable_bodies_before_and_after() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let run_path = emu.project("/actions/run");
    let deep: Vec<u8> = [vec![b'['; 10_000], vec![b']'; 10_000]].concat();
    let cases: [(&str, &str, &[u8]); 5] = [
        (
            "html",
            "text/html",
            b"<html><body>502 Bad Gateway</body></html>",
        ),
        (
            "invalid_utf8",
            "application/json",
            b"{\"ret\":\"\xff\xfe\"}",
        ),
        ("deep", "application/json", &deep),
        ("empty", "application/json", b""),
        ("not_json", "text/plain", b"this is not json"),
    ];
    let mut runs = 0;
    for (kind, ct, bytes) in cases {
        for when in ["before", "after"] {
            emu.fault(
                json!({"path": "/actions/run$", "malformed": kind, "when": when, "count": 1}),
            );
            let r = raw(&emu, "POST", &run_path, &tok, Some(&run_body()));
            assert_eq!(r.status, 200, "{kind} {when}");
            assert_eq!(r.header("content-type"), ct, "{kind} {when}");
            assert_eq!(r.body, bytes, "{kind} {when}");
            assert_eq!(r.header("content-length"), bytes.len().to_string());
            assert_last_logged(&emu, 200);
            // `after` ran the action (and threw its answer away); `before` did not.
            runs += usize::from(when == "after");
            assert_eq!(emu.runs().len(), runs, "{kind} {when}");
        }
    }
    assert!(emu.runs().iter().all(|r| r["outcome"] == "ok"));
    // Each really is unreadable to a JSON client.
    let err = serde_json::from_slice::<Value>(&deep).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
    assert!(serde_json::from_slice::<Value>(b"{\"ret\":\"\xff\xfe\"}").is_err());

    // `true` and "truncated" are the same cut-off JSON; `false` does nothing.
    for flag in [json!(true), json!("truncated")] {
        emu.fault(json!({"path": "/apps/", "malformed": flag, "when": "after", "count": 1}));
        let r = raw(&emu, "GET", "/v1/connect/apps/gmail", &tok, None);
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, "application/json")
        );
        assert!(r.body.starts_with(br#"{"data":{"#), "{flag}");
        assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    }
    emu.fault(json!({"path": "/apps/", "malformed": false, "count": 1}));
    let r = raw(&emu, "GET", "/v1/connect/apps/gmail", &tok, None);
    assert!(serde_json::from_slice::<Value>(&r.body).unwrap()["data"].is_object());
    // Rules list back as posted; a status replaces the 200.
    emu.control_delete("/__emulator/faults");
    emu.fault(json!({"path": "/apps/", "malformed": "html", "status": 502}));
    assert_eq!(
        emu.control_get("/__emulator/faults")["data"][0]["malformed"],
        "html"
    );
    let r = raw(&emu, "GET", "/v1/connect/apps/gmail", &tok, None);
    assert_eq!((r.status, r.header("content-type")), (502, "text/html"));
    assert_last_logged(&emu, 502);
}

#[test]
fn oversize_bytes_streams_valid_json_of_the_requested_size() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let n = 3_000_001;
    emu.fault(json!({"path": "/apps$", "oversize_bytes": n, "count": 1}));
    let r = raw(&emu, "GET", "/v1/connect/apps", &tok, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("content-length"), n.to_string());
    assert_eq!(r.body.len(), n);
    let v: Value = serde_json::from_slice(&r.body).expect("valid JSON");
    let ret = v["ret"].as_str().unwrap();
    assert_eq!(ret.len(), n - 10);
    assert!(ret.bytes().all(|b| b == b'x'));
    assert_last_logged(&emu, 200);

    // Below the JSON frame's own size: the smallest valid body.
    emu.fault(json!({"path": "/apps$", "oversize_bytes": 1, "count": 1}));
    assert_eq!(
        raw(&emu, "GET", "/v1/connect/apps", &tok, None).body,
        br#"{"ret":""}"#
    );

    // `after`: the run happens, its answer is replaced by the huge body.
    emu.fault(
        json!({"path": "/actions/run$", "oversize_bytes": 100_000, "when": "after", "count": 1}),
    );
    let r = raw(
        &emu,
        "POST",
        &emu.project("/actions/run"),
        &tok,
        Some(&run_body()),
    );
    assert_eq!((r.status, r.body.len()), (200, 100_000));
    assert!(serde_json::from_slice::<Value>(&r.body).is_ok());
    assert_eq!(emu.runs().len(), 1);
    assert_last_logged(&emu, 200);
    // `before` never runs it.
    emu.fault(json!({"path": "/actions/run$", "oversize_bytes": 100, "count": 1}));
    let r = raw(
        &emu,
        "POST",
        &emu.project("/actions/run"),
        &tok,
        Some(&run_body()),
    );
    assert_eq!(r.body.len(), 100);
    assert_eq!(emu.runs().len(), 1);

    // The largest size is accepted (not requested here: 256 MiB).
    emu.fault(json!({"path": "/never", "oversize_bytes": 256 * 1024 * 1024}));
}

/// Asserts the stall's timing class: headers and the first half well
/// before `ms`, the full body only after it.
fn assert_stalled(r: &Raw, ms: u64, what: &str) {
    let ms = Duration::from_millis(ms);
    assert!(r.head_at < ms * 2 / 3, "{what}: head after {:?}", r.head_at);
    assert!(
        r.split_at < ms * 2 / 3,
        "{what}: first half after {:?}",
        r.split_at
    );
    assert!(
        r.done_at >= ms - Duration::from_millis(100),
        "{what}: whole body after only {:?}",
        r.done_at
    );
}

#[test]
fn stall_body_ms_sends_headers_and_half_the_body_then_waits() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let ms = 1500;
    let normal = raw(&emu, "GET", "/v1/connect/apps/gmail", &tok, None);
    let half = normal.body.len() / 2;

    // Alone: the normal response, slowly.
    emu.fault(json!({"path": "/apps/", "stall_body_ms": ms, "count": 1}));
    let r = raw_split(&emu, "GET", "/v1/connect/apps/gmail", &tok, None, half);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.body, normal.body);
    assert_stalled(&r, ms, "pass-through");
    assert_last_logged(&emu, 200);

    // With a status: the rule's own response, slowly.
    emu.fault(json!({"path": "/apps/", "status": 503, "stall_body_ms": ms, "count": 1}));
    let r = raw_split(&emu, "GET", "/v1/connect/apps/gmail", &tok, None, 15);
    assert_eq!(r.status, 503);
    assert_eq!(r.body, br#"{"error":"Service Unavailable"}"#);
    assert_stalled(&r, ms, "status");
    assert_last_logged(&emu, 503);

    // `after` on a run: it ran, the real answer comes slowly.
    emu.fault(json!({"path": "/actions/run$", "stall_body_ms": ms, "when": "after", "count": 1}));
    let r = raw_split(
        &emu,
        "POST",
        &emu.project("/actions/run"),
        &tok,
        Some(&run_body()),
        10,
    );
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).unwrap()["ret"].is_object());
    assert_stalled(&r, ms, "after");
    assert_eq!(emu.runs().len(), 1);
    assert_last_logged(&emu, 200);

    // With malformed and oversize bodies: those bodies, slowly.
    emu.fault(json!({"path": "/apps/", "malformed": "deep", "stall_body_ms": ms, "count": 1}));
    let r = raw_split(&emu, "GET", "/v1/connect/apps/gmail", &tok, None, 10_000);
    assert_eq!(r.body.len(), 20_000);
    assert!(r.body[..10_000].iter().all(|b| *b == b'['));
    assert_stalled(&r, ms, "deep");

    emu.fault(
        json!({"path": "/apps/", "oversize_bytes": 2_000_000, "stall_body_ms": ms, "count": 1}),
    );
    let r = raw_split(&emu, "GET", "/v1/connect/apps/gmail", &tok, None, 1_000_000);
    assert_eq!(r.header("content-length"), "2000000");
    assert_eq!(r.body.len(), 2_000_000);
    assert!(serde_json::from_slice::<Value>(&r.body).is_ok());
    assert_stalled(&r, ms, "oversize");
    assert_last_logged(&emu, 200);
}

#[test]
fn redirect_answers_location_with_an_empty_body() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let url = "https://elsewhere.example/v1/connect/apps?x=1";
    emu.fault(json!({"path": "/apps$", "redirect": url, "count": 1}));
    let r = raw(&emu, "GET", "/v1/connect/apps", &tok, None);
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), url);
    assert_eq!(r.header("content-length"), "0");
    assert!(r.body.is_empty());
    assert!(r.all("content-type").is_empty());
    assert_last_logged(&emu, 307);
    // count: 1 -> normal again.
    assert_eq!(raw(&emu, "GET", "/v1/connect/apps", &tok, None).status, 200);

    for status in [301, 302, 303, 308] {
        emu.fault(json!({"path": "/apps$", "redirect": "http://127.0.0.1:1/x", "status": status, "count": 1}));
        let r = raw(&emu, "GET", "/v1/connect/apps", &tok, None);
        assert_eq!(r.status, status);
        assert_eq!(r.header("location"), "http://127.0.0.1:1/x");
        assert!(r.body.is_empty());
        assert_last_logged(&emu, status);
    }

    // `after`: the run happened, then the redirect; `before`: no run.
    let run_path = emu.project("/actions/run");
    emu.fault(json!({"path": "/actions/run$", "redirect": url, "when": "after", "count": 1}));
    let r = raw(&emu, "POST", &run_path, &tok, Some(&run_body()));
    assert_eq!((r.status, r.header("location")), (307, url));
    assert_eq!(emu.runs().len(), 1);
    assert_last_logged(&emu, 307);
    emu.fault(json!({"path": "/actions/run$", "redirect": url, "status": 308, "count": 1}));
    assert_eq!(
        raw(&emu, "POST", &run_path, &tok, Some(&run_body())).status,
        308
    );
    assert_eq!(emu.runs().len(), 1);
    // count spent: the run goes through.
    assert_eq!(
        raw(&emu, "POST", &run_path, &tok, Some(&run_body())).status,
        200
    );
    assert_eq!(emu.runs().len(), 2);
}

#[test]
fn headers_send_extreme_values_and_override_retry_after() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let get = |rule: Value| {
        emu.control_delete("/__emulator/faults");
        emu.fault(rule);
        raw(&emu, "GET", "/v1/connect/apps", &tok, None)
    };

    let r = get(
        json!({"path": "/apps", "status": 429, "headers": {"retry-after": "100000", "x-ratelimit-reset": "18446744073709551615"}}),
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), "100000");
    assert_eq!(r.header("x-ratelimit-reset"), "18446744073709551615");
    // Only what the rule names: no rate-limit set without retry_after.
    assert!(r.all("x-ratelimit-remaining").is_empty());
    assert_eq!(r.body, br#"{"error":"Throttled"}"#);
    assert_last_logged(&emu, 429);

    for value in [
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "soon",
        "-5",
        "0",
        "1.5",
        "",
    ] {
        let r = get(json!({"path": "/apps", "status": 429, "headers": {"retry-after": value}}));
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), value);
    }

    // A 429 without retry_after or headers sends no Retry-After at all.
    let r = get(json!({"path": "/apps", "status": 429}));
    assert_eq!(r.status, 429);
    assert!(r.all("retry-after").is_empty(), "{:?}", r.headers);
    assert!(r.all("x-ratelimit-reset").is_empty());

    // `headers` wins over what `retry_after` sets (any name case), the rest stays.
    let r = get(
        json!({"path": "/apps", "retry_after": 2, "headers": {"Retry-After": "soon", "x-ratelimit-reset": "-1"}}),
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), "soon");
    assert_eq!(r.header("x-ratelimit-reset"), "-1");
    assert_eq!(r.header("x-ratelimit-remaining"), "0");

    // On a normal 200 too, including non-ASCII bytes and numbers.
    let r = get(
        json!({"path": "/apps", "headers": {"retry-after": "5", "x-garbage": "ünï€", "x-big": u64::MAX}}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("retry-after"), "5");
    assert_eq!(r.header("x-garbage"), "ünï€");
    assert_eq!(r.header("x-big"), "18446744073709551615");
    assert!(serde_json::from_slice::<Value>(&r.body).unwrap()["data"].is_array());
    assert_last_logged(&emu, 200);

    // They can also replace a fault's own headers.
    let r = get(
        json!({"path": "/apps", "malformed": "html", "headers": {"content-type": "application/json"}}),
    );
    assert_eq!(r.header("content-type"), "application/json");
    let r = get(
        json!({"path": "/apps", "redirect": "https://a.example/", "headers": {"location": "not a url"}}),
    );
    assert_eq!(r.header("location"), "not a url");

    // What cannot be sent at all is refused.
    emu.control_delete("/__emulator/faults");
    assert_rule_refused(
        &emu,
        json!({"path": "/x", "headers": {"x-bad": "a\r\nb"}}),
        "x-bad",
    );
    assert_rule_refused(
        &emu,
        json!({"path": "/x", "headers": {"bad name": "x"}}),
        "bad name",
    );
}

#[test]
fn reset_after_a_run_journals_it_and_sends_nothing() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    emu.fault(json!({"path": "/actions/run$", "reset": true, "when": "after", "count": 1}));
    let buf = run_until_closed(&emu, &tok);
    assert!(buf.is_empty(), "{:?}", String::from_utf8_lossy(&buf));
    let runs = emu.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "ok");
    assert_eq!(runs[0]["configured_props"], json!({"date": "d"}));
    assert_last_logged(&emu, 0);
    // `before` + reset: nothing ran.
    emu.fault(json!({"path": "/actions/run$", "reset": true, "count": 1}));
    let buf = run_until_closed(&emu, &tok);
    assert!(buf.is_empty(), "{:?}", String::from_utf8_lossy(&buf));
    assert_eq!(emu.runs().len(), 1);
    assert_last_logged(&emu, 0);
}

#[test]
fn new_fault_fields_are_validated() {
    let emu = Emu::start(&[]);
    for (rule, needle) in [
        (
            json!({"path": "/x", "malformed": "xml"}),
            "malformed must be",
        ),
        (json!({"path": "/x", "malformed": 3}), "malformed must be"),
        (json!({"path": "/x", "oversize_bytes": 0}), "oversize_bytes"),
        (
            json!({"path": "/x", "oversize_bytes": 256 * 1024 * 1024 + 1}),
            "oversize_bytes",
        ),
        (json!({"path": "/x", "oversize_bytes": -1}), "rule 1"),
        (json!({"path": "/x", "stall_body_ms": 0}), "stall_body_ms"),
        (
            json!({"path": "/x", "stall_body_ms": 3_600_001}),
            "stall_body_ms",
        ),
        (
            json!({"path": "/x", "redirect": "not a url"}),
            "absolute URL",
        ),
        (
            json!({"path": "/x", "redirect": "/relative"}),
            "absolute URL",
        ),
        (
            json!({"path": "/x", "redirect": "https://a.example/", "status": 200}),
            "301, 302, 303, 307, 308",
        ),
        (
            json!({"path": "/x", "redirect": "https://a.example/", "status": 304}),
            "301, 302, 303, 307, 308",
        ),
        (
            json!({"path": "/x", "redirect": "https://a.example/", "body": {}}),
            "body cannot",
        ),
        (
            json!({"path": "/x", "malformed": "html", "body": {}}),
            "body cannot",
        ),
        (
            json!({"path": "/x", "reset": true, "malformed": true}),
            "reset and malformed",
        ),
        (
            json!({"path": "/x", "malformed": "deep", "oversize_bytes": 5}),
            "malformed and oversize_bytes",
        ),
        (
            json!({"path": "/x", "oversize_bytes": 5, "redirect": "https://a.example/"}),
            "oversize_bytes and redirect",
        ),
        (
            json!({"path": "/x", "reset": true, "stall_body_ms": 5}),
            "stall_body_ms cannot",
        ),
        (
            json!({"path": "/x", "redirect": "https://a.example/", "stall_body_ms": 5}),
            "stall_body_ms cannot",
        ),
        (
            json!({"path": "/x", "malformed": "empty", "stall_body_ms": 5}),
            "stall_body_ms cannot",
        ),
        (json!({"path": "/x", "stallBodyMs": 5}), "unknown field"),
    ] {
        assert_rule_refused(&emu, rule, needle);
    }
    // Accepted combinations.
    emu.fault(json!({"rules": [
        {"path": "/a", "malformed": false},
        {"path": "/a", "malformed": "not_json", "stall_body_ms": 5, "when": "after"},
        {"path": "/a", "oversize_bytes": 5, "stall_body_ms": 5, "status": 500},
        {"path": "/a", "redirect": "http://h:1/p?q", "status": 301, "when": "after", "count": 2},
        {"path": "/a", "reset": false, "malformed": true, "delay_ms": 1},
    ]}));
    let listed = emu.control_get("/__emulator/faults")["data"].clone();
    assert_eq!(listed[2]["oversize_bytes"], 5);
    assert_eq!(listed[2]["stall_body_ms"], 5);
    assert_eq!(listed[3]["redirect"], "http://h:1/p?q");
}
