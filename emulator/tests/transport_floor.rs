//! transport-floor, the benchmark's Rust floor: every request it counts is a run the emulator
//! really ran, through both of its transports, and a refused request ends it with an error
//! instead of being counted.

mod common;

use std::process::Command;

use common::*;
use serde_json::{Value, json};

fn floor(emu: &Emu, mode: &str, token: Option<&str>, body: &Value) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_transport-floor"));
    command.env_remove("TRANSPORT_FLOOR_TOKEN");
    if let Some(token) = token {
        command.env("TRANSPORT_FLOOR_TOKEN", token);
    }
    command
        .args(["--mode", mode, "--base-url", &emu.url])
        .args(["--path", &emu.project("/actions/run")])
        .args([
            "--body",
            &body.to_string(),
            "--environment",
            ENV,
            "--concurrency",
            "4",
        ])
        .args(["--warm-ms", "50", "--window-ms", "300"])
        .args(["--server-pid", &emu.pid().to_string()])
        .output()
        .expect("run transport-floor")
}

#[test]
fn counts_only_runs_the_emulator_ran_through_both_transports() {
    let emu = Emu::start(&["--account", "u1:slack"]);
    let tok = emu.token();
    let (_, accounts) = emu.get(
        &emu.project("/accounts?external_user_id=u1&app=slack"),
        &tok,
    );
    let account = accounts["data"][0]["id"]
        .as_str()
        .expect("an account")
        .to_owned();
    let body = json!({
        "id": "slack-send-message",
        "external_user_id": "u1",
        "configured_props": {"slack": {"authProvisionId": account}, "conversation": channels()[0]["value"], "text": "floor"},
    });
    for mode in ["raw", "hyper"] {
        let before = emu.runs().len() as u64;
        let out = floor(&emu, mode, Some(&tok), &body);
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        let counted = line["requests"].as_u64().expect("requests");
        assert!(counted > 0, "{mode}: {line}");
        assert_eq!(line["mode"], mode);
        assert_eq!(line["concurrency"], 4);
        if cfg!(target_os = "linux") {
            assert!(
                line["procCpuUs"].as_f64().is_some_and(|us| us > 0.0),
                "{line}"
            );
        }
        let runs: Vec<Value> = emu.runs().into_iter().skip(before as usize).collect();
        assert!(
            runs.len() as u64 >= counted,
            "{mode}: {} runs, {counted} counted",
            runs.len()
        );
        for run in &runs {
            assert_eq!(run["id"], "slack-send-message");
            assert_eq!(
                run["configured_props"]["slack"]["authProvisionId"],
                account.as_str()
            );
            assert_eq!(run["outcome"], "ok", "{run}");
        }
    }
}

#[test]
fn a_refused_request_is_an_error_not_a_count() {
    let emu = Emu::start(&["--account", "u1:slack"]);
    let body =
        json!({"id": "slack-send-message", "external_user_id": "u1", "configured_props": {}});
    for mode in ["raw", "hyper"] {
        let out = floor(&emu, mode, Some("not-a-token"), &body);
        assert!(!out.status.success(), "{mode}");
        assert!(
            out.stdout.is_empty(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the server answered 401") && !err.contains("Some("),
            "{mode}: {err}"
        );
    }
}

#[test]
fn the_token_comes_from_the_environment_not_the_command_line() {
    let emu = Emu::start(&["--account", "u1:slack"]);
    let body = json!({"id": "slack-send-message", "external_user_id": "u1"});
    let out = floor(&emu, "raw", None, &body);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TRANSPORT_FLOOR_TOKEN"), "{err}");
    assert!(emu.runs().is_empty(), "nothing is sent without a token");
    // An argument of the old shape is refused, so a caller cannot put the token back there.
    let old = Command::new(env!("CARGO_BIN_EXE_transport-floor"))
        .env("TRANSPORT_FLOOR_TOKEN", "x")
        .args(["--mode", "raw", "--base-url", &emu.url, "--path", "/"])
        .args(["--body", "{}", "--token", "secret"])
        .output()
        .expect("run transport-floor");
    assert!(!old.status.success());
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("--token"),
        "clap names the unknown argument"
    );
}
