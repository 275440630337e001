//! `getComponents` and `getComponent`: the LLM's second and third discovery steps. The list
//! endpoint's `q` matches only component keys, so all of an app's components are fetched once
//! (every page, cached per app) and ranked here on names, descriptions and keys.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::Op;
use super::rank::{Ranked, rank_components, reading_said};
use super::views::{ComponentSummary, Detail, Folded, Parameter};
use crate::engine::args::Args;
use crate::engine::connect::Connect;
use crate::engine::connect::components::{AppComponents, Component, ComponentKind, KnownApp};
use crate::engine::director::Director;
use crate::engine::director::tools::budget::COMPONENTS_BUDGET_BYTES;
use crate::engine::director::tools::schema::input_schema;
use crate::engine::director::tools::search::{CATALOG_KEY, STALE_NOTE};
use crate::engine::error::Result;
use crate::engine::json::to_json;
use crate::engine::transport::api::Bearer;
use crate::engine::transport::cache::Lookup;
use crate::engine::transport::cache::Ticket;

pub const DEFAULT_COMPONENTS_LIMIT: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetComponentsArgs {
    pub app_slug: String,
    pub kind: ComponentKind,
    pub query: Option<String>,
    pub limit: usize,
}

impl GetComponentsArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        let a = Args::new(
            v,
            "getComponents expects { app_slug: string, type?: 'action' | 'trigger', query?: string, limit?: number }",
        )?;
        let app_slug = a.id("app_slug", "\"gmail\" (from searchServices)")?;
        let kind = match a.one_of("type", &["action", "trigger"])?.as_deref() {
            Some("trigger") => ComponentKind::Trigger,
            _ => ComponentKind::Action,
        };
        let query = a.string("query", 200)?;
        let limit = a
            .integer("limit", 1, 100)?
            .map_or(DEFAULT_COMPONENTS_LIMIT, |l| l as usize);
        Ok(Self {
            app_slug,
            kind,
            query,
            limit,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetComponentArgs {
    pub component_id: String,
    pub version: Option<String>,
}

impl GetComponentArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        Self::read(&Args::new(
            v,
            "getComponent expects { component_id: string, version?: string }",
        )?)
    }

    /// `component_id` and `version` from any call's arguments.
    pub fn read(a: &Args) -> Result<Self> {
        let component_id = a.id("component_id", "\"gmail-send-email\" (from getComponents)")?;
        let version = a.string("version", 64)?;
        let is_version = |v: &String| {
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
        };
        if let Some(v) = version.as_ref().filter(|v| !is_version(v)) {
            return Err(a.fail(format!(
                "`version` {v:?} is not a version such as \"0.1.7\""
            )));
        }
        Ok(Self {
            component_id,
            version,
        })
    }

    /// The definition these arguments name, through the cache.
    pub async fn fetch(
        &self,
        connect: &Connect,
        bearer: &Bearer,
    ) -> Result<Lookup<Arc<Component>>> {
        connect
            .component(&self.component_id, self.version.as_deref(), bearer)
            .await
    }
}

#[derive(Serialize)]
struct GetComponentResult<'a> {
    component_id: &'a str,
    name: &'a str,
    description: &'a str,
    version: &'a str,
    component_type: Option<&'a str>,
    app: Option<&'a str>,
    auth_required: bool,
    annotations: Option<&'a Value>,
    parameters: Vec<Parameter<'a>>,
    input_schema: Value,
    configurable_props: Option<&'a RawValue>,
    message: String,
    cached: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stale: bool,
}

impl Director {
    /// A fresh hit: the ticket of the entry it came from and the answer.
    pub(crate) fn get_components_cached(
        &self,
        args: &GetComponentsArgs,
    ) -> Option<(Ticket, String)> {
        let (found, ticket) = self
            .connect
            .cached_app_components(&args.app_slug, args.kind)?;
        Some((ticket, components_answer(args, &found, true, false)))
    }

