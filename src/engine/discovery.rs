//! `getComponents` and `getComponent`: the LLM's second and third discovery steps. The list
//! endpoint's `q` matches only component keys, so all of an app's components are fetched once
//! (every page, cached per app) and ranked here on names, descriptions and keys.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::api::Bearer;
use super::apps::STALE_NOTE;
use super::args::Args;
use super::budget::COMPONENTS_BUDGET_BYTES;
use super::client::{Client, to_json};
use super::components::{Component, ComponentSummary, Detail, Parameter, rank};
use super::error::Result;
use super::limiter::EndpointClass;
use super::pagination::{self, Page};
use super::schema::input_schema;
use futures::StreamExt;

pub const DEFAULT_COMPONENTS_LIMIT: usize = 50;
const PAGE_SIZE: usize = 100;
/// No app has anywhere near this many components; it only bounds a misbehaving server.
const MAX_COMPONENTS_PER_APP: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    Action,
    Trigger,
}

impl ComponentKind {
    fn plural(self) -> &'static str {
        match self {
            Self::Action => "actions",
            Self::Trigger => "triggers",
        }
    }
}

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

    fn cache_key(&self) -> (String, Option<String>) {
        (self.component_id.clone(), self.version.clone())
    }
}

#[derive(Debug, Deserialize)]
struct AppInfo {
    name: String,
}

#[derive(Debug, Deserialize)]
struct One<T> {
    data: T,
}

/// Everything fetched for one app and kind.
#[derive(Debug)]
pub struct AppComponents {
    service_name: String,
    components: Vec<Component>,
}

#[derive(Serialize)]
struct GetComponentsResult<'a> {
    app_slug: &'a str,
    service_name: &'a str,
    components: &'a [ComponentSummary<'a>],
    total_found: usize,
    message: String,
    cached: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stale: bool,
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

/// Definitions fetched at once when list items came without their props.
const DEFINITIONS_IN_FLIGHT: usize = 8;

impl Client {
    pub(crate) fn get_components_cached(&self, args: &GetComponentsArgs) -> Option<String> {
        let found = self
            .app_components
            .probe(&(args.app_slug.clone(), args.kind))?;
        Some(components_answer(args, &found, true, false))
    }

    pub(crate) async fn get_components(&self, args: GetComponentsArgs) -> String {
        let key = (args.app_slug.clone(), args.kind);
        match self
            .app_components
            .get_or_fetch(key, self.fetch_app_components(&args.app_slug, args.kind))
            .await
        {
            Ok(l) => components_answer(&args, &l.value, l.cached, l.stale),
            Err(e) => super::operation::Op::GetComponents.failed(&args_echo(&args), &e),
        }
    }

    async fn fetch_app_components(
        &self,
        app_slug: &str,
        kind: ComponentKind,
    ) -> Result<Arc<AppComponents>> {
        let path = self.project_path(kind.plural())?;
        let app = async {
            let found: Result<One<AppInfo>> = self
                .api
                .get(
                    EndpointClass::Read,
                    &format!("/v1/connect/apps/{app_slug}"),
                    &[],
                    &Bearer::Client,
                )
                .await;
            found.map_err(|e| {
                self.explain_not_found(e, || format!(
                    "there is no app with the slug {app_slug:?}; call searchServices (pipedream_search_services) to find the right app_slug"
                ))
            })
        };
        let list = pagination::collect(MAX_COMPONENTS_PER_APP, |after, want| {
            let mut query = vec![
                ("app", app_slug.to_owned()),
                ("limit", want.min(PAGE_SIZE).to_string()),
            ];
            query.extend(after.map(|a| ("after", a)));
            let path = path.clone();
            async move {
                self.api
                    .get::<Page<Component>>(EndpointClass::Read, &path, &query, &Bearer::Client)
                    .await
            }
        });
        let (app, mut list) = futures::try_join!(app, list)?;
        // List items may come without `configurable_props` (the API documents them as
        // optional there): those definitions are fetched one by one, a few at a time, once.
        let missing: Vec<(usize, String)> = list
            .iter()
            .enumerate()
            .filter(|(_, c)| c.raw_props.as_ref().is_none_or(|r| r.get() == "null"))
            .map(|(i, c)| (i, c.key.clone()))
            .collect();
        let fetched: Vec<(usize, Result<Arc<Component>>)> = futures::stream::iter(missing)
            .map(|(i, key)| async move {
                let args = GetComponentArgs {
                    component_id: key,
                    version: None,
                };
                let found = self.component(&args, &Bearer::Client).await;
                (i, found.map(|(c, _, _)| c))
            })
            .buffer_unordered(DEFINITIONS_IN_FLIGHT)
            .collect()
            .await;
        for (i, found) in fetched {
            list[i] = found?.as_ref().clone();
        }
        Ok(Arc::new(AppComponents {
            service_name: app.data.name,
            components: list,
        }))
    }

