//! The Connect API surface against a small test-owned catalog: apps,
//! components, configure, reload props, run, accounts, connect tokens.

mod common;

use common::*;
use serde_json::{Value, json};

/// Follows `end_cursor` until a page has none. Every non-empty page has one (as in the
/// real API), so the walk always ends with one empty page, counted in the pages.
fn walk_pages(emu: &Emu, tok: &str, first: &str, field: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut url = first.to_string();
    let mut pages = 0;
    loop {
        let (s, b) = emu.get(&url, tok);
        assert_eq!(s, 200, "{b}");
        pages += 1;
        let pi = &b["page_info"];
        assert_eq!(
            pi["count"].as_u64().unwrap() as usize,
            b["data"].as_array().unwrap().len()
        );
        out.extend(keys(&b["data"], field));
        assert_eq!(
            pi["end_cursor"].is_null(),
            b["data"].as_array().unwrap().is_empty(),
            "end_cursor null exactly on the empty page: {b}"
        );
        match pi["end_cursor"].as_str() {
            Some(c) => {
                let sep = if first.contains('?') { '&' } else { '?' };
                url = format!("{first}{sep}after={c}");
            }
            None => break,
        }
        assert!(pages < 50, "paging did not terminate");
    }
    (out, pages)
}

#[test]
fn apps_list_order_filters_and_paging() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let (s, b) = emu.get("/v1/connect/apps", &tok);
    assert_eq!(s, 200);
    let slugs = keys(&b["data"], "name_slug");
    // featured_weight desc, ties by slug asc.
    assert_eq!(
        slugs,
        [
            "slack",
            "gmail",
            "google_sheets",
            "airtable",
            "jira",
            "mailchimp",
            "sendgrid",
            "clearbit",
            "helper_functions",
            "zmailer"
        ]
    );
    assert_eq!(b["page_info"]["total_count"], 10);
    // The last (here the only) page still carries an end_cursor; the page after it is empty.
    let end = b["page_info"]["end_cursor"].as_str().unwrap().to_string();
    let (s, after) = emu.get(&format!("/v1/connect/apps?after={end}"), &tok);
    assert_eq!(s, 200);
    assert_eq!(
        after,
        json!({"data": [], "page_info": {"count": 0, "total_count": 10, "start_cursor": null, "end_cursor": null}})
    );
    assert!(b["data"][0].get("x_emulator").is_none());
    assert_eq!(b["data"][0]["custom_fields_json"], "[]");

    // q: name or slug, case-insensitive; never the description (sendgrid's mentions mail).
    let (_, b) = emu.get("/v1/connect/apps?q=MAIL", &tok);
    let mut found = keys(&b["data"], "name_slug");
    found.sort();
    assert_eq!(found, ["gmail", "mailchimp", "zmailer"]);
    assert_eq!(b["page_info"]["total_count"], 3);
    let (_, b) = emu.get("/v1/connect/apps?q=transactional", &tok);
    assert_eq!(
        b["page_info"]["total_count"], 0,
        "description is not searched"
    );
    let (_, b) = emu.get("/v1/connect/apps?q=Test", &tok);
    assert_eq!(
        b["page_info"]["total_count"], 0,
        "categories are not searched"
    );
    // Multi-word: only the whole string as one substring of the name or slug.
    let (_, b) = emu.get("/v1/connect/apps?q=google%20sheets", &tok);
    assert_eq!(keys(&b["data"], "name_slug"), ["google_sheets"]);
    let (_, b) = emu.get("/v1/connect/apps?q=google_sh", &tok);
    assert_eq!(keys(&b["data"], "name_slug"), ["google_sheets"]);
    for q in ["sheets%20google", "gmail%20slack", "google%20spreadsheets"] {
        let (_, b) = emu.get(&format!("/v1/connect/apps?q={q}"), &tok);
        assert_eq!(b["page_info"]["total_count"], 0, "{q}");
    }

    // Paging with limit 3: 4 pages of items, then the empty page after the last cursor.
    let (all, pages) = walk_pages(&emu, &tok, "/v1/connect/apps?limit=3", "name_slug");
    assert_eq!(all, slugs);
    assert_eq!(pages, 5);

    // before: the page preceding a cursor.
    let (_, p2) = emu.get(
        &format!(
            "/v1/connect/apps?limit=3&after={}",
            emu.get("/v1/connect/apps?limit=3", &tok).1["page_info"]["end_cursor"]
                .as_str()
                .unwrap()
        ),
        &tok,
    );
    let start = p2["page_info"]["start_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, back) = emu.get(&format!("/v1/connect/apps?limit=2&before={start}"), &tok);
    assert_eq!(keys(&back["data"], "name_slug"), ["gmail", "google_sheets"]);

    // Empty result: both cursors null.
    let (_, b) = emu.get("/v1/connect/apps?q=nothing-matches", &tok);
    assert_eq!(
        b["page_info"],
        json!({"count": 0, "total_count": 0, "start_cursor": null, "end_cursor": null})
    );

    // Sorting.
    let (_, b) = emu.get(
        "/v1/connect/apps?sort_key=name&sort_direction=asc&limit=3",
        &tok,
    );
    assert_eq!(keys(&b["data"], "name"), ["Airtable", "Clearbit", "Gmail"]);
    let (_, b) = emu.get(
        "/v1/connect/apps?sort_key=name_slug&sort_direction=desc&limit=2",
        &tok,
    );
    assert_eq!(keys(&b["data"], "name_slug"), ["zmailer", "slack"]);

    // has_* filters.
    let (_, b) = emu.get("/v1/connect/apps?has_triggers=true", &tok);
    let mut t = keys(&b["data"], "name_slug");
    t.sort();
    assert_eq!(t, ["gmail", "slack"]);
    let (_, b) = emu.get("/v1/connect/apps?has_components=false", &tok);
    assert_eq!(keys(&b["data"], "name_slug"), ["zmailer"]);
    let (_, b) = emu.get("/v1/connect/apps?has_actions=true", &tok);
    assert_eq!(b["page_info"]["total_count"], 9);

    // Bad parameters.
    for bad in [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "after=garbage",
        "before=Zm9vYmFy",
        "sort_key=popularity",
        "sort_direction=up",
        "has_actions=maybe",
    ] {
        let (s, b) = emu.get(&format!("/v1/connect/apps?{bad}"), &tok);
        assert_eq!(s, 400, "{bad}: {b}");
    }
}