    pub(crate) async fn get_components(&self, args: GetComponentsArgs) -> String {
        // After a search the catalog is cached: the app comes from it, one request fewer.
        let known = self.app_catalog.peek(&CATALOG_KEY).and_then(|catalog| {
            Some(KnownApp {
                name: catalog.name_of(&args.app_slug)?.to_owned(),
                needs_account: catalog.needs_account(&args.app_slug)?,
            })
        });
        let found = self
            .connect
            .app_components(&args.app_slug, args.kind, known)
            .await;
        match found {
            Ok(l) => components_answer(&args, &l.value, l.cached, l.stale),
            Err(e) => Op::GetComponents.failed(&args_echo(&args), &e),
        }
    }

    /// A fresh hit: the ticket of the entry it came from and the answer.
    pub(crate) fn get_component_cached(&self, args: &GetComponentArgs) -> Option<(Ticket, String)> {
        let (c, ticket) = self
            .connect
            .cached_component(&args.component_id, args.version.as_deref())?;
        let auth = c
            .app_props()
            .any(|p| self.known_to_take_account(p.app.as_deref()).unwrap_or(true));
        Some((ticket, component_answer(&c, auth, true, false)))
    }

    pub(crate) async fn get_component(&self, args: GetComponentArgs) -> String {
        match args.fetch(&self.connect, &Bearer::Client).await {
            Ok(l) => {
                let mut auth = false;
                for app in l.value.app_props().map(|p| p.app.as_deref()) {
                    auth |= self.takes_account(app).await;
                }
                component_answer(&l.value, auth, l.cached, l.stale)
            }
            Err(e) => Op::GetComponent.failed(
                &serde_json::json!({ "component_id": args.component_id }),
                &e,
            ),
        }
    }
}

impl Director {
    /// Whether an app prop of `app` takes an account, as far as the catalog or the app's
    /// cached record says.
    fn known_to_take_account(&self, app: Option<&str>) -> Option<bool> {
        let app = app?;
        let catalog = self.app_catalog.peek(&CATALOG_KEY);
        catalog.and_then(|c| c.needs_account(app)).or_else(|| {
            let record = self.connect.app_records.peek(&app.to_owned())?;
            Some(record.needs_account())
        })
    }

    /// `known_to_take_account`, else from the app's record (fetched and cached like the
    /// catalog); an app that cannot be looked up is taken to need one.
    async fn takes_account(&self, app: Option<&str>) -> bool {
        match (self.known_to_take_account(app), app) {
            (Some(known), _) => known,
            (None, Some(app)) => {
                let record = self.connect.app_record(app, &Bearer::Client).await;
                record.map_or(true, |r| r.needs_account())
            }
            (None, None) => true,
        }
    }
}

fn args_echo(args: &GetComponentsArgs) -> Value {
    serde_json::json!({ "app_slug": args.app_slug })
}

/// The answer, assembled from each component's JSON text. Less detail first, then fewer
/// components, until it fits the budget: a level whose floors (`min_json_len`) are over the
/// budget is not rendered, one is left as soon as what it rendered and the floors of the rest
/// are over, and the chosen level is serialized once.
/// The components `args` asks for, best first.
fn ranked<'a>(args: &GetComponentsArgs, found: &'a AppComponents) -> Ranked<'a> {
    match &args.query {
        Some(q) => rank_components(&found.components, q),
        None => Ranked {
            components: found.components.iter().collect(),
            reading: None,
        },
    }
}

