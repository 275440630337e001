//! File Stash on `actions/run`: `stash_id` values, `$filestash_uploads`, the
//! presigned `get_url`s (signature, 30 minutes) and `…/file_stash/download`
//! (24 hours). Time passes through `POST /__emulator/file-stash/age`.

mod common;

use std::collections::BTreeSet;

use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const MINUTE_MS: u64 = 60 * 1000;
const DAY_MS: u64 = 24 * 60 * MINUTE_MS;

/// The test catalog plus a helper action that writes two files: a text report
/// with a placeholder and raw bytes without a content type.
fn start(args: &[&str]) -> (Emu, String) {
    let mut components = test_components();
    components.as_array_mut().unwrap().push(json!({
        "key": "helper_functions-write-report", "name": "Write Report", "version": "0.0.1",
        "component_type": "action",
        "configurable_props": [
            {"name": "name", "type": "string"},
            {"name": "syncDir", "type": "dir", "accessMode": "write", "sync": true}
        ],
        "x_emulator": {
            "ret": {"written": ["/tmp/reports/summary.txt", "/tmp/raw.bin"]},
            "summary": "Wrote the {{props.name}} report",
            "files": [
                {"path": "/tmp/reports/summary.txt", "content": "Report for {{props.name}}\n", "content_type": "text/plain"},
                {"path": "/tmp/raw.bin", "content": "AAEC/w==", "encoding": "base64"}
            ]
        }
    }));
    let emu = Emu::start_with(&test_apps(), &components, args);
    let tok = emu.token();
    (emu, tok)
}

fn report(stash_id: Option<Value>) -> Value {
    let mut body = json!({"id": "helper_functions-write-report", "external_user_id": "u1",
                          "configured_props": {"name": "Q3"}});
    if let Some(s) = stash_id {
        body["stash_id"] = s;
    }
    body
}

fn run(emu: &Emu, tok: &str, body: &Value) -> Value {
    let (s, b) = emu.post(&emu.project("/actions/run"), tok, body);
    assert_eq!(s, 200, "{body}: {b}");
    b
}

fn age(emu: &Emu, ms: u64) {
    let (s, b) = emu.control_post("/__emulator/file-stash/age", &json!({"ms": ms}));
    assert_eq!(s, 200, "{b}");
}

fn uploads(out: &Value) -> Vec<Value> {
    out["exports"]["$filestash_uploads"]
        .as_array()
        .unwrap_or_else(|| panic!("no $filestash_uploads: {out}"))
        .clone()
}

fn is_stash_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 32
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// Status, content type, body: no bearer, no environment header.
fn fetch(emu: &Emu, url: &str) -> (u16, String, Vec<u8>) {
    let r = emu.client.get(url).send().expect("get_url");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.bytes().unwrap().to_vec())
}

fn s3_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    assert!(text.starts_with("<?xml"), "{text}");
    let code = text
        .split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or_else(|| panic!("no <Code>: {text}"));
    code.to_string()
}

fn download(emu: &Emu, tok: &str, key: &str) -> (u16, String, Vec<u8>) {
    let q = serde_urlencoded::to_string([("s3_key", key)]).unwrap();
    let r = emu
        .api(
            Method::GET,
            &emu.project(&format!("/file_stash/download?{q}")),
            tok,
        )
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.bytes().unwrap().to_vec())
}

#[test]
fn absent_null_or_false_means_no_stash() {
    let (emu, tok) = start(&[]);
    for stash_id in [None, Some(Value::Null), Some(json!(false))] {
        let out = run(&emu, &tok, &report(stash_id.clone()));
        assert_eq!(out["stash_id"], Value::Null, "{stash_id:?}");
        assert_eq!(
            out["exports"],
            json!({"$summary": "Wrote the Q3 report"}),
            "{stash_id:?}"
        );
    }
    assert_eq!(
        emu.control_get("/__emulator/file-stash"),
        json!({"data": []})
    );
}

