//! Behaviours that follow the real Connect API's awkward corners, against the
//! built-in fixture: remote-option paging kinds, options loaded with the account,
//! reloads that fail in observations only, non-input props (`dir`, `disabled`),
//! `withLabel` values, components with two app props, `_`-prefixed app slugs,
//! list items without props, expiring dynamic props.

mod common;

use common::*;
use serde_json::{Map, Value, json};

const USER: &str = "u1";

/// The built-in catalog with one account of USER for each app given.
fn start(apps: &[&str], extra: &[&str]) -> (Emu, String, Map<String, Value>) {
    let mut args: Vec<String> = apps
        .iter()
        .flat_map(|a| ["--account".to_string(), format!("{USER}:{a}")])
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let emu = Emu::start_builtin(&refs);
    let tok = emu.token();
    let (_, list) = emu.get(
        &emu.project(&format!("/accounts?external_user_id={USER}&limit=100")),
        &tok,
    );
    let mut by_app = Map::new();
    for a in list["data"].as_array().unwrap() {
        by_app.insert(
            a["app"]["name_slug"].as_str().unwrap().to_string(),
            json!({"authProvisionId": a["id"]}),
        );
    }
    (emu, tok, by_app)
}

fn configure(emu: &Emu, tok: &str, body: Value) -> Value {
    let (s, b) = emu.post(&emu.project("/actions/configure"), tok, &body);
    assert_eq!(s, 200, "{body}: {b}");
    b
}

fn values(v: &Value) -> Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|o| o.get("value").cloned().unwrap_or_else(|| o.clone()))
        .collect()
}

fn prop<'a>(component: &'a Value, name: &str) -> &'a Value {
    component["configurable_props"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no prop {name}"))
}

#[test]
fn remote_options_page_based_and_context_based() {
    let (emu, tok, acct) = start(&["github", "gitlab", "dreamstudio", "_2chat"], &[]);

    // Page-based (github `branch`): the component pages by `page`, context is null on
    // every answer, prev_context is ignored, and a page past the end is empty.
    let branch = |page: Option<u64>, prev: Option<Value>| {
        let mut req = json!({"id": "github-delete-branch", "external_user_id": USER, "prop_name": "branch",
                             "configured_props": {"github": acct["github"], "repoFullname": "acme-corp/web-app"}});
        if let Some(p) = page {
            req["page"] = json!(p);
        }
        if let Some(c) = prev {
            req["prev_context"] = c;
        }
        configure(&emu, &tok, req)
    };
    let mut seen = Vec::new();
    for (page, n) in [(0, 4), (1, 4), (2, 2), (3, 0)] {
        let b = branch(Some(page), None);
        assert_eq!(
            b["options"].as_array().unwrap().len(),
            n,
            "page {page}: {b}"
        );
        assert!(b["context"].is_null(), "page {page}: {b}");
        seen.extend(values(&b["options"]));
    }
    assert_eq!(seen.len(), 10);
    assert_eq!(
        branch(None, Some(json!({"page": 2})))["options"],
        branch(Some(0), None)["options"],
        "prev_context does not page a page-based prop"
    );

    // Context-based (gitlab `projectId`): reads prev_context.nextPage, answers
    // {nextPage: N}; on the last page {nextPage: null}, which starts over.
    let project = |prev: Option<Value>, page: u64| {
        let mut req = json!({"id": "gitlab-create-issue", "external_user_id": USER, "prop_name": "projectId",
                             "configured_props": {"gitlab": acct["gitlab"]}, "page": page});
        if let Some(c) = prev {
            req["prev_context"] = c;
        }
        configure(&emu, &tok, req)
    };
    let first = project(None, 0);
    assert_eq!(first["context"], json!({"nextPage": 2}));
    let mut all = values(&first["options"]);
    let mut ctx = first["context"].clone();
    let mut page = 1;
    while !ctx["nextPage"].is_null() {
        let b = project(Some(ctx.clone()), page);
        all.extend(values(&b["options"]));
        ctx = b["context"].clone();
        page += 1;
        assert!(page < 10);
    }
    assert_eq!(all.len(), 5);
    assert_eq!(page, 3);
    assert_eq!(
        ctx,
        json!({"nextPage": null}),
        "the context itself is not null"
    );
    assert_eq!(project(Some(ctx), 3)["options"], first["options"]);
    // `page` alone does not move a context-based prop.
    assert_eq!(project(None, 2)["options"], first["options"]);
    assert!(all.iter().all(Value::is_u64), "integer values: {all:?}");

    // dreamstudio `organizationId` pages by `page` as well (options({ page })).
    let org = |page: u64| {
        configure(
            &emu,
            &tok,
            json!({"id": "dreamstudio-generate-image", "external_user_id": USER, "prop_name": "organizationId",
                   "configured_props": {"dreamstudio": acct["dreamstudio"]}, "page": page}),
        )
    };
    assert_eq!(org(0)["options"].as_array().unwrap().len(), 2);
    assert_eq!(org(1)["options"].as_array().unwrap().len(), 1);
    assert_eq!(org(2)["options"], json!([]));

    // An options() that ignores paging (2chat `fromNumber`): the same list every time.
    let from = |page: u64| {
        configure(
            &emu,
            &tok,
            json!({"id": "_2chat-send-whatsapp-text-message", "external_user_id": USER, "prop_name": "fromNumber",
                   "configured_props": {"twoChat": acct["_2chat"]}, "page": page}),
        )
    };
    assert_eq!(from(0)["options"], from(5)["options"]);
    assert!(from(0)["context"].is_null());
}