fn components_answer(
    args: &GetComponentsArgs,
    found: &AppComponents,
    cached: bool,
    stale: bool,
) -> String {
    let ranked = ranked(args, found);
    let total_found = ranked.components.len();
    let shown: Vec<Folded> = ranked
        .components
        .iter()
        .take(args.limit)
        .map(|c| Folded::of(c))
        .collect();
    let last = Detail::LEVELS.len() - 1;
    let mut parts: Vec<String> = Vec::with_capacity(shown.len());
    let mut level = 0;
    loop {
        let detail = Detail::LEVELS[level];
        parts.clear();
        let summaries: Vec<ComponentSummary> = shown
            .iter()
            .map(|folded| ComponentSummary::of(folded, &args.app_slug, found.needs_account, detail))
            .collect();
        // The last level drops components instead; any other is left as soon as the list
        // rendered so far and the floors of the rest are over the budget, often before
        // anything is rendered: a large app's list ended at the last level after serializing
        // about three times its answer.
        let shrinks = level < last && shown.len() > 1;
        let floors: Vec<usize> = summaries.iter().map(|s| s.min_json_len() + 1).collect();
        let mut rest: usize = floors.iter().sum();
        let mut listed = 0;
        for (summary, floor) in summaries.iter().zip(&floors) {
            if shrinks && listed + rest > COMPONENTS_BUDGET_BYTES {
                break;
            }
            rest -= floor;
            let part = to_json(summary);
            listed += part.len() + 1;
            parts.push(part);
        }
        if parts.len() < shown.len() {
            level += 1;
            continue;
        }
        let answer = |parts: &[String]| {
            let message = components_message(args, found, &ranked, parts.len(), level > 0, stale);
            assemble(args, found, parts, total_found, message, cached, stale)
        };
        let mut json = answer(&parts);
        if level < last && json.len() > COMPONENTS_BUDGET_BYTES && shown.len() > 1 {
            level += 1;
            continue;
        }
        // Fewer components: drop from the end as many as the excess needs, measured one by one
        // (the message changes with the count, so the result is checked again).
        let mut n = parts.len();
        while json.len() > COMPONENTS_BUDGET_BYTES && n > 1 {
            let mut excess = json.len() - COMPONENTS_BUDGET_BYTES;
            while excess > 0 && n > 1 {
                n -= 1;
                excess = excess.saturating_sub(parts[n].len() + 1);
            }
            json = answer(&parts[..n]);
        }
        return json;
    }
}

/// `{ app_slug, service_name, components, total_found, message, cached, stale? }`, with the
/// components' JSON texts put in as they are.
fn assemble(
    args: &GetComponentsArgs,
    found: &AppComponents,
    parts: &[String],
    total_found: usize,
    message: String,
    cached: bool,
    stale: bool,
) -> String {
    let listed: usize = parts.iter().map(|p| p.len() + 1).sum();
    let mut out = String::with_capacity(listed + message.len() + 256);
    out.push_str("{\"app_slug\":");
    out.push_str(&to_json(&args.app_slug));
    out.push_str(",\"service_name\":");
    out.push_str(&to_json(&found.service_name));
    out.push_str(",\"components\":[");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(part);
    }
    out.push_str("],\"total_found\":");
    out.push_str(&total_found.to_string());
    out.push_str(",\"message\":");
    out.push_str(&to_json(&message));
    out.push_str(if cached {
        ",\"cached\":true"
    } else {
        ",\"cached\":false"
    });
    if stale {
        out.push_str(",\"stale\":true");
    }
    out.push('}');
    out
}

fn components_message(
    args: &GetComponentsArgs,
    found: &AppComponents,
    ranked: &Ranked,
    shown: usize,
    shortened: bool,
    stale: bool,
) -> String {
    let noun = args.kind.plural();
    let name = &found.service_name;
    let total_found = ranked.components.len();
    let mut message = match (&args.query, shown) {
        (_, 0) if found.components.is_empty() => format!(
            "No {noun} found for {name} ({}). This app may have no prebuilt {noun}; consider a browser step instead.",
            args.app_slug
        ),
        (Some(q), 0) => format!(
            "No {name} {noun} match \"{q}\" ({} {noun} exist). Try other words, or omit query to list them all.",
            found.components.len()
        ),
        (_, n) => {
            let more = if total_found > n {
                format!(" (showing {n} of {total_found}; narrow with query or raise limit)")
            } else {
                String::new()
            };
            format!(
                "Found {total_found} {name} {}{more}. Use a component_id in a pipedream_connect node; call pipedream_get_component for its full parameter schema.",
                args.kind.noun(total_found)
            )
        }
    };
    if let Some(reading) = &ranked.reading {
        message.push_str(&reading_said(reading, noun));
    }
    if shortened {
        message.push_str(" Descriptions are shortened to keep this answer small.");
    }
    if stale {
        message.push_str(STALE_NOTE);
    }
    message
}