#[test]
fn a_new_stash_syncs_the_files_the_action_wrote() {
    // u1 has an account, so GET /users shows the exu id the keys carry.
    let (emu, tok) = start(&["--account", "u1:slack"]);
    let mut ids = BTreeSet::new();
    for stash_id in [json!(""), json!("NEW"), json!(true)] {
        let out = run(&emu, &tok, &report(Some(stash_id.clone())));
        assert!(is_stash_id(&out["stash_id"]), "{stash_id}: {out}");
        ids.insert(out["stash_id"].as_str().unwrap().to_string());
        assert_eq!(out["exports"]["$summary"], "Wrote the Q3 report");
        assert_eq!(out["os"], json!([]));
    }
    assert_eq!(ids.len(), 3, "a new stash each time");

    let out = run(&emu, &tok, &report(Some(json!("NEW"))));
    let stash = out["stash_id"].as_str().unwrap();
    let (_, users) = emu.get(&emu.project("/users"), &tok);
    let exu = users["data"][0]["id"].as_str().unwrap();
    assert!(exu.starts_with("exu_"));
    let ups = uploads(&out);
    assert_eq!(ups.len(), 2);
    for (up, local, under) in [
        (&ups[0], "/tmp/reports/summary.txt", "reports/summary.txt"),
        (&ups[1], "/tmp/raw.bin", "raw.bin"),
    ] {
        // Exactly the documented mixed-case field names.
        let keys: BTreeSet<&str> = up.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["localPath", "s3Key", "get_url"]),
            "{up}"
        );
        assert_eq!(up["localPath"], local);
        let key = format!("1day/{PROJECT}/{exu}/{stash}/u/{under}");
        assert_eq!(up["s3Key"], key.as_str());
        let url = up["get_url"].as_str().unwrap();
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, format!("{}/__emulator/s3/{key}", emu.url));
        let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(param("X-Amz-Expires"), Some("1800"));
        assert_eq!(param("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        let sig = param("X-Amz-Signature").unwrap();
        assert!(
            sig.len() == 64 && sig.chars().all(|c| c.is_ascii_hexdigit()),
            "{sig}"
        );
    }

    // The stashes and their files, for inspection.
    let listed = emu.control_get("/__emulator/file-stash")["data"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let last = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == stash)
        .unwrap();
    assert_eq!(last["files"][0]["local_path"], "/tmp/raw.bin");
    assert_eq!(last["files"][0]["bytes"], 4);
    assert_eq!(last["files"][0]["content_type"], "application/octet-stream");
    assert_eq!(last["files"][1]["content_type"], "text/plain");
}

#[test]
fn an_existing_stash_is_reused_for_24_hours() {
    let (emu, tok) = start(&[]);
    let first = run(&emu, &tok, &report(Some(json!(true))));
    let stash = first["stash_id"].clone();
    let again = run(&emu, &tok, &report(Some(stash.clone())));
    assert_eq!(again["stash_id"], stash);
    let (a, b) = (&uploads(&first)[0], &uploads(&again)[0]);
    assert_eq!(a["s3Key"], b["s3Key"], "same stash, same key");
    assert_ne!(a["get_url"], b["get_url"], "a fresh presigned URL");

    // Unknown ids, wrong types.
    let path = emu.project("/actions/run");
    for unknown in ["0123456789abcdef0123456789abcdef", "new", "true"] {
        let (s, b) = emu.post(&path, &tok, &report(Some(json!(unknown))));
        assert_eq!(s, 404, "{unknown}: {b}");
        assert_eq!(b["error"], format!("stash {unknown} not found"));
        assert_eq!(b["code"], "not_found");
    }
    for bad in [json!(1), json!([]), json!({"id": "x"})] {
        let (s, b) = emu.post(&path, &tok, &report(Some(bad.clone())));
        assert_eq!(s, 400, "{bad}: {b}");
        assert!(
            b["error"]
                .as_str()
                .unwrap()
                .starts_with("stash_id must be a string or a boolean")
        );
    }
    // Request errors: journaled as errors, like the others.
    let runs = emu.runs();
    assert_eq!(runs.last().unwrap()["outcome"], "error");

    // 24 hours later the stash is gone.
    age(&emu, DAY_MS - MINUTE_MS);
    assert_eq!(
        run(&emu, &tok, &report(Some(stash.clone())))["stash_id"],
        stash
    );
    age(&emu, MINUTE_MS);
    let (s, b) = emu.post(&path, &tok, &report(Some(stash.clone())));
    assert_eq!(
        (s, &b["error"]),
        (
            404,
            &json!(format!("stash {} not found", stash.as_str().unwrap()))
        )
    );

    // Reset forgets every stash.
    let fresh = run(&emu, &tok, &report(Some(json!("NEW"))))["stash_id"].clone();
    emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(emu.post(&path, &tok, &report(Some(fresh))).0, 404);
    assert_eq!(
        emu.control_get("/__emulator/file-stash"),
        json!({"data": []})
    );
}