#[test]
fn max_page_size_clamps_limit() {
    let emu = Emu::start(&["--max-page-size", "4"]);
    let tok = emu.token();
    let (_, b) = emu.get("/v1/connect/apps?limit=50", &tok);
    assert_eq!(b["page_info"]["count"], 4);
    assert_eq!(b["page_info"]["total_count"], 10);
    assert!(b["page_info"]["end_cursor"].is_string());
    let (all, pages) = walk_pages(&emu, &tok, "/v1/connect/apps?limit=50", "name_slug");
    assert_eq!((all.len(), pages), (10, 4));
    // Default limit (20) is clamped too.
    let (_, b) = emu.get(&emu.project("/components"), &tok);
    assert_eq!(b["page_info"]["count"], 4);
}

#[test]
fn app_retrieve_by_id_or_slug() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let (s, a) = emu.get("/v1/connect/apps/gmail", &tok);
    assert_eq!(s, 200);
    assert_eq!(a["data"]["id"], "app_gmail");
    assert!(a["data"].get("x_emulator").is_none());
    let (s, b) = emu.get("/v1/connect/apps/app_googlesheets", &tok);
    assert_eq!(s, 200);
    assert_eq!(b["data"]["name_slug"], "google_sheets");
    let (s, b) = emu.get("/v1/connect/apps/nope", &tok);
    assert_eq!(
        (s, b),
        (
            404,
            json!({"error": "app nope not found", "code": "not_found"})
        )
    );
}

#[test]
fn component_lists_filter_by_kind_app_and_key() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let (_, all) = emu.get(&emu.project("/components?limit=100"), &tok);
    assert_eq!(all["page_info"]["total_count"], 13);
    assert!(
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("x_emulator").is_none() && c["configurable_props"].is_array())
    );
    let (_, actions) = emu.get(&emu.project("/actions?limit=100"), &tok);
    assert_eq!(actions["page_info"]["total_count"], 11);
    let (_, triggers) = emu.get(&emu.project("/triggers"), &tok);
    let mut t = keys(&triggers["data"], "key");
    t.sort();
    assert_eq!(
        t,
        ["gmail-new-email-received", "slack-new-message-in-channels"]
    );
    let (_, ct) = emu.get(&emu.project("/components?component_type=trigger"), &tok);
    assert_eq!(ct["page_info"]["total_count"], 2);
    let (s, _) = emu.get(&emu.project("/components?component_type=source-ish"), &tok);
    assert_eq!(s, 400);

    // app by slug or id; membership by app prop.
    let (_, g) = emu.get(&emu.project("/actions?app=gmail"), &tok);
    assert_eq!(
        keys(&g["data"], "key"),
        ["gmail-search-emails", "gmail-send-email"]
    );
    let (_, g2) = emu.get(&emu.project("/actions?app=app_gmail"), &tok);
    assert_eq!(g["data"], g2["data"]);
    // Membership by key prefix when there is no app prop.
    let (_, h) = emu.get(&emu.project("/actions?app=helper_functions"), &tok);
    assert_eq!(
        keys(&h["data"], "key"),
        ["helper_functions-format-iso8601-datetime"]
    );
    let (_, none) = emu.get(&emu.project("/actions?app=unknown_app"), &tok);
    assert_eq!(none["page_info"]["total_count"], 0);

    // q matches the key only: "create issue" and "Creates an" miss, "create-issue" hits.
    let (_, miss) = emu.get(&emu.project("/actions?q=create%20issue"), &tok);
    assert_eq!(miss["page_info"]["total_count"], 0);
    let (_, miss) = emu.get(&emu.project("/actions?q=Creates"), &tok);
    assert_eq!(miss["page_info"]["total_count"], 0);
    let (_, hit) = emu.get(
        &emu.project("/actions?q=create-issue&registry=public"),
        &tok,
    );
    assert_eq!(keys(&hit["data"], "key"), ["jira-create-issue"]);
    let (_, sends) = emu.get(&emu.project("/actions?q=SEND"), &tok);
    assert_eq!(sends["page_info"]["total_count"], 3);

    // Paging over components.
    let (keys_paged, pages) = walk_pages(&emu, &tok, &emu.project("/actions?limit=4"), "key");
    assert_eq!((keys_paged.len(), pages), (11, 4));
    assert_eq!(keys_paged, keys(&actions["data"], "key"));
}