/// `auth`: whether the component's app props take an account.
fn component_answer(c: &Component, auth: bool, cached: bool, stale: bool) -> String {
    let app_prop = c.app_prop();
    let app = app_prop.and_then(|p| p.app.as_deref());
    let required: Vec<&str> = c
        .params()
        .filter(|p| p.required())
        .map(|p| p.name.as_str())
        .collect();
    let remote: Vec<&str> = c
        .params()
        .filter(|p| p.has_remote_options())
        .map(|p| p.name.as_str())
        .collect();
    let reload: Vec<&str> = c
        .params()
        .filter(|p| p.reloads_props())
        .map(|p| p.name.as_str())
        .collect();
    let mut message = format!(
        "{} ({}@{}): put its parameters in the pipedream_connect node's params, as input_schema describes.",
        c.name, c.key, c.version
    );
    message.push_str(&match required.as_slice() {
        [] => " No parameter is required.".to_owned(),
        names => format!(" Required: {}.", names.join(", ")),
    });
    match app {
        Some(app) if auth => {
            message.push_str(&format!(" Runs with the user's connected {app} account."))
        }
        Some(_) => message.push_str(" No account needed."),
        None => {}
    }
    if !remote.is_empty() {
        message.push_str(&format!(
            " Get valid values for {} from pipedream_configure_prop.",
            remote.join(", ")
        ));
    }
    if !reload.is_empty() {
        message.push_str(&format!(
            " Setting {} adds more parameters: call reloadProps with it to see them.",
            reload.join(", ")
        ));
    }
    if stale {
        message.push_str(STALE_NOTE);
    }
    let props = c.raw_props.as_deref();
    to_json(&GetComponentResult {
        component_id: &c.key,
        name: &c.name,
        description: &c.description,
        version: &c.version,
        component_type: c.component_type.as_deref(),
        app,
        auth_required: auth,
        annotations: c.annotations.as_ref(),
        parameters: c.params().map(Parameter::compact).collect(),
        input_schema: input_schema(&c.props),
        configurable_props: props,
        message,
        cached,
        stale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_component_args() {
        let a = GetComponentsArgs::parse(
            &json!({"app_slug": "gmail", "type": null, "query": null, "limit": null}),
        )
        .unwrap();
        assert_eq!(a.kind, ComponentKind::Action);
        assert_eq!(a.limit, 50);
        assert!(GetComponentsArgs::parse(&json!({"app_slug": "../x"})).is_err());
        assert!(
            GetComponentArgs::parse(
                &json!({"component_id": "gmail-send-email", "version": "1.0.0"})
            )
            .is_ok()
        );
        assert!(
            GetComponentArgs::parse(&json!({"component_id": "a", "version": "1/../2"})).is_err()
        );
    }

    /// The answer as it was built before `assemble`: the whole list rendered and serialized by
    /// serde at each level. The assembled text must be the same, byte for byte.
    fn reference(
        args: &GetComponentsArgs,
        found: &AppComponents,
        cached: bool,
        stale: bool,
    ) -> String {
        #[derive(Serialize)]
        struct Answer<'a> {
            app_slug: &'a str,
            service_name: &'a str,
            components: &'a [ComponentSummary<'a>],
            total_found: usize,
            message: String,
            cached: bool,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            stale: bool,
        }
        let ranked = ranked(args, found);
        let total_found = ranked.components.len();
        let mut shown: Vec<&Component> =
            ranked.components.iter().copied().take(args.limit).collect();
        let mut level = 0;
        loop {
            let detail = Detail::LEVELS[level];
            let folded: Vec<Folded> = shown.iter().map(|c| Folded::of(c)).collect();
            let components: Vec<ComponentSummary> = folded
                .iter()
                .map(|f| ComponentSummary::of(f, &args.app_slug, found.needs_account, detail))
                .collect();
            let message =
                components_message(args, found, &ranked, components.len(), level > 0, stale);
            let json = to_json(&Answer {
                app_slug: &args.app_slug,
                service_name: &found.service_name,
                components: &components,
                total_found,
                message,
                cached,
                stale,
            });
            if json.len() <= COMPONENTS_BUDGET_BYTES || shown.len() <= 1 {
                return json;
            }
            if level + 1 < Detail::LEVELS.len() {
                level += 1;
                continue;
            }
            let mut excess = json.len() - COMPONENTS_BUDGET_BYTES;
            while excess > 0 && shown.len() > 1 {
                shown.pop();
                excess = excess.saturating_sub(to_json(&components[shown.len()]).len() + 1);
            }
        }
    }

    /// An app of `count` components whose descriptions and props are `weight` long.
    fn app(count: usize, weight: usize) -> AppComponents {
        let prop = |i: usize| {
            json!({ "name": format!("field_{i}"), "type": "string", "label": "A field",
                    "description": "déjà vu ".repeat(weight / 8 + 1),
                    "options": (0..weight % 13).map(|o| format!("o{o}")).collect::<Vec<_>>() })
        };
        let components = (0..count)
            .map(|i| {
                let wire = json!({
                    "key": format!("app-action-{i}"), "name": format!("Action {i}"),
                    "version": "0.0.1", "description": "word ".repeat(weight / 5 + i % 7),
                    "configurable_props": (0..(i % 9)).map(prop).collect::<Vec<_>>(),
                });
                serde_json::from_str::<Component>(&wire.to_string()).unwrap()
            })
            .collect();
        AppComponents {
            needs_account: true,
            service_name: "App \"quoted\" ünïcode".into(),
            components,
        }
    }

    #[test]
    fn assembled_answers_match_the_whole_list_serialized() {
        let mut seen = Vec::new();
        for (count, weight, limit, query) in [
            (0, 10, 50, None),
            (1, 4000, 50, None),
            (5, 20, 50, None),
            (30, 40, 50, None),
            (42, 60, 50, None),
            (42, 80, 50, None),
            (42, 120, 50, None),
            (42, 300, 50, Some("action 1")),
            (60, 200, 100, None),
            (100, 600, 100, None),
            (300, 900, 7, Some("zzz")),
        ] {
            let found = app(count, weight);
            let mut v = json!({ "app_slug": "app", "limit": limit });
            if let Some(q) = query {
                v["query"] = json!(q);
            }
            let args = GetComponentsArgs::parse(&v).unwrap();
            for (cached, stale) in [(false, false), (true, true)] {
                let ours = components_answer(&args, &found, cached, stale);
                assert_eq!(
                    ours,
                    reference(&args, &found, cached, stale),
                    "{count} × {weight}, limit {limit}"
                );
                let answer: Value = serde_json::from_str(&ours).unwrap();
                let listed = answer["components"].as_array().unwrap().len();
                let shortened = answer["message"].as_str().unwrap().contains("shortened");
                let matched = answer["total_found"].as_u64().unwrap() as usize;
                seen.push((
                    listed > 1 && !shortened,
                    shortened,
                    listed < matched.min(limit),
                ));
            }
        }
        // The cases reach every way out: the full detail, a shorter one, and fewer components.
        assert!(seen.iter().any(|s| s.0), "{seen:?}");
        assert!(seen.iter().any(|s| s.1 && !s.2), "{seen:?}");
        assert!(seen.iter().any(|s| s.2), "{seen:?}");
    }

    /// `count` components of plain ASCII text, their parameters' descriptions cut at every
    /// level; their own descriptions, `pad` bytes in all and never cut (each under 90), set
    /// the answer's length to the byte.
    fn plain(count: usize, pad: usize) -> AppComponents {
        let prop = |i: usize| {
            json!({ "name": format!("field_{i}"), "type": "string", "label": "A field",
                    "description": "plain words ".repeat(10), "options": [1, 2, 3, 4, 5, 6, 7, 8, 9] })
        };
        let components = (0..count)
            .map(|i| {
                let description = "x".repeat(pad.saturating_sub(89 * i).min(89));
                let wire = json!({
                    "key": format!("app-action-{i}"), "name": format!("Action {i}"),
                    "version": "0.0.1", "description": description,
                    "configurable_props": (0..1).map(prop).collect::<Vec<_>>(),
                });
                serde_json::from_str::<Component>(&wire.to_string()).unwrap()
            })
            .collect();
        AppComponents {
            needs_account: true,
            service_name: "App".into(),
            components,
        }
    }

    /// A level that fits with a few bytes to spare is chosen, not skipped on its floors: at
    /// the full detail and at the next one.
    #[test]
    fn a_level_that_barely_fits_is_kept() {
        let args = GetComponentsArgs::parse(&json!({ "app_slug": "app", "limit": 100 })).unwrap();
        let level_of = |json: &str| {
            let answer: Value = serde_json::from_str(json).unwrap();
            let listed = answer["components"].as_array().unwrap();
            let shortened = answer["message"].as_str().unwrap().contains("shortened");
            let described = listed[1]["parameters"][0].get("description").is_some();
            (
                listed.len(),
                usize::from(shortened) + usize::from(!described),
            )
        };
        let mut kept = [0; 2];
        for count in 2..80 {
            // 89 bytes of room per component at most: no description of theirs is cut.
            let unpadded = components_answer(&args, &plain(count, 0), false, false);
            let Some(pad) = (COMPONENTS_BUDGET_BYTES - 5).checked_sub(unpadded.len()) else {
                continue;
            };
            if pad >= 89 * count || level_of(&unpadded).1 > 1 {
                continue;
            }
            let found = plain(count, pad);
            let ours = components_answer(&args, &found, false, false);
            assert_eq!(ours.len(), COMPONENTS_BUDGET_BYTES - 5, "{count}");
            assert_eq!(
                ours,
                reference(&args, &found, false, false),
                "{count} + {pad}"
            );
            let (listed, level) = level_of(&ours);
            assert_eq!(listed, count);
            kept[level] += 1;
        }
        assert!(kept.iter().all(|&n| n > 0), "{kept:?}");
    }

    /// An app too large for the budget even at the least detail: the answer keeps as many
    /// components as fit, not far fewer.
    #[test]
    fn a_large_app_is_cut_to_the_budget_and_no_further() {
        let prop = |i: usize| {
            json!({ "name": format!("field_{i}"), "type": "string", "label": "A field",
                    "description": "x".repeat(200) })
        };
        let components = (0..300)
            .map(|i| {
                let wire = json!({
                    "key": format!("big-action-{i}"), "name": format!("Big action {i}"),
                    "version": "0.0.1", "description": "word ".repeat(80),
                    "configurable_props": (0..8).map(prop).collect::<Vec<_>>(),
                });
                serde_json::from_str::<Component>(&wire.to_string()).unwrap()
            })
            .collect();
        let found = AppComponents {
            needs_account: true,
            service_name: "Big".into(),
            components,
        };
        let args = GetComponentsArgs::parse(&json!({ "app_slug": "big", "limit": 100 })).unwrap();
        let json = components_answer(&args, &found, false, false);
        assert!(json.len() <= COMPONENTS_BUDGET_BYTES, "{}", json.len());
        let answer: Value = serde_json::from_str(&json).unwrap();
        let shown = answer["components"].as_array().unwrap();
        let largest = shown.iter().map(|c| c.to_string().len() + 1).max().unwrap();
        let room = COMPONENTS_BUDGET_BYTES - json.len();
        assert!(
            room < largest,
            "{room} bytes left, room for another of {largest}"
        );
        assert_eq!(answer["total_found"], json!(300));
    }
}