#[test]
fn reload_can_fail_in_observations_only() {
    let (emu, tok, acct) = start(&["google_sheets", "notion"], &[]);
    let reload = |props: Value| {
        let mut cp = json!({"googleSheets": acct["google_sheets"]});
        cp.as_object_mut()
            .unwrap()
            .extend(props.as_object().unwrap().clone());
        let (s, b) = emu.post(
            &emu.project("/actions/props"),
            &tok,
            &json!({"id": "google_sheets-upsert-row", "external_user_id": USER, "configured_props": cp}),
        );
        assert_eq!(s, 200, "{b}");
        b
    };
    // Reload props unset: errors name them, the static props come back.
    let early = reload(json!({}));
    assert_eq!(early["errors"].as_array().unwrap().len(), 2, "{early}");
    assert!(early["dynamicProps"]["id"].is_string());

    let ok = reload(
        json!({"sheetId": "1RKPvqw4VaeiBnvUO5uvBF67LieeJJriJuVEYzzPcMqT", "worksheetId": "Sheet1"}),
    );
    assert_eq!(ok["errors"], json!([]));
    let names: Vec<&str> = ok["dynamicProps"]["configurableProps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "googleSheets",
            "sheetId",
            "worksheetId",
            "column",
            "value",
            "insert",
            "updates"
        ]
    );

    // worksheetId "Archive": additionalProps() throws. Only observations come back,
    // with the error in them: no `errors`, no `dynamicProps`.
    for archive in [
        json!("Archive"),
        json!({"__lv": {"label": "Archive", "value": "Archive"}}),
    ] {
        let failed = reload(json!({"sheetId": "s", "worksheetId": archive}));
        let keys: Vec<&String> = failed.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["observations"], "{failed}");
        let o = &failed["observations"][0];
        assert_eq!(o["k"], "error");
        assert!(o["ts"].is_u64());
        assert_eq!(o["err"]["name"], "Error");
        assert_eq!(o["err"]["message"], "Unable to parse range: 'Archive'!1:1");
    }

    // The existing reload fixtures still work, a withLabel reload prop given as __lv too.
    let (_, r) = emu.post(
        &emu.project("/actions/props"),
        &tok,
        &json!({"id": "notion-create-page-from-database", "external_user_id": USER,
                "configured_props": {"notion": acct["notion"], "parent": {"__lv": {"label": "Tasks", "value": "ds_1"}}}}),
    );
    assert_eq!(r["errors"], json!([]), "{r}");
    assert!(
        r["dynamicProps"]["configurableProps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Name")
    );
}