#[test]
fn component_retrieve_and_versions() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let (s, c) = emu.get(&emu.project("/actions/gmail-search-emails"), &tok);
    assert_eq!(s, 200);
    let d = &c["data"];
    assert_eq!(d["key"], "gmail-search-emails");
    assert_eq!(d["version"], "0.1.7");
    assert_eq!(d["annotations"]["readOnlyHint"], true);
    assert_eq!(d["configurable_props"][3]["remoteOptions"], true);
    assert!(d.get("x_emulator").is_none());
    assert_eq!(
        emu.get(
            &emu.project("/components/gmail-search-emails?version=0.1.7"),
            &tok
        )
        .0,
        200
    );
    let (s, b) = emu.get(
        &emu.project("/actions/gmail-search-emails?version=9.9.9"),
        &tok,
    );
    assert_eq!(
        (s, b),
        (
            404,
            json!({"error": "component gmail-search-emails not found at version 9.9.9", "code": "not_found"})
        )
    );
    let (s, b) = emu.get(&emu.project("/actions/nope-nothing"), &tok);
    assert_eq!(
        (s, b),
        (
            404,
            json!({"error": "component nope-nothing not found", "code": "not_found"})
        )
    );
    // Kind mismatch.
    assert_eq!(
        emu.get(&emu.project("/triggers/gmail-search-emails"), &tok)
            .0,
        404
    );
    assert_eq!(
        emu.get(&emu.project("/actions/gmail-new-email-received"), &tok)
            .0,
        404
    );
    assert_eq!(
        emu.get(&emu.project("/triggers/gmail-new-email-received"), &tok)
            .0,
        200
    );
}

