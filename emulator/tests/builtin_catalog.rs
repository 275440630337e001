//! The built-in (embedded) fixture against the contract's "Required content"
//! list. Problems are collected and reported together so one run shows
//! everything the fixture is missing.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

struct Check(Vec<String>);

impl Check {
    fn that(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.0.push(what.into());
        }
    }
}

/// Every item, following `end_cursor` to the empty page after the last one.
fn all_pages(emu: &Emu, tok: &str, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = path.to_string();
    for _ in 0..1000 {
        let (s, b) = emu.get(&url, tok);
        assert_eq!(s, 200, "{url}: {b}");
        out.extend(b["data"].as_array().cloned().unwrap_or_default());
        match b["page_info"]["end_cursor"].as_str() {
            Some(c) => url = format!("{path}&after={c}"),
            None => return out,
        }
    }
    panic!("paging did not end for {path}");
}

fn prop<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["configurable_props"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or(&Value::Null)
}

fn is_semver(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    })
}

#[test]
fn builtin_catalog_has_required_content() {
    let emu = Emu::start_builtin(&[
        "--account",
        "u1:gmail",
        "--account",
        "u1:airtable",
        "--account",
        "u1:clearbit",
        "--account",
        "u1:slack",
        "--account",
        "u1:google_sheets",
    ]);
    let tok = emu.token();
    let mut ck = Check(Vec::new());

    // ---- apps
    let apps = all_pages(&emu, &tok, "/v1/connect/apps?limit=100");
    ck.that(apps.len() >= 30, format!(">= 30 apps (got {})", apps.len()));
    let slugs: BTreeSet<String> = apps
        .iter()
        .filter_map(|a| a["name_slug"].as_str().map(str::to_string))
        .collect();
    for s in [
        "gmail",
        "slack",
        "airtable_oauth",
        "airtable",
        "google_sheets",
        "github",
        "notion",
        "hubspot",
        "stripe",
        "clearbit",
        "openai",
        "jira",
        "trello",
        "discord",
        "google_calendar",
        "microsoft_outlook",
        "sendgrid",
        "mailchimp",
        "helper_functions",
    ] {
        ck.that(slugs.contains(s), format!("app {s} present"));
    }
    let (_, mail) = emu.get("/v1/connect/apps?q=mail", &tok);
    ck.that(
        mail["page_info"]["total_count"].as_u64().unwrap_or(0) >= 6,
        format!(
            ">= 6 apps matching mail (got {})",
            mail["page_info"]["total_count"]
        ),
    );
    for a in &apps {
        let slug = a["name_slug"].as_str().unwrap_or("?");
        let id = a["id"].as_str().unwrap_or("");
        ck.that(
            id.strip_prefix("app_")
                .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric())),
            format!("{slug}: id app_+alnum ({id})"),
        );
        ck.that(a["name"].is_string(), format!("{slug}: name"));
        ck.that(
            matches!(a["auth_type"].as_str(), Some("oauth" | "keys" | "none")),
            format!("{slug}: auth_type"),
        );
        ck.that(a["description"].is_string(), format!("{slug}: description"));
        ck.that(
            a["img_src"].as_str().is_some_and(|s| {
                s.starts_with("https://assets.pipedream.net/s.v0/app_") && s.ends_with("/logo/orig")
            }),
            format!("{slug}: img_src"),
        );
        ck.that(
            a["custom_fields_json"]
                .as_str()
                .is_some_and(|s| serde_json::from_str::<Value>(s).is_ok()),
            format!("{slug}: custom_fields_json is a JSON string"),
        );
        ck.that(a["categories"].is_array(), format!("{slug}: categories"));
        ck.that(
            a["featured_weight"].is_number(),
            format!("{slug}: featured_weight"),
        );
        ck.that(
            a["scope_profiles"].is_array(),
            format!("{slug}: scope_profiles"),
        );
        ck.that(
            a.get("x_emulator").is_none(),
            format!("{slug}: x_emulator leaked"),
        );
    }
    let (_, no_actions) = emu.get("/v1/connect/apps?has_actions=false", &tok);
    ck.that(
        no_actions["page_info"]["total_count"] == 0,
        format!(
            "every app has an action; without: {:?}",
            keys(&no_actions["data"], "name_slug")
        ),
    );

    // ---- components
    let comps = all_pages(&emu, &tok, &emu.project("/components?limit=100"));
    let by_key = |k: &str| {
        comps
            .iter()
            .find(|c| c["key"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    for c in &comps {
        let k = c["key"].as_str().unwrap_or("?");
        ck.that(is_semver(&c["version"]), format!("{k}: semver version"));
        ck.that(
            c.get("x_emulator").is_none(),
            format!("{k}: x_emulator leaked"),
        );
    }
    let github = all_pages(&emu, &tok, &emu.project("/actions?app=github&limit=100"));
    ck.that(
        github.len() >= 30,
        format!("github >= 30 actions (got {})", github.len()),
    );
    for k in [
        "gmail-send-email",
        "gmail-find-email",
        "gmail-search-emails",
    ] {
        ck.that(!by_key(k).is_null(), format!("{k} present"));
    }

    let gse = by_key("gmail-search-emails");
    ck.that(
        prop(&gse, "gmail")["type"] == "app" && prop(&gse, "gmail")["app"] == "gmail",
        "gmail-search-emails: gmail app prop",
    );
    let q = prop(&gse, "query");
    ck.that(
        q["type"] == "string" && q["optional"] != true && q.get("default").is_none(),
        "gmail-search-emails: query required string",
    );
    let mr = prop(&gse, "maxResults");
    ck.that(
        mr["type"] == "integer"
            && mr["min"] == 1
            && mr["max"] == 500
            && mr["default"] == 20
            && mr["optional"] == true,
        format!("gmail-search-emails: maxResults {mr}"),
    );
    let li = prop(&gse, "labelIds");
    ck.that(
        li["type"] == "string[]" && li["optional"] == true && li["remoteOptions"] == true,
        "gmail-search-emails: labelIds",
    );

    let accounts = emu
        .get(
            &emu.project("/accounts?external_user_id=u1&limit=100"),
            &tok,
        )
        .1;
    let acct = |app: &str| -> Value {
        accounts["data"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["app"]["name_slug"] == app))
            .map(|x| json!({"authProvisionId": x["id"]}))
            .unwrap_or(Value::Null)
    };
    let run = |body: Value| emu.post(&emu.project("/actions/run"), &tok, &body);
    let (s, out) = run(
        json!({"id": "gmail-search-emails", "external_user_id": "u1",
        "configured_props": {"gmail": acct("gmail"), "query": "is:unread"}}),
    );
    let emails = out["ret"]["emails"].as_array().cloned().unwrap_or_default();
    ck.that(
        s == 200
            && out["ret"]["count"] == 3
            && emails.len() == 3
            && emails.iter().all(|e| {
                ["id", "threadId", "subject", "from", "snippet"]
                    .iter()
                    .all(|f| e.get(*f).is_some())
            }),
        format!("gmail-search-emails ret: {out}"),
    );

    let acr = by_key("airtable-create-record");
    ck.that(
        prop(&acr, "airtable")["type"] == "app"
            && prop(&acr, "base_id")["type"] == "string"
            && prop(&acr, "table_name")["type"] == "string"
            && prop(&acr, "fields")["type"] == "object"
            && prop(&acr, "typecast")["type"] == "boolean"
            && prop(&acr, "typecast")["optional"] == true
            && prop(&acr, "typecast")["default"] == false,
        "airtable-create-record props",
    );
    let fields = json!({"Name": "Ada", "Score": 3});
    let (_, out) = run(
        json!({"id": "airtable-create-record", "external_user_id": "u1",
        "configured_props": {"airtable": acct("airtable"), "base_id": "appB", "table_name": "T", "fields": fields}}),
    );
    ck.that(
        out["ret"]["id"]
            .as_str()
            .is_some_and(|s| s.starts_with("rec"))
            && out["ret"]["createdTime"].is_string()
            && out["ret"]["fields"] == fields,
        format!("airtable-create-record ret: {out}"),
    );

    let aos = by_key("airtable_oauth-create-single-record");
    ck.that(
        prop(&aos, "baseId")["type"] == "$.airtable.baseId"
            && prop(&aos, "baseId")["appProp"] == "airtable_oauth",
        "airtable_oauth-create-single-record baseId",
    );
    ck.that(
        prop(&aos, "tableId")["type"] == "$.airtable.tableId"
            && prop(&aos, "tableId")["baseIdProp"] == "baseId",
        "airtable_oauth-create-single-record tableId",
    );
    ck.that(
        !by_key("airtable_oauth-list-records").is_null(),
        "airtable_oauth-list-records present",
    );
    ck.that(
        by_key("airtable_oauth-delete-record")["annotations"]["destructiveHint"] == true,
        "airtable_oauth-delete-record destructiveHint",
    );

    let cb = by_key("clearbit-enrich-person");
    ck.that(
        prop(&cb, "clearbit")["type"] == "app" && prop(&cb, "email")["type"] == "string",
        "clearbit-enrich-person props",
    );
    let (_, out) = run(
        json!({"id": "clearbit-enrich-person", "external_user_id": "u1",
        "configured_props": {"clearbit": acct("clearbit"), "email": "ada@example.com"}}),
    );
    let r = &out["ret"];
    ck.that(
        r["person"]["email"] == "ada@example.com"
            && r["person"]["name"].is_string()
            && r["company"]["name"].is_string()
            && r["company"]["category"]["industry"].is_string(),
        format!("clearbit-enrich-person ret: {out}"),
    );

    let ssm = by_key("slack-send-message");
    ck.that(
        prop(&ssm, "conversation")["remoteOptions"] == true,
        "slack-send-message conversation remoteOptions",
    );
    ck.that(
        prop(&ssm, "text")["type"] == "string",
        "slack-send-message text",
    );
    ck.that(
        prop(&ssm, "as_user")["type"] == "boolean" && prop(&ssm, "as_user")["optional"] == true,
        "slack-send-message as_user",
    );
    let mut channels = 0;
    let mut pages = 0;
    let mut ctx = Value::Null;
    loop {
        let (s, p) = emu.post(
            &emu.project("/actions/configure"),
            &tok,
            &json!({
            "id": "slack-send-message", "external_user_id": "u1", "prop_name": "conversation",
            "configured_props": {"slack": acct("slack")}, "page": pages, "prev_context": ctx}),
        );
        if s != 200 {
            ck.that(false, format!("slack configure: {p}"));
            break;
        }
        pages += 1;
        let n = p["options"].as_array().map_or(0, Vec::len);
        ck.that(n <= 10, "slack channel page <= 10");
        channels += n;
        ctx = p["context"].clone();
        // slack pages by cursor; the last page's context has an empty one.
        if ctx.is_null() || ctx["cursor"] == "" || pages > 10 {
            break;
        }
    }
    ck.that(
        channels == 25 && pages == 3,
        format!("slack channels 25 over 3 pages (got {channels} over {pages})"),
    );
    for k in ["slack-list-channels", "slack-create-channel"] {
        ck.that(!by_key(k).is_null(), format!("{k} present"));
    }

    let gs = by_key("google_sheets-add-single-row");
    ck.that(
        prop(&gs, "sheetId")["remoteOptions"] == true
            && prop(&gs, "sheetId")["reloadProps"] == true,
        "google_sheets sheetId",
    );
    ck.that(
        prop(&gs, "worksheetId")["remoteOptions"] == true,
        "google_sheets worksheetId",
    );
    let (_, w) = emu.post(
        &emu.project("/actions/configure"),
        &tok,
        &json!({
        "id": "google_sheets-add-single-row", "external_user_id": "u1", "prop_name": "worksheetId",
        "configured_props": {"google_sheets": acct("google_sheets"), "sheetId": "x"}}),
    );
    ck.that(
        w["stringOptions"].as_array().is_some_and(|a| !a.is_empty()),
        format!("worksheetId stringOptions: {w}"),
    );
    let (_, r) = emu.post(
        &emu.project("/actions/props"),
        &tok,
        &json!({
        "id": "google_sheets-add-single-row", "external_user_id": "u1",
        "configured_props": {"google_sheets": acct("google_sheets"), "sheetId": "x"}}),
    );
    let dynp = &r["dynamicProps"]["configurableProps"];
    let find = |n: &str| {
        dynp.as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == n))
            .cloned()
            .unwrap_or(Value::Null)
    };
    ck.that(
        find("myColumnData")["type"] == "string[]" && find("hasHeaders")["type"] == "boolean",
        format!("google_sheets dynamic props: {r}"),
    );

    ck.that(
        by_key("jira-create-issue")["description"]
            .as_str()
            .is_some_and(|d| d.to_lowercase().contains("issue")),
        "jira-create-issue description mentions issue",
    );
    ck.that(
        !by_key("jira-search-issues").is_null(),
        "jira-search-issues present",
    );
    ck.that(
        !by_key("stripe-create-customer").is_null(),
        "stripe-create-customer present",
    );
    let spi = by_key("stripe-create-payment-intent");
    ck.that(
        prop(&spi, "amount")["type"] == "integer" && prop(&spi, "amount")["min"] == 50,
        "stripe amount min 50",
    );
    ck.that(
        prop(&spi, "currency")["options"] == json!(["usd", "eur", "gbp"]),
        "stripe currency bare options",
    );
    let oc = by_key("openai-chat");
    ck.that(
        prop(&oc, "model")["options"].as_array().is_some_and(|o| {
            !o.is_empty()
                && o.iter()
                    .all(|x| x["label"].is_string() && x.get("value").is_some())
        }),
        "openai-chat model {label,value} options",
    );
    ck.that(
        prop(&oc, "temperature")["type"] == "string",
        "openai-chat temperature string",
    );
    ck.that(
        matches!(
            prop(&oc, "messages")["type"].as_str(),
            Some("any" | "string[]")
        ),
        "openai-chat messages",
    );
    let hf = by_key("helper_functions-format-iso8601-datetime");
    ck.that(
        !hf.is_null()
            && hf["configurable_props"]
                .as_array()
                .is_some_and(|ps| ps.iter().all(|p| p["type"] != "app")),
        "helper_functions-format-iso8601-datetime without app prop",
    );

    // ---- prop coverage across actions
    let action_props: Vec<&Value> = comps
        .iter()
        .filter(|c| c["component_type"] != "trigger")
        .flat_map(|c| c["configurable_props"].as_array().into_iter().flatten())
        .collect();
    let any_prop = |f: &dyn Fn(&Value) -> bool| action_props.iter().any(|p| f(p));
    for t in [
        "string",
        "string[]",
        "integer[]",
        "boolean",
        "object",
        "any",
        "app",
    ] {
        ck.that(
            any_prop(&|p| p["type"] == t),
            format!("an action prop of type {t}"),
        );
    }
    ck.that(
        any_prop(&|p| p["type"] == "integer" && p.get("min").is_some() && p.get("max").is_some()),
        "integer prop with min/max",
    );
    ck.that(
        any_prop(&|p| {
            p["type"] == "alert" && p["alertType"].is_string() && p["content"].is_string()
        }),
        "alert prop",
    );
    for flag in [
        "hidden",
        "disabled",
        "secret",
        "optional",
        "withLabel",
        "useQuery",
    ] {
        ck.that(
            any_prop(&|p| p[flag] == true),
            format!("a prop with {flag}: true"),
        );
    }
    ck.that(
        any_prop(&|p| {
            p["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("$.airtable."))
        }),
        "$.airtable.* prop",
    );
    ck.that(
        any_prop(&|p| p.get("default").is_some()),
        "a prop with default",
    );
    ck.that(
        any_prop(&|p| {
            p["options"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x.is_object()))
        }),
        "options as {label,value}",
    );
    ck.that(
        any_prop(&|p| {
            p["options"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| !x.is_object()))
        }),
        "options as bare primitives",
    );

    // ---- triggers
    let triggers = all_pages(&emu, &tok, &emu.project("/triggers?limit=100"));
    ck.that(
        triggers.len() >= 5,
        format!(">= 5 triggers (got {})", triggers.len()),
    );
    let tr = |k: &str| {
        triggers
            .iter()
            .find(|c| c["key"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let timer = prop(&tr("gmail-new-email-received"), "timer").clone();
    ck.that(
        timer["type"] == "$.interface.timer" && timer["default"] == json!({"intervalSeconds": 900}),
        format!("gmail-new-email-received timer: {timer}"),
    );
    ck.that(
        tr("github-new-issue")["configurable_props"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["type"] == "$.interface.http")),
        "github-new-issue $.interface.http",
    );
    ck.that(
        !tr("slack-new-message-in-channels").is_null(),
        "slack-new-message-in-channels trigger",
    );

    // ---- annotations
    let annotated = comps
        .iter()
        .filter(|c| {
            let a = &c["annotations"];
            [
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
                "readOnlyHint",
                "title",
            ]
            .iter()
            .all(|k| a.get(*k).is_some())
        })
        .count();
    ck.that(
        annotated >= 3,
        format!("several actions with full annotations (got {annotated})"),
    );

    assert!(
        ck.0.is_empty(),
        "built-in catalog problems:\n  {}",
        ck.0.join("\n  ")
    );
}

/// Every app carries the `connect` block the API sends (`{proxy_enabled,
/// allowed_domains, base_proxy_target_url}`), with the documented examples as
/// documented and the awkward real shapes: an account-specific base
/// (zendesk, shopify), an enabled app with no base (mailchimp), apps the proxy
/// does not serve.
#[test]
fn every_app_has_a_connect_block() {
    let emu = Emu::start_builtin(&[]);
    let tok = emu.token();
    let apps = all_pages(&emu, &tok, "/v1/connect/apps?limit=100");
    assert!(apps.len() >= 40, "{}", apps.len());
    let mut ck = Check(Vec::new());
    for app in &apps {
        let slug = app["name_slug"].as_str().unwrap_or("?");
        let c = &app["connect"];
        let keys: BTreeSet<&str> = c
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        ck.that(
            keys == BTreeSet::from(["allowed_domains", "base_proxy_target_url", "proxy_enabled"]),
            format!("{slug}: connect has exactly the three fields: {c}"),
        );
        let enabled = c["proxy_enabled"].as_bool();
        ck.that(
            enabled.is_some(),
            format!("{slug}: proxy_enabled is a bool"),
        );
        let domains = &c["allowed_domains"];
        let base = &c["base_proxy_target_url"];
        if enabled == Some(true) {
            ck.that(
                domains.as_array().is_some_and(|d| {
                    !d.is_empty() && d.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty()))
                }),
                format!("{slug}: an enabled app has allowed domains: {domains}"),
            );
            ck.that(
                base.is_null() || base.as_str().is_some_and(|b| b.starts_with("https://")),
                format!("{slug}: base is null or https: {base}"),
            );
        } else {
            ck.that(
                domains.is_null() && base.is_null(),
                format!("{slug}: a disabled app has no domains and no base: {c}"),
            );
        }
    }
    assert!(ck.0.is_empty(), "{}", ck.0.join("\n"));

    let connect = |slug: &str| {
        let (s, b) = emu.get(&format!("/v1/connect/apps/{slug}"), &tok);
        assert_eq!(s, 200, "{slug}: {b}");
        let listed = apps.iter().find(|a| a["name_slug"] == slug).unwrap();
        assert_eq!(
            listed["connect"], b["data"]["connect"],
            "{slug}: list and retrieve agree"
        );
        b["data"]["connect"].clone()
    };
    let on = |domains: Value, base: Value| json!({"proxy_enabled": true, "allowed_domains": domains, "base_proxy_target_url": base});
    let off =
        json!({"proxy_enabled": false, "allowed_domains": null, "base_proxy_target_url": null});
    // The two documented examples.
    assert_eq!(
        connect("slack"),
        on(json!(["slack.com"]), json!("https://slack.com"))
    );
    assert_eq!(
        connect("google_sheets"),
        on(
            json!(["www.googleapis.com", "sheets.googleapis.com"]),
            json!("https://sheets.googleapis.com")
        )
    );
    assert_eq!(
        connect("zendesk"),
        on(
            json!(["zendesk.com"]),
            json!("https://{{custom_fields.subdomain}}.zendesk.com")
        )
    );
    assert_eq!(
        connect("github"),
        on(json!(["api.github.com"]), json!("https://api.github.com"))
    );
    assert_eq!(
        connect("notion"),
        on(json!(["api.notion.com"]), json!("https://api.notion.com"))
    );
    assert_eq!(
        connect("openai"),
        on(json!(["api.openai.com"]), json!("https://api.openai.com"))
    );
    assert_eq!(
        connect("stripe"),
        on(json!(["api.stripe.com"]), json!("https://api.stripe.com"))
    );
    assert_eq!(
        connect("mailchimp"),
        on(json!(["api.mailchimp.com"]), Value::Null)
    );
    for slug in ["helper_functions", "data_stores", "postgresql"] {
        assert_eq!(connect(slug), off, "{slug}");
    }
}