#[test]
fn no_files_no_uploads_and_failures_keep_their_stash() {
    let (emu, tok) = start(&[]);
    // A component that writes nothing: the stash, no uploads.
    let out = run(
        &emu,
        &tok,
        &json!({"id": "helper_functions-format-iso8601-datetime", "external_user_id": "u1",
                "configured_props": {"date": "2024-01-01"}, "stash_id": "NEW"}),
    );
    assert!(is_stash_id(&out["stash_id"]), "{out}");
    assert!(out["exports"].get("$filestash_uploads").is_none(), "{out}");
    // A failing action writes nothing either, and still answers its stash.
    let mut body = report(Some(json!(true)));
    body["configured_props"]["name"] = json!("__emulator_fail__");
    let out = run(&emu, &tok, &body);
    assert_eq!(out["os"][0]["err"]["message"], "Emulated failure");
    assert!(is_stash_id(&out["stash_id"]), "{out}");
    assert_eq!(out["exports"], json!({}));
    // A request error (unknown stash) comes before an action failure.
    body["stash_id"] = json!("ffffffffffffffffffffffffffffffff");
    assert_eq!(emu.post(&emu.project("/actions/run"), &tok, &body).0, 404);
}

#[test]
fn get_url_serves_the_bytes_without_a_bearer() {
    let (emu, tok) = start(&[]);
    let ups = uploads(&run(&emu, &tok, &report(Some(json!(true)))));
    let (s, ct, body) = fetch(&emu, ups[0]["get_url"].as_str().unwrap());
    assert_eq!((s, ct.as_str()), (200, "text/plain"));
    assert_eq!(String::from_utf8(body).unwrap(), "Report for Q3\n");
    let (s, ct, body) = fetch(&emu, ups[1]["get_url"].as_str().unwrap());
    assert_eq!(
        (s, ct.as_str(), body),
        (200, "application/octet-stream", vec![0, 1, 2, 255])
    );
    // HEAD too; and it is S3, not the API: nothing in the request log.
    let r = emu
        .client
        .head(ups[0]["get_url"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        emu.requests()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().contains("/s3/"))
    );
    // Faults do not touch it either.
    emu.fault(json!({"path": ".", "status": 500}));
    assert_eq!(fetch(&emu, ups[0]["get_url"].as_str().unwrap()).0, 200);
}

#[test]
fn get_url_checks_its_signature_and_expires_after_30_minutes() {
    let (emu, tok) = start(&[]);
    let ups = uploads(&run(&emu, &tok, &report(Some(json!(true)))));
    let url = ups[0]["get_url"].as_str().unwrap().to_string();
    let other = ups[1]["get_url"].as_str().unwrap().to_string();
    let (base, query) = url.split_once('?').unwrap();
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let with = |f: &dyn Fn(&str, &str) -> Option<String>| {
        let kept: Vec<(String, String)> = params
            .iter()
            .filter_map(|(k, v)| f(k, v).map(|v| (k.clone(), v)))
            .collect();
        format!("{base}?{}", serde_urlencoded::to_string(kept).unwrap())
    };
    let forbidden = |u: &str| {
        let (s, ct, body) = fetch(&emu, u);
        assert_eq!((s, ct.as_str()), (403, "application/xml"), "{u}");
        s3_code(&body)
    };
    // No signature: an anonymous GET of a private object.
    assert_eq!(forbidden(base), "AccessDenied");
    assert_eq!(
        forbidden(&with(
            &|k, v| (k != "X-Amz-Signature").then(|| v.to_string())
        )),
        "AccessDenied"
    );
    // A wrong signature, a signed parameter changed, another key's signature.
    let flipped = with(&|k, v| {
        Some(if k == "X-Amz-Signature" {
            let mut s = v.to_string();
            let last = if s.ends_with('0') { "1" } else { "0" };
            s.replace_range(63.., last);
            s
        } else {
            v.to_string()
        })
    });
    assert_eq!(forbidden(&flipped), "SignatureDoesNotMatch");
    let longer = with(&|k, v| {
        Some(if k == "X-Amz-Expires" {
            "604800".into()
        } else {
            v.to_string()
        })
    });
    assert_eq!(forbidden(&longer), "SignatureDoesNotMatch");
    let swapped = format!("{base}?{}", other.split_once('?').unwrap().1);
    assert_eq!(forbidden(&swapped), "SignatureDoesNotMatch");
    // The real one works until 30 minutes have passed.
    assert_eq!(fetch(&emu, &url).0, 200);
    age(&emu, 30 * MINUTE_MS - 1000);
    assert_eq!(fetch(&emu, &url).0, 200);
    age(&emu, 1000);
    let (s, _, body) = fetch(&emu, &url);
    assert_eq!(s, 403);
    assert_eq!(s3_code(&body), "AccessDenied");
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("<Message>Request has expired</Message>"),
        "{text}"
    );
    assert!(
        text.contains("<X-Amz-Expires>1800</X-Amz-Expires>"),
        "{text}"
    );
    // The file itself is still there for the download endpoint.
    assert_eq!(
        download(&emu, &tok, ups[0]["s3Key"].as_str().unwrap()).0,
        200
    );
    // A new run hands out a fresh URL for the same key.
    let again = uploads(&run(&emu, &tok, &report(Some(json!(true)))));
    assert_eq!(fetch(&emu, again[0]["get_url"].as_str().unwrap()).0, 200);
}