/// The id of `user`'s `app` account in an accounts list answer.
fn account_id(accounts: &Value, user: &str, app: &str) -> String {
    accounts["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["external_id"] == user && x["app"]["name_slug"] == app)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn configure(emu: &Emu, tok: &str, body: Value) -> (u16, Value) {
    emu.post(&emu.project("/actions/configure"), tok, &body)
}

#[test]
fn configure_pages_remote_options_with_context() {
    let emu = Emu::start(&[
        "--account",
        "u1:slack",
        "--account",
        "u1:google_sheets",
        "--account",
        "u2:slack",
    ]);
    let tok = emu.token();
    let (_, a) = emu.get(&emu.project("/accounts?limit=100"), &tok);
    let id_of = |user: &str, app: &str| account_id(&a, user, app);
    let slack_u1 = json!({"authProvisionId": id_of("u1", "slack")});
    let base = json!({"id": "slack-send-message", "external_user_id": "u1", "prop_name": "conversation",
                      "configured_props": {"slack": slack_u1}});

    // slack `conversation` pages by a cursor in the context, like the real slack.app.mjs.
    let (s, p0) = configure(&emu, &tok, base.clone());
    assert_eq!(s, 200, "{p0}");
    assert_eq!(p0["options"].as_array().unwrap().len(), 10);
    assert_eq!(
        p0["options"][0],
        json!({"label": "#channel-00", "value": "C0000"})
    );
    assert_eq!(
        p0["context"]["types"],
        json!(["public_channel", "private_channel"])
    );
    assert!(!p0["context"]["cursor"].as_str().unwrap().is_empty());
    assert_eq!(p0["errors"], json!([]));
    assert_eq!(p0["observations"], json!([]));
    assert!(p0["stringOptions"].is_null());

    // Client loop: pass context back as prev_context until the cursor is empty.
    let mut all = keys(&p0["options"], "value");
    let mut ctx = p0["context"].clone();
    let mut calls = 1;
    while ctx["cursor"] != "" {
        let mut req = base.clone();
        req["page"] = json!(calls);
        req["prev_context"] = ctx.clone();
        let (_, p) = configure(&emu, &tok, req);
        all.extend(keys(&p["options"], "value"));
        ctx = p["context"].clone();
        calls += 1;
        assert!(calls < 10, "cursor paging did not end");
    }
    assert_eq!(all.len(), 25);
    assert_eq!(calls, 3);
    // The last context is not null: it carries an empty cursor...
    assert_eq!(
        ctx,
        json!({"types": ["public_channel", "private_channel"], "cursor": ""})
    );
    // ...and passing it back starts over at the first page (slack reads "" as "no cursor").
    let mut req = base.clone();
    req["page"] = json!(3);
    req["prev_context"] = ctx;
    let (_, again) = configure(&emu, &tok, req);
    assert_eq!(again["options"], p0["options"]);

    // The component ignores `page`: without a context, any page is the first one.
    let mut req = base.clone();
    req["page"] = json!(2);
    let (_, p2) = configure(&emu, &tok, req);
    assert_eq!(p2["options"], p0["options"]);
    // Explicit nulls for prev_context and query are accepted, like omitted ones.
    let mut req = base.clone();
    req["prev_context"] = Value::Null;
    req["query"] = Value::Null;
    let (s, n) = configure(&emu, &tok, req);
    assert_eq!((s, &n["options"]), (200, &p0["options"]));

    // A cursor slack never issued: the options method throws (200, errors as text).
    let mut req = base.clone();
    req["prev_context"] = json!({"cursor": "bm9wZQ=="});
    let (s, bad) = configure(&emu, &tok, req);
    assert_eq!(s, 200);
    assert_eq!(
        bad["errors"],
        json!(["Error: An API error occurred: invalid_cursor"])
    );
    assert!(bad.get("options").is_none() && bad.get("context").is_none());
    assert_eq!(bad["observations"][0]["k"], "error");

    // query filters by label.
    let mut req = base.clone();
    req["query"] = json!("CHANNEL-1");
    let (_, q) = configure(&emu, &tok, req);
    assert_eq!(q["options"].as_array().unwrap().len(), 10);
    assert_eq!(q["context"]["cursor"], "");

    // string options, page-based (page_size 2, no paging given): `page` selects, context null.
    let sheets = json!({"google_sheets": {"authProvisionId": id_of("u1", "google_sheets")}});
    let ws = |page: Option<u64>| {
        let mut req = json!({"id": "google_sheets-add-single-row", "external_user_id": "u1",
                             "prop_name": "worksheetId", "configured_props": sheets});
        if let Some(p) = page {
            req["page"] = json!(p);
        }
        emu.post(&emu.project("/components/configure"), &tok, &req)
            .1
    };
    let w = ws(None);
    assert_eq!(w["stringOptions"], json!(["Sheet1", "Sheet2"]));
    assert!(w["options"].is_null());
    assert!(w["context"].is_null());
    assert_eq!(ws(Some(1))["stringOptions"], json!(["Summary"]));
    let past = ws(Some(2));
    assert_eq!(past["stringOptions"], json!([]));
    assert!(past["context"].is_null());

    // No remote options on that prop.
    let (s, e) = configure(
        &emu,
        &tok,
        json!({"id": "slack-send-message", "external_user_id": "u1", "prop_name": "text"}),
    );
    assert_eq!(s, 200);
    assert_eq!(e["errors"], json!(["prop text has no remote options"]));
    assert!(e["options"].is_null());

    // Options load with the account: a missing, unknown, other user's or other app's
    // account is the options method failing (200, `errors` holds a JSON-encoded error).
    let sheets_u1 = id_of("u1", "google_sheets");
    for (acct, label) in [
        (None, "missing"),
        (
            Some(json!({"authProvisionId": "apn_doesnotexist"})),
            "apn_doesnotexist",
        ),
        (
            Some(json!({"authProvisionId": id_of("u2", "slack")})),
            "other user",
        ),
        (Some(json!({"authProvisionId": sheets_u1})), "other app"),
        (Some(json!("apn_x")), "not an object"),
    ] {
        let mut req = base.clone();
        match acct {
            Some(a) => req["configured_props"]["slack"] = a,
            None => req["configured_props"] = json!({}),
        }
        let (s, r) = configure(&emu, &tok, req);
        assert_eq!(s, 200, "{label}: {r}");
        let errors = r["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{label}: {r}");
        let err: Value = serde_json::from_str(errors[0].as_str().unwrap()).unwrap();
        assert_eq!(err["name"], "Error", "{label}");
        assert!(err["message"].is_string(), "{label}");
        assert!(r.get("options").is_none(), "{label}: {r}");
        assert_eq!(r["observations"][0]["err"]["message"], err["message"]);
    }
    let (_, dead) = emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "u1", "app": "slack", "dead": true}),
    );
    let mut req = base.clone();
    req["configured_props"]["slack"] = json!({"authProvisionId": dead["data"]["id"]});
    let (_, r) = configure(&emu, &tok, req);
    assert!(r["errors"][0].as_str().unwrap().contains("dead"), "{r}");

    // Request errors.
    let (s, _) = configure(
        &emu,
        &tok,
        json!({"id": "slack-send-message", "prop_name": "conversation"}),
    );
    assert_eq!(s, 400);
    let (s, _) = configure(
        &emu,
        &tok,
        json!({"id": "slack-send-message", "external_user_id": "u1"}),
    );
    assert_eq!(s, 400);
    let (s, b) = configure(
        &emu,
        &tok,
        json!({"id": "slack-send-message", "external_user_id": "u1", "prop_name": "channel_name"}),
    );
    assert_eq!(s, 400);
    assert_eq!(b["code"], "prop_not_found");
    assert_eq!(b["details"]["prop_name"], "channel_name");
    let (s, b) = configure(
        &emu,
        &tok,
        json!({"id": "nope", "external_user_id": "u1", "prop_name": "x"}),
    );
    assert_eq!(
        (s, b),
        (
            404,
            json!({"error": "component nope not found", "code": "not_found"})
        )
    );
}