#[test]
fn non_input_props_labelled_values_and_two_apps() {
    let (emu, tok, acct) = start(&["dreamstudio", "google_drive", "dropbox"], &[]);
    let run = |body: Value| {
        let (s, b) = emu.post(&emu.project("/actions/run"), &tok, &body);
        assert_eq!(s, 200, "{body}: {b}");
        b
    };

    // `dir` prop: no `optional`, no label or description; the run does not need it.
    let (_, ds) = emu.get(&emu.project("/actions/dreamstudio-generate-image"), &tok);
    let sync = prop(&ds["data"], "syncDir");
    assert_eq!(
        sync,
        &json!({"name": "syncDir", "type": "dir", "accessMode": "write", "sync": true})
    );
    let out = run(
        json!({"id": "dreamstudio-generate-image", "external_user_id": USER,
        "configured_props": {"dreamstudio": acct["dreamstudio"], "organizationId": "org-Pd7sN0wQx4yB1cL2",
                             "engineId": "stable-diffusion-v1-6", "textPrompts": ["{\"text\": \"a lighthouse\", \"weight\": 1}"]}}),
    );
    assert_eq!(out["os"], json!([]), "{out}");
    assert!(out["ret"]["artifacts"].is_array());
    // The example params leave the dir prop out.
    let ex = emu.control_get("/__emulator/components/dreamstudio-generate-image/example");
    assert!(ex["data"]["params"].get("syncDir").is_none(), "{ex}");

    // Two app props, a disabled prop without `optional`, a withLabel prop.
    let (_, cp) = emu.get(
        &emu.project("/actions/google_drive-copy-file-to-dropbox"),
        &tok,
    );
    let c = &cp["data"];
    let apps: Vec<&Value> = c["configurable_props"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "app")
        .collect();
    assert_eq!(apps.len(), 2);
    let disabled = prop(c, "exportFormat");
    assert!(disabled["disabled"] == true && disabled.get("optional").is_none());
    assert_eq!(prop(c, "fileId")["withLabel"], true);
    let ex = emu.control_get("/__emulator/components/google_drive-copy-file-to-dropbox/example");
    assert!(ex["data"]["params"].get("exportFormat").is_none(), "{ex}");

    let file =
        json!({"__lv": {"label": "Roadmap 2025", "value": "1Tb8Ne3Qw6Ry1Ui4Op7As0Df2Gh5Jk9Lz"}});
    let both = json!({"googleDrive": acct["google_drive"], "dropbox": acct["dropbox"],
                      "fileId": file, "path": "/Backups"});
    let out = run(
        json!({"id": "google_drive-copy-file-to-dropbox", "external_user_id": USER, "configured_props": both}),
    );
    assert_eq!(out["os"], json!([]), "disabled prop not required: {out}");
    // A withLabel prop reaches the action as {label, value}.
    assert_eq!(out["ret"]["source"], file["__lv"]);
    assert_eq!(out["ret"]["destination"]["path_display"], "/Backups");
    // A plain `{__lv}` on a prop without withLabel reaches it as the value.
    let mut plain = both.clone();
    plain["path"] = json!({"__lv": {"label": "/Backups", "value": "/Backups"}});
    let out = run(
        json!({"id": "google_drive-copy-file-to-dropbox", "external_user_id": USER, "configured_props": plain}),
    );
    assert_eq!(out["ret"]["destination"]["path_display"], "/Backups");
    // Both accounts are needed to run.
    let mut one = both.clone();
    one.as_object_mut().unwrap().remove("dropbox");
    let out = run(
        json!({"id": "google_drive-copy-file-to-dropbox", "external_user_id": USER, "configured_props": one}),
    );
    assert_eq!(out["os"][0]["err"]["name"], "AccountError", "{out}");

    // Configure loads each prop's options with its own app's account.
    let cfg = |prop: &str, props: Value| {
        configure(
            &emu,
            &tok,
            json!({"id": "google_drive-copy-file-to-dropbox", "external_user_id": USER,
                   "prop_name": prop, "configured_props": props}),
        )
    };
    let drive_only = json!({"googleDrive": acct["google_drive"]});
    assert_eq!(cfg("fileId", drive_only.clone())["errors"], json!([]));
    assert_eq!(
        cfg("path", drive_only.clone())["errors"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "path needs the dropbox account"
    );
    let swapped = json!({"googleDrive": acct["google_drive"], "dropbox": acct["google_drive"]});
    assert_eq!(cfg("path", swapped)["errors"].as_array().unwrap().len(), 1);
    let path = cfg(
        "path",
        json!({"googleDrive": acct["google_drive"], "dropbox": acct["dropbox"],
                                  "fileId": file}),
    );
    assert_eq!(path["errors"], json!([]), "{path}");
    assert_eq!(path["options"].as_array().unwrap().len(), 3);
}

#[test]
fn underscore_app_slug() {
    let (emu, tok, acct) = start(&["_2chat"], &[]);
    let (s, a) = emu.get("/v1/connect/apps/_2chat", &tok);
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["data"]["name"], "2Chat");
    let id = a["data"]["id"].as_str().unwrap().to_string();
    let (_, by_id) = emu.get(&format!("/v1/connect/apps/{id}"), &tok);
    assert_eq!(by_id["data"]["name_slug"], "_2chat");
    let (_, found) = emu.get("/v1/connect/apps?q=2chat", &tok);
    assert_eq!(keys(&found["data"], "name_slug"), ["_2chat"]);
    for app in ["_2chat", id.as_str()] {
        let (_, list) = emu.get(&emu.project(&format!("/actions?app={app}")), &tok);
        assert_eq!(
            keys(&list["data"], "key"),
            ["_2chat-send-whatsapp-text-message"]
        );
    }
    let (_, c) = emu.get(
        &emu.project("/actions/_2chat-send-whatsapp-text-message"),
        &tok,
    );
    // The app prop's name is not the slug.
    assert_eq!(
        prop(&c["data"], "twoChat"),
        &json!({"name": "twoChat", "type": "app", "app": "_2chat"})
    );
    let (s, out) = emu.post(
        &emu.project("/actions/run"),
        &tok,
        &json!({"id": "_2chat-send-whatsapp-text-message", "external_user_id": USER,
                "configured_props": {"twoChat": acct["_2chat"], "fromNumber": "+14155550123",
                                     "toNumber": "+12121112222", "text": "hi"}}),
    );
    assert_eq!(s, 200);
    assert_eq!(out["os"], json!([]), "{out}");
    assert_eq!(out["ret"]["to_number"], "+12121112222");
    assert_eq!(
        out["exports"]["$summary"],
        "Successfully sent message to +12121112222"
    );
}