#[test]
fn download_by_s3_key_for_24_hours() {
    let (emu, tok) = start(&[]);
    let ups = uploads(&run(&emu, &tok, &report(Some(json!(true)))));
    let key = ups[0]["s3Key"].as_str().unwrap();
    let (s, ct, body) = download(&emu, &tok, key);
    assert_eq!((s, ct.as_str()), (200, "application/octet-stream"));
    assert_eq!(body, b"Report for Q3\n");
    let raw_key = ups[1]["s3Key"].as_str().unwrap();
    assert_eq!(download(&emu, &tok, raw_key).2, vec![0, 1, 2, 255]);

    // Bearer and environment as on every API route, then the project.
    let q = format!("/file_stash/download?s3_key={key}");
    let path = emu.project(&q);
    let no_token = emu
        .client
        .get(emu.at(&path))
        .header("x-pd-environment", ENV);
    assert_eq!(send(no_token).0, 401);
    assert_eq!(send(emu.client.get(emu.at(&path)).bearer_auth(&tok)).0, 400);
    let other = path.replace(PROJECT, "proj_other");
    assert_eq!(emu.get(&other, &tok).0, 404);
    // s3_key is required; an unknown one is not found.
    for (path, want) in [
        (
            emu.project("/file_stash/download"),
            (400, "s3_key is required"),
        ),
        (
            emu.project("/file_stash/download?s3_key="),
            (400, "s3_key is required"),
        ),
        (
            emu.project("/file_stash/download?s3_key=1day/nope"),
            (404, "file not found"),
        ),
    ] {
        let (s, b) = emu.get(&path, &tok);
        assert_eq!((s, b["error"].as_str().unwrap()), want, "{path}");
    }
    // 24 hours after it was written the file is gone, get_url or not.
    age(&emu, DAY_MS - MINUTE_MS);
    assert_eq!(download(&emu, &tok, key).0, 200);
    age(&emu, MINUTE_MS);
    let (s, b) = emu.get(
        &emu.project(&format!("/file_stash/download?s3_key={key}")),
        &tok,
    );
    assert_eq!(
        (s, &b["error"], &b["code"]),
        (404, &json!("file not found"), &json!("not_found"))
    );
    // Reset clears the files.
    let ups = uploads(&run(&emu, &tok, &report(Some(json!(true)))));
    emu.control_post("/__emulator/reset", &json!({}));
    assert_eq!(
        download(&emu, &tok, ups[0]["s3Key"].as_str().unwrap()).0,
        404
    );
    assert_eq!(fetch(&emu, ups[0]["get_url"].as_str().unwrap()).0, 403);
}

#[test]
fn dreamstudio_generate_image_writes_its_png() {
    let emu = Emu::start_builtin(&["--account", "u1:dreamstudio"]);
    let tok = emu.token();
    let (_, list) = emu.get(&emu.project("/accounts?external_user_id=u1"), &tok);
    let apn = list["data"][0]["id"].clone();
    let body = |stash: Value| {
        json!({"id": "dreamstudio-generate-image", "external_user_id": "u1", "stash_id": stash,
               "configured_props": {"dreamstudio": {"authProvisionId": apn}, "organizationId": "org-Pd7sN0wQx4yB1cL2",
                                    "engineId": "stable-diffusion-v1-6",
                                    "textPrompts": ["{\"text\": \"a lighthouse\", \"weight\": 1}"]}})
    };
    let out = run(&emu, &tok, &body(Value::Null));
    assert!(out["exports"].get("$filestash_uploads").is_none());
    let out = run(&emu, &tok, &body(json!("NEW")));
    // As the component's code does: `${STASH_DIR || "/tmp"}/img_${seed}.png`.
    let path = "/tmp/img_1229191277.png";
    assert_eq!(out["ret"]["tmpPaths"], json!([path]));
    assert_eq!(
        out["exports"]["$summary"],
        format!("1 new image was successfully generated and sent to {path}!")
    );
    let ups = uploads(&out);
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0]["localPath"], path);
    assert!(
        ups[0]["s3Key"]
            .as_str()
            .unwrap()
            .ends_with("/u/img_1229191277.png")
    );
    let (s, ct, bytes) = fetch(&emu, ups[0]["get_url"].as_str().unwrap());
    assert_eq!((s, ct.as_str()), (200, "image/png"));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    // The bytes the action returned as base64 are the bytes it wrote.
    let returned = base64::engine::general_purpose::STANDARD
        .decode(out["ret"]["artifacts"][0]["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, returned);
}