    pub(crate) fn get_component_cached(&self, args: &GetComponentArgs) -> Option<String> {
        let c = self.components.probe(&args.cache_key())?;
        Some(component_answer(&c, true, false))
    }

    pub(crate) async fn get_component(&self, args: GetComponentArgs) -> String {
        match self.component(&args, &Bearer::Client).await {
            Ok((c, cached, stale)) => component_answer(&c, cached, stale),
            Err(e) => super::operation::Op::GetComponent.failed(
                &serde_json::json!({ "component_id": args.component_id }),
                &e,
            ),
        }
    }

    /// A component's definition, through the cache; also used to check configure and run calls.
    pub(crate) async fn component(
        &self,
        args: &GetComponentArgs,
        bearer: &Bearer,
    ) -> Result<(Arc<Component>, bool, bool)> {
        let l = self
            .components
            .get_or_fetch(args.cache_key(), async {
                let path = self.project_path(&format!("components/{}", args.component_id))?;
                let query: Vec<(&str, String)> =
                    args.version.iter().map(|v| ("version", v.clone())).collect();
                let found: Result<One<Component>> =
                    self.api.get(EndpointClass::Read, &path, &query, bearer).await;
                found.map(|one| Arc::new(one.data)).map_err(|e| {
                    self.explain_not_found(e, || format!(
                        "there is no component {:?}{}; call getComponents (pipedream_get_components) for the app's component ids",
                        args.component_id,
                        args.version.as_deref().map(|v| format!(" at version {v}")).unwrap_or_default()
                    ))
                })
            })
            .await?;
        Ok((l.value, l.cached, l.stale))
    }
}

fn args_echo(args: &GetComponentsArgs) -> Value {
    serde_json::json!({ "app_slug": args.app_slug })
}

fn components_answer(
    args: &GetComponentsArgs,
    found: &AppComponents,
    cached: bool,
    stale: bool,
) -> String {
    let ranked: Vec<&Component> = match &args.query {
        Some(q) => rank(&found.components, q),
        None => found.components.iter().collect(),
    };
    let total_found = ranked.len();
    let mut shown: Vec<&Component> = ranked.into_iter().take(args.limit).collect();
    // Less detail first, then fewer components, until the answer fits the budget.
    let mut level = 0;
    loop {
        let detail = Detail::LEVELS[level];
        let components: Vec<ComponentSummary> = shown
            .iter()
            .map(|c| ComponentSummary::of(c, &args.app_slug, detail))
            .collect();
        let message =
            components_message(args, found, components.len(), total_found, level > 0, stale);
        let json = to_json(&GetComponentsResult {
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
        // Fewer components: drop from the end as many as the excess needs, measured one by one,
        // instead of rendering the whole answer again per component dropped (quadratic: ms per
        // call for a large app). The next pass checks the result, whose message also changed.
        let mut excess = json.len() - COMPONENTS_BUDGET_BYTES;
        while excess > 0 && shown.len() > 1 {
            shown.pop();
            excess = excess.saturating_sub(to_json(&components[shown.len()]).len() + 1);
        }
    }
}

fn components_message(
    args: &GetComponentsArgs,
    found: &AppComponents,
    shown: usize,
    total_found: usize,
    shortened: bool,
    stale: bool,
) -> String {
    let noun = args.kind.plural();
    let name = &found.service_name;
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
                "Found {total_found} {name} {noun}{more}. Use a component_id in a pipedream_connect node; call pipedream_get_component for its full parameter schema."
            )
        }
    };
    if shortened {
        message.push_str(" Descriptions are shortened to keep this answer small.");
    }
    if stale {
        message.push_str(STALE_NOTE);
    }
    message
}

fn component_answer(c: &Component, cached: bool, stale: bool) -> String {
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
    if let Some(app) = app {
        message.push_str(&format!(" Runs with the user's connected {app} account."));
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
        auth_required: app_prop.is_some(),
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
