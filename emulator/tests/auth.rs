//! OAuth token issuance, bearer checks, and the common per-request checks
//! (environment header, project id, unknown routes, bad bodies).

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[test]
fn token_endpoint_accepts_json_and_form() {
    let emu = Emu::start(&["--token-ttl", "120"]);
    let a = emu.token_response();
    assert_eq!(a["token_type"], "Bearer");
    assert_eq!(a["expires_in"], 120);
    assert!(a["created_at"].is_u64());
    let tok = a["access_token"].as_str().unwrap();
    assert!(tok.len() >= 32);

    // SDK 1.x: form-encoded, with project_id/environment/scope extras.
    let (s, b) = send(
        emu.client
            .post(emu.at("/v1/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&client_id=emulator-client&client_secret=emulator-secret&scope=*&project_id=proj_emulator&environment=development"),
    );
    assert_eq!(s, 200, "{b}");
    assert_ne!(
        b["access_token"], a["access_token"],
        "tokens must be unique"
    );

    // client_secret_basic works too.
    let (s, _) = send(
        emu.client
            .post(emu.at("/v1/oauth/token"))
            .basic_auth("emulator-client", Some("emulator-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials"),
    );
    assert_eq!(s, 200);

    let bad = |body: Value| send(emu.client.post(emu.at("/v1/oauth/token")).json(&body));
    let (s, b) = bad(
        json!({"grant_type": "password", "client_id": "emulator-client", "client_secret": "emulator-secret"}),
    );
    assert_eq!((s, b), (400, json!({"error": "unsupported_grant_type"})));
    let (s, b) = bad(
        json!({"grant_type": "client_credentials", "client_id": "emulator-client", "client_secret": "nope"}),
    );
    assert_eq!((s, b), (401, json!({"error": "invalid_client"})));
    let (s, b) = bad(json!({"grant_type": "client_credentials", "client_id": 7}));
    assert_eq!(s, 400, "{b}");
    let (s, _) = send(
        emu.client
            .post(emu.at("/v1/oauth/token"))
            .header("content-type", "application/json")
            .body("{not json"),
    );
    assert_eq!(s, 400);
}

#[test]
fn custom_client_credentials() {
    let emu = Emu::start(&["--client-id", "me", "--client-secret", "s3cret"]);
    let (s, _) = send(emu.client.post(emu.at("/v1/oauth/token")).json(&json!({
        "grant_type": "client_credentials", "client_id": "me", "client_secret": "s3cret"
    })));
    assert_eq!(s, 200);
    let (s, _) = send(emu.client.post(emu.at("/v1/oauth/token")).json(&json!({
        "grant_type": "client_credentials", "client_id": "emulator-client", "client_secret": "emulator-secret"
    })));
    assert_eq!(s, 401);
}

#[test]
fn bearer_missing_invalid_and_expired() {
    let emu = Emu::start(&["--token-ttl", "1"]);
    let (s, b) = send(
        emu.client
            .get(emu.at("/v1/connect/apps"))
            .header("x-pd-environment", ENV),
    );
    assert_eq!(s, 401);
    assert!(b["error"].as_str().unwrap().contains("missing"), "{b}");

    let (s, b) = emu.get("/v1/connect/apps", "not-a-token");
    assert_eq!(s, 401);
    assert!(b["error"].as_str().unwrap().contains("invalid"), "{b}");

    let tok = emu.token();
    assert_eq!(emu.get("/v1/connect/apps", &tok).0, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let (s, b) = emu.get("/v1/connect/apps", &tok);
    assert_eq!(s, 401);
    assert!(b["error"].as_str().unwrap().contains("expired"), "{b}");
}

#[test]
fn expire_tokens_control_and_token_seq() {
    let emu = Emu::start(&["--api-key", "static-key"]);
    let t1 = emu.token();
    assert_eq!(emu.get("/v1/connect/apps", &t1).0, 200);
    let (s, _) = emu.control_post("/__emulator/expire-tokens", &json!({}));
    assert_eq!(s, 200);
    let (s, b) = emu.get("/v1/connect/apps", &t1);
    assert_eq!(s, 401);
    assert!(b["error"].as_str().unwrap().contains("expired"));
    let t2 = emu.token();
    assert_eq!(emu.get("/v1/connect/apps", &t2).0, 200);
    // API keys are expired too.
    let (s, b) = emu.get("/v1/connect/apps", "static-key");
    assert_eq!(s, 401);
    assert!(b["error"].as_str().unwrap().contains("expired"), "{b}");

    let log = emu.requests();
    let apps: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"] == "/v1/connect/apps")
        .collect();
    let seqs: Vec<Value> = apps.iter().map(|r| r["token_seq"].clone()).collect();
    assert_eq!(seqs, vec![json!(1), json!(1), json!(2), Value::Null]);
    let statuses: Vec<Value> = apps.iter().map(|r| r["status"].clone()).collect();
    assert_eq!(
        statuses,
        vec![json!(200), json!(401), json!(200), json!(401)]
    );
    assert!(apps.iter().all(|r| r["environment"] == ENV));
    assert!(
        log.iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/__emulator"))
    );
    // Reset gives API keys a fresh lifetime; expired access tokens stay expired.
    emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(emu.get("/v1/connect/apps", "static-key").0, 200);
    assert_eq!(emu.get("/v1/connect/apps", &t1).0, 401);
}

#[test]
fn api_keys_expire_like_access_tokens() {
    let emu = Emu::start(&[
        "--api-key",
        "k1",
        "--api-key",
        "k2",
        "--api-key-ttl-secs",
        "1",
    ]);
    assert_eq!(emu.get("/v1/connect/apps", "k1").0, 200);
    assert_eq!(emu.get("/v1/connect/apps", "k2").0, 200);
    std::thread::sleep(Duration::from_millis(1100));
    for k in ["k1", "k2"] {
        let (s, b) = emu.get("/v1/connect/apps", k);
        assert_eq!(s, 401, "{k}");
        assert!(b["error"].as_str().unwrap().contains("expired"), "{b}");
    }
    // An OAuth token still works meanwhile; reset re-arms the keys.
    let tok = emu.token();
    assert_eq!(emu.get("/v1/connect/apps", &tok).0, 200);
    emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(emu.get("/v1/connect/apps", "k1").0, 200);
    // The default lifetime is an hour: well past this test.
    let emu = Emu::start(&["--api-key", "k3"]);
    assert_eq!(emu.get("/v1/connect/apps", "k3").0, 200);
    // 0 is not a lifetime.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipedream-emulator"))
        .args(["--api-key", "k", "--api-key-ttl-secs", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn environment_header_is_required_after_auth() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    // No auth and no environment: auth wins.
    let (s, _) = send(emu.client.get(emu.at("/v1/connect/apps")));
    assert_eq!(s, 401);
    let (s, b) = send(emu.client.get(emu.at("/v1/connect/apps")).bearer_auth(&tok));
    assert_eq!(s, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("x-pd-environment"));
    let (s, _) = send(
        emu.client
            .get(emu.at(&emu.project("/actions")))
            .bearer_auth(&tok)
            .header("x-pd-environment", "staging"),
    );
    assert_eq!(s, 400);
    let (s, _) = send(
        emu.client
            .get(emu.at(&emu.project("/actions")))
            .bearer_auth(&tok)
            .header("x-pd-environment", "production"),
    );
    assert_eq!(s, 200);
}

#[test]
fn project_checks_and_unknown_routes() {
    let emu = Emu::start(&["--project-id", "proj_abc123"]);
    let tok = emu.token();
    let (s, b) = emu.get("/v1/connect/proj_abc123/actions", &tok);
    assert_eq!(s, 200, "{b}");
    let (s, b) = emu.get("/v1/connect/proj_other/actions", &tok);
    assert_eq!(
        (s, b),
        (
            404,
            json!({"error": "project proj_other not found", "code": "not_found"})
        )
    );
    let (s, _) = emu.get("/v1/connect/proj-bad!/actions", &tok);
    assert_eq!(s, 400);
    let (s, _) = emu.get("/v1/connect/myproject/accounts", &tok);
    assert_eq!(s, 400);
    let (s, b) = emu.get("/v1/connect/proj_abc123/nothing/here/at/all", &tok);
    assert_eq!(
        (s, b),
        (404, json!({"error": "not found", "code": "not_found"}))
    );
    let (s, b) = send(emu.client.get(emu.at("/totally/unknown")));
    assert_eq!(
        (s, b),
        (404, json!({"error": "not found", "code": "not_found"}))
    );
    // A wrong method is an unknown route too.
    let (s, b) = send(emu.api(Method::DELETE, "/v1/connect/apps", &tok));
    assert_eq!(
        (s, b),
        (404, json!({"error": "not found", "code": "not_found"}))
    );
}

#[test]
fn bad_bodies_are_json_400s_never_panics() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let posts = [
        "/actions/run",
        "/actions/configure",
        "/components/props",
        "/triggers/configure",
        "/tokens",
    ];
    let bodies: [&[u8]; 6] = [
        b"{",
        b"[1,2]",
        b"\"x\"",
        b"{\"id\": 5, \"external_user_id\": []}",
        b"{\"configured_props\": 3, \"id\": \"gmail-search-emails\", \"external_user_id\": \"u\"}",
        b"\xff\xfe\x00",
    ];
    for p in posts {
        for body in bodies {
            // /tokens has no configured_props; its own type error is below.
            if p == "/tokens" && body.starts_with(b"{\"configured_props\"") {
                continue;
            }
            let (s, b) = send(
                emu.api(Method::POST, &emu.project(p), &tok)
                    .header("content-type", "application/json")
                    .body(body.to_vec()),
            );
            assert_eq!(s, 400, "{p} {:?}: {b}", String::from_utf8_lossy(body));
        }
    }
    let (s, _) = emu.post(
        &emu.project("/tokens"),
        &tok,
        &json!({"external_user_id": "u", "expires_in": "soon"}),
    );
    assert_eq!(s, 400);
    // Query-string junk.
    let (s, _) = emu.get("/v1/connect/apps?limit=%ZZ", &tok);
    assert_eq!(s, 400);
    // The emulator is still fine.
    assert_eq!(emu.control_get("/__emulator/health"), json!({"ok": true}));
}