#[test]
fn reload_props_then_run_with_dynamic_props_id() {
    let emu = Emu::start(&["--account", "u1:google_sheets"]);
    let tok = emu.token();
    let (_, accts) = emu.get(&emu.project("/accounts?external_user_id=u1"), &tok);
    let apn = accts["data"][0]["id"].as_str().unwrap().to_string();
    let props_url = emu.project("/actions/props");

    // sheetId (reloadProps) missing: errors name it, only static props come back.
    let (s, r) = emu.post(
        &props_url,
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": "u1", "configured_props": {}}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 1);
    assert!(r["errors"][0].as_str().unwrap().contains("sheetId"));
    assert_eq!(
        keys(&r["dynamicProps"]["configurableProps"], "name"),
        ["google_sheets", "sheetId", "worksheetId"]
    );

    let (_, r) = emu.post(
        &props_url,
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": "u1",
                "configured_props": {"google_sheets": {"authProvisionId": apn}, "sheetId": "s1"}}),
    );
    assert_eq!(r["errors"], json!([]));
    assert_eq!(r["observations"], json!([]));
    let dyp = r["dynamicProps"]["id"].as_str().unwrap().to_string();
    assert!(dyp.starts_with("dyp_"));
    assert_eq!(
        keys(&r["dynamicProps"]["configurableProps"], "name"),
        [
            "google_sheets",
            "sheetId",
            "worksheetId",
            "myColumnData",
            "hasHeaders"
        ]
    );

    // Configure sees only the static props without the dyp id, the reloaded ones with it.
    let cfg = |dyp_id: Option<&str>, user: &str| {
        let mut req = json!({"id": "google_sheets-add-single-row", "external_user_id": user,
                             "prop_name": "myColumnData",
                             "configured_props": {"google_sheets": {"authProvisionId": apn}}});
        if let Some(d) = dyp_id {
            req["dynamic_props_id"] = json!(d);
        }
        emu.post(&emu.project("/actions/configure"), &tok, &req)
    };
    let (s, b) = cfg(None, "u1");
    assert_eq!(s, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("myColumnData"), "{b}");
    let (s, b) = cfg(Some(&dyp), "u1");
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["errors"],
        json!(["prop myColumnData has no remote options"])
    );
    // A dyp id belongs to the user whose reload made it.
    let (s, b) = cfg(Some(&dyp), "u2");
    assert_eq!(s, 400, "{b}");
    let (s, _) = cfg(Some("dyp_unknown"), "u1");
    assert_eq!(s, 400);

    let run_url = emu.project("/actions/run");
    let mut cp = json!({"google_sheets": {"authProvisionId": apn}, "sheetId": "s1", "worksheetId": "Sheet1"});
    // With the dyp id, the dynamic required prop is enforced.
    let (s, out) = emu.post(
        &run_url,
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": "u1", "configured_props": cp, "dynamic_props_id": dyp}),
    );
    assert_eq!(s, 200);
    assert_eq!(out["os"][0]["err"]["name"], "ConfigurationError");
    assert!(
        out["os"][0]["err"]["message"]
            .as_str()
            .unwrap()
            .contains("myColumnData")
    );

    cp["myColumnData"] = json!(["a", "b"]);
    let (_, out) = emu.post(
        &run_url,
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": "u1", "configured_props": cp, "dynamic_props_id": dyp}),
    );
    assert_eq!(out["os"], json!([]), "{out}");
    assert_eq!(
        out["ret"]["configured_props"]["myColumnData"],
        json!(["a", "b"])
    );

    let (s, b) = emu.post(
        &run_url,
        &tok,
        &json!({"id": "google_sheets-add-single-row", "external_user_id": "u1", "configured_props": cp, "dynamic_props_id": "dyp_unknown"}),
    );
    assert_eq!(s, 400, "{b}");
    // A dyp id from another component is refused as well.
    let (s, _) = emu.post(
        &run_url,
        &tok,
        &json!({"id": "helper_functions-format-iso8601-datetime", "external_user_id": "u1", "configured_props": {"date": "x"}, "dynamic_props_id": dyp}),
    );
    assert_eq!(s, 400);
    let runs = emu.runs();
    assert_eq!(runs.last().unwrap()["dynamic_props_id"], dyp);
}