#[test]
fn list_without_props_flag() {
    let (emu, tok, _) = start(&[], &["--list-without-props"]);
    for kind in ["components", "actions", "triggers"] {
        let (s, b) = emu.get(&emu.project(&format!("/{kind}?limit=100")), &tok);
        assert_eq!(s, 200);
        let items = b["data"].as_array().unwrap();
        assert!(!items.is_empty());
        assert!(
            items.iter().all(|c| c.get("configurable_props").is_none()
                && c["key"].is_string()
                && c["version"].is_string()),
            "{kind}"
        );
    }
    let (_, one) = emu.get(&emu.project("/actions/slack-send-message"), &tok);
    assert!(one["data"]["configurable_props"].is_array());
    // Without the flag, list items have them.
    let (emu, tok, _) = start(&[], &[]);
    let (_, b) = emu.get(&emu.project("/actions?limit=5"), &tok);
    assert!(
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["configurable_props"].is_array())
    );
}

#[test]
fn dynamic_props_ids_expire() {
    let (emu, tok, acct) = start(&["google_sheets"], &["--dynamic-props-ttl-secs", "1"]);
    let cp = json!({"google_sheets": acct["google_sheets"], "sheetId": "s1"});
    let (_, r) = emu.post(
        &emu.project("/actions/props"),
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": USER, "configured_props": cp}),
    );
    let dyp = r["dynamicProps"]["id"].clone();
    let body = json!({"id": "google_sheets-add-single-row", "external_user_id": USER,
                      "prop_name": "worksheetId", "configured_props": cp, "dynamic_props_id": dyp});
    assert_eq!(
        emu.post(&emu.project("/actions/configure"), &tok, &body).0,
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (s, b) = emu.post(&emu.project("/actions/configure"), &tok, &body);
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("expired"), "{b}");
    // Once expired it is gone: the next use is an unknown id.
    let (s, b) = emu.post(
        &emu.project("/actions/run"),
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": USER,
                "configured_props": cp, "dynamic_props_id": dyp}),
    );
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("unknown"), "{b}");
}

#[test]
fn run_refuses_a_trigger_key() {
    let (emu, tok, acct) = start(&["slack"], &[]);
    let (s, b) = emu.post(
        &emu.project("/actions/run"),
        &tok,
        &json!({"id": "slack-new-message-in-channels", "external_user_id": USER,
                "configured_props": {"slack": acct["slack"]}}),
    );
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("trigger"), "{b}");
    assert!(b.get("code").is_none());
    assert_eq!(emu.runs().last().unwrap()["outcome"], "error");
}
