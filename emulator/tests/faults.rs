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