#[test]
fn run_semantics() {
    let emu = Emu::start(&[
        "--account",
        "u1:gmail:Work Gmail",
        "--account",
        "u1:airtable",
        "--account",
        "u2:gmail",
        "--account",
        "u1:jira",
        "--account",
        "u1:clearbit",
    ]);
    let tok = emu.token();
    let (_, a) = emu.get(&emu.project("/accounts?limit=100"), &tok);
    let id_of = |user: &str, app: &str| account_id(&a, user, app);
    let gmail_u1 = id_of("u1", "gmail");
    let gmail_u2 = id_of("u2", "gmail");
    let airtable_u1 = id_of("u1", "airtable");
    let run = |body: Value| emu.post(&emu.project("/actions/run"), &tok, &body);

    // Fixture ret with placeholders + summary.
    let (s, out) = run(
        json!({"id": "gmail-search-emails", "external_user_id": "u1",
        "configured_props": {"gmail": {"authProvisionId": gmail_u1}, "query": "from:bob"}}),
    );
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["ret"]["count"], 3);
    assert_eq!(out["ret"]["q"], "from:bob");
    assert_eq!(out["exports"]["$summary"], "Found 3 emails for from:bob");
    assert_eq!(out["os"], json!([]));
    assert!(out["stash_id"].is_null());

    // Whole-string placeholder keeps the JSON type; partial splices text.
    let (_, out) = run(
        json!({"id": "airtable-create-record", "external_user_id": "u1",
        "configured_props": {"airtable": {"authProvisionId": airtable_u1}, "base_id": "appX", "table_name": "T", "fields": {"Name": "Ada", "n": 1}}}),
    );
    assert_eq!(out["ret"]["fields"], json!({"Name": "Ada", "n": 1}));
    assert_eq!(out["ret"]["where"], "appX/T");
    assert_eq!(out["exports"]["$summary"], "Ran Create Record");

    // Echo without auth values.
    let (_, out) = run(json!({"id": "gmail-send-email", "external_user_id": "u1",
        "configured_props": {"gmail": {"authProvisionId": gmail_u1}, "to": "a@b.c", "body": "hi"}}));
    assert_eq!(
        out["ret"],
        json!({"configured_props": {"to": "a@b.c", "body": "hi"}})
    );
    assert!(!out.to_string().contains(&gmail_u1));

    // No app prop: runs without any account.
    let (_, out) = run(
        json!({"id": "helper_functions-format-iso8601-datetime", "external_user_id": "anyone",
        "configured_props": {"date": "2024-01-01"}}),
    );
    assert_eq!(
        out["ret"],
        json!({"configured_props": {"date": "2024-01-01"}})
    );

    let os_err = |out: &Value| -> (String, String) {
        assert!(out["ret"].is_null(), "{out}");
        let o = &out["os"][0];
        assert_eq!(o["k"], "error");
        assert!(o["ts"].is_u64());
        assert!(o["err"]["stack"].is_string());
        (
            o["err"]["name"].as_str().unwrap().to_string(),
            o["err"]["message"].as_str().unwrap().to_string(),
        )
    };

    // Required prop missing.
    let (s, out) = run(
        json!({"id": "gmail-search-emails", "external_user_id": "u1",
        "configured_props": {"gmail": {"authProvisionId": gmail_u1}}}),
    );
    assert_eq!(s, 200);
    let (name, msg) = os_err(&out);
    assert_eq!(name, "ConfigurationError");
    assert!(
        msg.contains("query") && !msg.contains("maxResults"),
        "{msg}"
    );

    // App prop missing.
    let (s, out) = run(
        json!({"id": "gmail-search-emails", "external_user_id": "u1", "configured_props": {"query": "x"}}),
    );
    assert_eq!(s, 200);
    assert_eq!(os_err(&out).0, "AccountError");

    // Fail marker, anywhere in the values.
    let (_, out) = run(
        json!({"id": "gmail-search-emails", "external_user_id": "u1",
        "configured_props": {"gmail": {"authProvisionId": gmail_u1}, "query": "__emulator_fail__"}}),
    );
    assert_eq!(
        os_err(&out),
        ("Error".to_string(), "Emulated failure".to_string())
    );
    let (_, out) = run(
        json!({"id": "helper_functions-format-iso8601-datetime", "external_user_id": "u1",
        "configured_props": {"date": ["ok", "__emulator_fail__"]}}),
    );
    assert_eq!(os_err(&out).0, "Error");

    // Fixture error.
    let jira = id_of("u1", "jira");
    let (_, out) = run(json!({"id": "jira-create-issue", "external_user_id": "u1",
        "configured_props": {"jira": {"authProvisionId": jira}, "summary": "s"}}));
    assert_eq!(
        os_err(&out),
        (
            "JiraApiError".to_string(),
            "Project XYZ does not exist".to_string()
        )
    );

    // Account checks: another user's account, wrong app, unknown id, bad shape.
    for (acct, label) in [
        (json!({"authProvisionId": gmail_u2}), "other user"),
        (json!({"authProvisionId": airtable_u1}), "wrong app"),
        (json!({"authProvisionId": "apn_doesnotexist"}), "unknown"),
        (json!("apn_x"), "not an object"),
    ] {
        let (s, b) = run(
            json!({"id": "gmail-search-emails", "external_user_id": "u1",
            "configured_props": {"gmail": acct, "query": "x"}}),
        );
        assert_eq!(s, 404, "{label}: {b}");
        assert_eq!(b["code"], "not_found", "{label}");
        let text = b["error"].as_str().unwrap();
        assert!(text.starts_with("account "), "{label}: {text}");
        assert!(text.contains("not found"), "{label}: {text}");
    }

    // Unhealthy and dead accounts.
    for (flags, label) in [
        (json!({"healthy": false}), "unhealthy"),
        (json!({"dead": true}), "dead"),
    ] {
        let mut body = json!({"external_user_id": "u1", "app": "gmail"});
        body.as_object_mut()
            .unwrap()
            .extend(flags.as_object().unwrap().clone());
        let (s, acct) = emu.control_post("/__emulator/accounts", &body);
        assert_eq!(s, 201);
        let (_, out) = run(
            json!({"id": "gmail-search-emails", "external_user_id": "u1",
            "configured_props": {"gmail": {"authProvisionId": acct["data"]["id"]}, "query": "x"}}),
        );
        let (name, msg) = os_err(&out);
        assert_eq!(name, "AccountError", "{label}");
        assert!(msg.contains(label), "{msg}");
    }

    // Request errors.
    let (s, _) = run(json!({"external_user_id": "u1"}));
    assert_eq!(s, 400);
    let (s, _) = run(json!({"id": "gmail-search-emails"}));
    assert_eq!(s, 400);
    // A trigger's key: there is no such action, a 400 (at any version).
    let (s, b) = run(json!({"id": "gmail-new-email-received", "external_user_id": "u1"}));
    assert_eq!(s, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("trigger"), "{b}");
    let (s, _) = run(
        json!({"id": "gmail-new-email-received", "external_user_id": "u1", "version": "9.9.9"}),
    );
    assert_eq!(s, 400);
    let (s, _) =
        run(json!({"id": "gmail-search-emails", "external_user_id": "u1", "version": "0.0.0"}));
    assert_eq!(s, 404);

    // Every handled run is journaled, with props as received.
    let runs = emu.runs();
    let first = &runs[0];
    assert_eq!(first["seq"], 1);
    assert_eq!(first["id"], "gmail-search-emails");
    assert_eq!(first["external_user_id"], "u1");
    assert_eq!(first["outcome"], "ok");
    assert!(first["error"].is_null());
    assert_eq!(
        first["configured_props"]["gmail"],
        json!({"authProvisionId": gmail_u1})
    );
    assert!(first["ts_ms"].is_u64());
    let last = runs.last().unwrap();
    assert_eq!(last["outcome"], "error");
    assert_eq!(last["version"], "0.0.0");
    assert!(runs.iter().any(|r| {
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("Emulated failure"))
    }));
    assert_eq!(runs.len(), 20);
}

#[test]
fn accounts_list_filters_credentials_and_paging() {
    let emu = Emu::start(&[
        "--account",
        "u1:gmail:Work Gmail",
        "--account",
        "u1:slack",
        "--account",
        "u2:gmail",
        "--account",
        "u3:airtable",
    ]);
    let tok = emu.token();
    let url = emu.project("/accounts");
    let (s, all) = emu.get(&url, &tok);
    assert_eq!(s, 200);
    assert_eq!(all["page_info"]["total_count"], 4);
    let a0 = &all["data"][0];
    assert!(a0["id"].as_str().unwrap().starts_with("apn_"));
    assert_eq!(a0["name"], "Work Gmail");
    assert_eq!(a0["external_id"], "u1");
    assert_eq!(a0["healthy"], true);
    assert_eq!(a0["dead"], false);
    assert_eq!(a0["app"]["name_slug"], "gmail");
    assert!(a0["app"].get("x_emulator").is_none());
    assert!(a0["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(a0["updated_at"].as_str().unwrap().contains('T'));
    assert!(a0.get("credentials").is_none());

    let (_, u1) = emu.get(&format!("{url}?external_user_id=u1"), &tok);
    assert_eq!(u1["page_info"]["total_count"], 2);
    let (_, g) = emu.get(&format!("{url}?app=app_gmail"), &tok);
    assert_eq!(g["page_info"]["total_count"], 2);
    let (_, g1) = emu.get(&format!("{url}?app=gmail&external_user_id=u1"), &tok);
    assert_eq!(g1["page_info"]["total_count"], 1);

    let (_, c) = emu.get(
        &format!("{url}?external_user_id=u1&include_credentials=true"),
        &tok,
    );
    assert!(c["data"][0]["credentials"]["oauth_access_token"].is_string());
    let (_, c) = emu.get(
        &format!("{url}?app=airtable&include_credentials=true"),
        &tok,
    );
    assert!(c["data"][0]["credentials"]["api_key"].is_string());
    assert_eq!(
        emu.get(&format!("{url}?include_credentials=yes"), &tok).0,
        400
    );

    let (got, pages) = walk_pages(&emu, &tok, &format!("{url}?limit=3"), "id");
    assert_eq!((got.len(), pages), (4, 3));
    assert_eq!(got, keys(&all["data"], "id"));

    // Control API: add, explicit id, conflict, delete all, reset restores seeds.
    let (s, added) = emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "u9", "app": "slack", "name": "Extra", "id": "apn_fixed1"}),
    );
    assert_eq!(s, 201, "{added}");
    assert_eq!(added["data"]["id"], "apn_fixed1");
    assert_eq!(added["data"]["app"]["name_slug"], "slack");
    let (s, _) = emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "u9", "app": "slack", "id": "apn_fixed1"}),
    );
    assert_eq!(s, 409);
    let (s, _) = emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "u9", "app": "nope"}),
    );
    assert_eq!(s, 404);
    let (s, _) = emu.control_post(
        "/__emulator/accounts",
        &json!({"external_user_id": "u9", "app": "slack", "id": "bad"}),
    );
    assert_eq!(s, 400);
    let (s, _) = emu.control_post("/__emulator/accounts", &json!({"app": "slack"}));
    assert_eq!(s, 400);
    assert_eq!(emu.get(&url, &tok).1["page_info"]["total_count"], 5);
    // Many at once: one account per user `{external_user_id}-{i}`, ids unique.
    for bad in [json!(0), json!(200_001)] {
        let body = json!({"external_user_id": "bulk", "app": "slack", "count": bad});
        assert_eq!(emu.control_post("/__emulator/accounts", &body).0, 400);
    }
    let body = json!({"external_user_id": "bulk", "app": "slack", "count": 3, "id": "apn_x1"});
    assert_eq!(emu.control_post("/__emulator/accounts", &body).0, 400);
    let body = json!({"external_user_id": "bulk", "app": "slack", "count": 3});
    let (s, made) = emu.control_post("/__emulator/accounts", &body);
    assert_eq!((s, made), (201, json!({"created": 3})));
    let (_, bulk) = emu.get(&format!("{url}?external_user_id=bulk-2"), &tok);
    assert_eq!(bulk["data"][0]["external_id"], "bulk-2");
    let (_, every) = emu.get(&format!("{url}?limit=100"), &tok);
    assert_eq!(every["page_info"]["total_count"], 8);
    let ids: std::collections::HashSet<_> = keys(&every["data"], "id").into_iter().collect();
    assert_eq!(ids.len(), 8);
    emu.control_post("/__emulator/reset", &json!({}));
    emu.control_delete("/__emulator/accounts");
    assert_eq!(emu.get(&url, &tok).1["page_info"]["total_count"], 0);
    emu.control_post("/__emulator/reset", &json!({}));
    let (_, again) = emu.get(&url, &tok);
    assert_eq!(
        again["data"], all["data"],
        "reset restores the exact seeded accounts"
    );
}

#[test]
fn connect_tokens() {
    let emu = Emu::start(&[]);
    let tok = emu.token();
    let url = emu.project("/tokens");
    let (s, t) = emu.post(&url, &tok, &json!({"external_user_id": "u1"}));
    assert_eq!(s, 200, "{t}");
    let ctok = t["token"].as_str().unwrap();
    assert!(ctok.starts_with("ctok_"));
    assert_eq!(ctok.len(), 5 + 32);
    assert!(ctok[5..].chars().all(|c| c.is_ascii_hexdigit()));
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        t["connect_link_url"],
        format!("https://pipedream.com/_static/connect.html?token={ctok}&connectLink=true")
    );

    let (_, t) = emu.post(
        &url,
        &tok,
        &json!({"external_user_id": "u1", "app_id": "google_sheets", "allowed_origins": ["http://localhost"],
                "success_redirect_uri": "https://x/ok", "error_redirect_uri": "https://x/err",
                "webhook_uri": "https://x/hook", "expires_in": 600, "scope": "connect:*"}),
    );
    // Never `&app=`, even with app_id: the caller appends it (per the Connect Link docs).
    let ctok = t["token"].as_str().unwrap();
    assert_eq!(
        t["connect_link_url"],
        format!("https://pipedream.com/_static/connect.html?token={ctok}&connectLink=true")
    );

    assert_eq!(emu.post(&url, &tok, &json!({})).0, 400);
    assert_eq!(
        emu.post(&url, &tok, &json!({"external_user_id": ""})).0,
        400
    );
    assert_eq!(
        emu.post(&url, &tok, &json!({"external_user_id": "x".repeat(251)}))
            .0,
        400
    );
    assert_eq!(
        emu.post(&url, &tok, &json!({"external_user_id": "x".repeat(250)}))
            .0,
        200
    );
    assert_eq!(
        emu.post(
            &url,
            &tok,
            &json!({"external_user_id": "u", "allowed_origins": "nope"})
        )
        .0,
        400
    );
    assert_eq!(
        emu.post(
            &url,
            &tok,
            &json!({"external_user_id": "u", "expires_in": 99999})
        )
        .0,
        400
    );
}
