//! Components (actions and triggers) as the API sends them: the definitions, their props, and
//! an app's whole list, each through its cache. The list endpoint's `q` matches only keys, so
//! all of an app's components are fetched once (every page) and ranked by `director`.

use std::borrow::Cow;
use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Connect, One, lenient};
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, Result};
use crate::engine::transport::api::Bearer;
use crate::engine::transport::cache::{Dated, Lookup, Ticket};
use crate::engine::transport::pagination::{self, Page};

const PAGE_SIZE: usize = 100;
/// No app has anywhere near this many components; it only bounds a misbehaving server.
const MAX_COMPONENTS_PER_APP: usize = 5_000;
/// Definitions fetched at once when list items came without their props.
const DEFINITIONS_IN_FLIGHT: usize = 8;

/// A component from the list or retrieve endpoints. `raw_props` keeps `configurable_props`
/// exactly as received (as JSON text), for `getComponent`'s full answer.
#[derive(Debug, Clone)]
pub struct Component {
    pub key: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub component_type: Option<String>,
    pub props: Vec<Prop>,
    pub annotations: Option<Value>,
    pub raw_props: Option<Box<RawValue>>,
}

/// A component on the wire, with its props as `P`: their text for the retrieve endpoint, parsed
/// props for a list item. Read as `lenient` reads props: a field of another type is absent, a
/// name that is no text falls back on the key, and a component without a key is no component.
#[derive(Deserialize)]
struct WireComponent<P> {
    #[serde(default, deserialize_with = "lenient::text_or_empty")]
    key: String,
    #[serde(default, deserialize_with = "lenient::text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    version: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    component_type: Option<String>,
    #[serde(default)]
    configurable_props: P,
    #[serde(default)]
    annotations: Option<Value>,
}

impl<P> WireComponent<P> {
    fn into_component(self, props: Vec<Prop>, raw_props: Option<Box<RawValue>>) -> Component {
        Component {
            name: self.name.unwrap_or_else(|| self.key.clone()),
            key: self.key,
            version: self.version.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            component_type: self.component_type,
            props,
            annotations: self.annotations.filter(|a| a.is_object()),
            raw_props,
        }
    }
}

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Straight from the text: the props are read from their raw JSON, and no tree of the
        // whole definition is built (a list of 40 actions was milliseconds of allocation).
        let mut w = WireComponent::<Option<Box<RawValue>>>::deserialize(d)?;
        if w.key.is_empty() {
            return Err(serde::de::Error::custom("the definition has no key"));
        }
        let raw = w.configurable_props.take();
        let props = match &raw {
            Some(raw) => lenient::props_from_text(raw.get()).map_err(serde::de::Error::custom)?,
            None => Vec::new(),
        };
        Ok(w.into_component(props, raw))
    }
}

/// An item of an app's component list. Only `getComponent` answers with the props as
/// received, and it reads the retrieve endpoint: a list item's props are parsed straight into
/// `Prop`s, and their text is neither scanned twice nor kept.
struct Listed {
    /// `None` for an item without a key: kept in the page (its count still tells when every
    /// page is here) but left out of the list.
    component: Option<Component>,
    /// `configurable_props` was missing or null: the definition must be fetched on its own.
    bare: bool,
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut w = WireComponent::<ListedProps>::deserialize(d)?;
        let props = w.configurable_props.0.take();
        Ok(Listed {
            bare: props.is_none(),
            component: (!w.key.is_empty())
                .then(|| w.into_component(props.unwrap_or_default(), None)),
        })
    }
}

/// A list item's `configurable_props`, read by `lenient::props`.
#[derive(Default)]
struct ListedProps(Option<Vec<Prop>>);

impl<'de> Deserialize<'de> for ListedProps {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::props(d).map(Self)
    }
}

/// One entry of `configurable_props`. Field names are camelCase on the wire.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prop {
    /// Empty when missing or not text: `lenient` leaves such a prop out of a list.
    #[serde(default, deserialize_with = "lenient::text_or_empty")]
    pub name: String,
    /// Empty when missing or not text: a prop of no known type.
    #[serde(rename = "type", default, deserialize_with = "lenient::text_or_empty")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub optional: Option<bool>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub hidden: Option<bool>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub disabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub with_label: Option<bool>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub remote_options: Option<bool>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub reload_props: Option<bool>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub secret: Option<bool>,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub options: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub min: Option<f64>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max: Option<f64>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub app: Option<String>,
    /// An `sql` prop's `{app}`: the database app its query runs on.
    #[serde(default)]
    pub auth: Option<Value>,
}

impl Prop {
    pub fn is_app(&self) -> bool {
        self.kind == "app"
    }

    /// Props a caller fills in `params`. The app prop is filled from the connected account;
    /// hidden, disabled, alert, interface and `dir` props are not user input (a `dir` prop is
    /// the action's /tmp directory, which Pipedream's own client skips as well).
    pub fn is_param(&self) -> bool {
        !(self.is_app()
            || self.hidden == Some(true)
            || self.disabled == Some(true)
            || self.kind == "alert"
            || self.kind == "dir"
            || self.kind.starts_with("$.interface.")
            || self.kind == "$.service.db")
    }

    /// Why a prop is not a parameter (`is_param` is false), phrased after "is not a
    /// parameter: ".
    pub fn why_not_param(&self) -> &'static str {
        if self.is_app() {
            "the connected account fills it"
        } else if self.kind == "alert" {
            "it is an alert, a note for the user"
        } else if self.kind == "dir" {
            "it is the action's /tmp directory, which Pipedream provides"
        } else if self.hidden == Some(true) {
            "it is hidden, set by the component itself"
        } else if self.disabled == Some(true) {
            "it is disabled"
        } else {
            "Pipedream provides it"
        }
    }

    /// Required means the caller must send it: not optional, not disabled, and no default to
    /// fall back on.
    pub fn required(&self) -> bool {
        self.optional != Some(true) && self.disabled != Some(true) && self.default.is_none()
    }

    /// Whether `configureProp` lists its choices: `remoteOptions`, or a Discord channel
    /// picker (Pipedream's own form loads those through configure whatever the flag says).
    pub fn has_remote_options(&self) -> bool {
        self.remote_options == Some(true)
            || matches!(
                self.kind.as_str(),
                "$.discord.channel" | "$.discord.channel[]"
            )
    }

    pub fn reloads_props(&self) -> bool {
        self.reload_props == Some(true)
    }

    /// Static options as `{label, value}`, whatever form the API used: objects, `{__lv}`
    /// wrappers or bare values.
    pub fn static_options(&self) -> Option<Vec<OptionItem>> {
        let options = self.options.as_ref()?.iter();
        Some(options.filter_map(OptionItem::from_wire).collect())
    }

    /// The first `n` static options, borrowed, and how many there are: a compact list shows
    /// a few of a prop's options, and some props have hundreds (time zones, countries). A list
    /// is rendered at several detail levels for every cache miss, so nothing is copied.
    pub fn first_static_options(&self, n: usize) -> Option<(Vec<OptionRef<'_>>, usize)> {
        let mut options = self.options.as_ref()?.iter().filter_map(OptionItem::read);
        let first: Vec<OptionRef> = options
            .by_ref()
            .take(n)
            .map(|(label, value)| OptionRef { label, value })
            .collect();
        let total = first.len() + options.count();
        Some((first, total))
    }
}

/// An `OptionItem` borrowed from its prop; it serializes the same.
#[derive(Debug, PartialEq, Serialize)]
pub struct OptionRef<'a> {
    pub label: Cow<'a, str>,
    pub value: &'a Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionItem {
    pub label: String,
    pub value: Value,
}

impl OptionItem {
    pub fn from_wire(v: &Value) -> Option<Self> {
        Self::read(v).map(Self::owned)
    }

    fn owned((label, value): (Cow<'_, str>, &Value)) -> Self {
        Self {
            label: label.into_owned(),
            value: value.clone(),
        }
    }

    /// The label and value `v` stands for, borrowed, or `None` when it is no option.
    fn read(v: &Value) -> Option<(Cow<'_, str>, &Value)> {
        let v = v.get("__lv").unwrap_or(v);
        match v {
            Value::Object(o) => {
                // An option with a label and no value stands for its label.
                let value = match (o.get("value"), o.get("label")) {
                    (Some(v), _) if !v.is_null() => v,
                    (_, Some(label @ Value::String(_))) => label,
                    _ => return None,
                };
                let label = match o.get("label") {
                    Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                    _ => label_of(value),
                };
                Some((label, value))
            }
            Value::Null => None,
            other => Some((label_of(other), other)),
        }
    }
}

fn label_of(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

impl Component {
    /// The first app prop, whose value is the connected account (`{authProvisionId}`).
    pub fn app_prop(&self) -> Option<&Prop> {
        self.app_props().next()
    }

    /// Every app prop: an action that moves data between two apps has two.
    pub fn app_props(&self) -> impl Iterator<Item = &Prop> {
        self.props.iter().filter(|p| p.is_app())
    }

    /// Action or trigger, as the definition says; `None` when it does not say (the API
    /// documents `component_type` as optional), which leaves the call to the API to refuse.
    pub fn kind(&self) -> Option<ComponentKind> {
        match self.component_type.as_deref() {
            Some("action") => Some(ComponentKind::Action),
            // Pipedream's registry calls triggers sources.
            Some("trigger" | "source") => Some(ComponentKind::Trigger),
            _ => None,
        }
    }

    pub fn params(&self) -> impl Iterator<Item = &Prop> {
        self.props.iter().filter(|p| p.is_param())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    Action,
    Trigger,
}

impl ComponentKind {
    pub fn plural(self) -> &'static str {
        match self {
            Self::Action => "actions",
            Self::Trigger => "triggers",
        }
    }

    /// "action" or "actions" as `n` asks.
    pub fn noun(self, n: usize) -> &'static str {
        match (self, n) {
            (Self::Action, 1) => "action",
            (Self::Trigger, 1) => "trigger",
            _ => self.plural(),
        }
    }
}

/// Everything fetched for one app and kind.
#[derive(Debug)]
pub struct AppComponents {
    pub service_name: String,
    /// Whether the components' app props take an account (not when the app has no auth).
    pub needs_account: bool,
    pub components: Vec<Component>,
}

/// What the catalog already says of an app, so that listing its components need not ask.
pub struct KnownApp {
    pub name: String,
    pub needs_account: bool,
}

impl Connect {
    /// A component's definition, through the cache; also used to check configure and run calls.
    pub async fn component(
        &self,
        id: &str,
        version: Option<&str>,
        bearer: &Bearer,
    ) -> Result<Lookup<Arc<Component>>> {
        let key = (id.to_owned(), version.map(str::to_owned));
        self.components
            .get_or_fetch_dated(key, async {
                let path = self.project_path(&format!("components/{id}"))?;
                let query: Vec<(&str, String)> =
                    version.iter().map(|v| ("version", (*v).to_owned())).collect();
                let found: Result<Dated<One<Component>>> = self
                    .api
                    .get_shared(EndpointClass::Read, &path, &query, bearer)
                    .await;
                found.map(|one| one.map(|one| Arc::new(one.data))).map_err(|e| {
                    self.explain_not_found(e, || format!(
                        "there is no component {id:?}{}; call getComponents (pipedream_get_components) for the app's component ids",
                        version.map(|v| format!(" at version {v}")).unwrap_or_default()
                    ))
                })
            })
            .await
    }

    /// A fresh cached definition, without waiting, and its ticket.
    pub fn cached_component(
        &self,
        id: &str,
        version: Option<&str>,
    ) -> Option<(Arc<Component>, Ticket)> {
        self.components
            .probe_ticket(&(id.to_owned(), version.map(str::to_owned)))
    }

    /// All of an app's components of one kind (every page), through the cache. `app_name`, when
    /// the caller knows it (from the app catalog), spares the request for the app itself.
    pub async fn app_components(
        &self,
        app_slug: &str,
        kind: ComponentKind,
        known: Option<KnownApp>,
    ) -> Result<Lookup<Arc<AppComponents>>> {
        self.app_components
            .get_or_fetch_dated(
                (app_slug.to_owned(), kind),
                self.fetch_app_components(app_slug, kind, known),
            )
            .await
    }

    /// A fresh cached list, without waiting, and its ticket.
    pub fn cached_app_components(
        &self,
        app_slug: &str,
        kind: ComponentKind,
    ) -> Option<(Arc<AppComponents>, Ticket)> {
        self.app_components
            .probe_ticket(&(app_slug.to_owned(), kind))
    }

    async fn fetch_app_components(
        &self,
        app_slug: &str,
        kind: ComponentKind,
        known: Option<KnownApp>,
    ) -> Result<Dated<Arc<AppComponents>>> {
        let path = self.project_path(kind.plural())?;
        let app = async {
            // Known from the catalog: the app exists, and that is all that is needed of it.
            if let Some(known) = known {
                return Ok(Dated::now(known));
            }
            // Through the records' cache: a getComponent or a run of the app reads it next.
            let found = self.app_record_dated(app_slug, &Bearer::Client).await?;
            // An app whose name is no text is named by its slug.
            Ok(found.map(|app| KnownApp {
                needs_account: app.needs_account(),
                name: app.name.clone().unwrap_or_else(|| app_slug.to_owned()),
            }))
        };
        let list = pagination::collect_dated(MAX_COMPONENTS_PER_APP, |after, want| {
            let mut query = vec![
                ("app", app_slug.to_owned()),
                ("limit", want.min(PAGE_SIZE).to_string()),
            ];
            query.extend(after.map(|a| ("after", a)));
            let path = path.clone();
            async move {
                self.api
                    .get_shared::<Page<Listed>>(EndpointClass::Read, &path, &query, &Bearer::Client)
                    .await
            }
        });
        let (app, list) = futures::try_join!(app, list)?;
        let age = app.age.max(list.age);
        // List items may come without `configurable_props` (the API documents them as
        // optional there): those definitions are fetched one by one, a few at a time, once.
        let listed = list.value.len();
        let mut missing: Vec<(usize, String)> = Vec::new();
        let mut components: Vec<Component> = Vec::with_capacity(listed);
        // A keyless item is left out; a list of nothing but keyless items is a broken answer.
        for Listed { component, bare } in list.value {
            let Some(component) = component else { continue };
            if bare {
                missing.push((components.len(), component.key.clone()));
            }
            components.push(component);
        }
        if components.is_empty() && listed > 0 {
            return Err(Error::BadResponse(format!(
                "none of the {listed} components the API listed has a key"
            )));
        }
        let fetched: Vec<(usize, Result<Arc<Component>>)> = futures::stream::iter(missing)
            .map(|(i, key)| async move {
                let found = self.component(&key, None, &Bearer::Client).await;
                (i, found.map(|l| l.value))
            })
            .buffer_unordered(DEFINITIONS_IN_FLIGHT)
            .collect()
            .await;
        for (i, found) in fetched {
            components[i] = found?.as_ref().clone();
        }
        Ok(Dated {
            value: Arc::new(AppComponents {
                service_name: app.value.name,
                needs_account: app.value.needs_account,
                components,
            }),
            age,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_in_every_wire_form() {
        let p: Prop = serde_json::from_value(json!({
            "name": "mode", "type": "string",
            "options": ["add", {"label": "Overwrite", "value": "overwrite"},
                        {"__lv": {"label": "Update", "value": "update"}}, 5, null]
        }))
        .unwrap();
        let o = p.static_options().unwrap();
        assert_eq!(o.len(), 4);
        assert_eq!(
            o[0],
            OptionItem {
                label: "add".into(),
                value: json!("add")
            }
        );
        assert_eq!(o[1].label, "Overwrite");
        assert_eq!(o[2].value, json!("update"));
        assert_eq!(
            o[3],
            OptionItem {
                label: "5".into(),
                value: json!(5)
            }
        );
    }

    #[test]
    fn the_first_options_and_the_count_agree_with_the_whole_list() {
        let options: Vec<Value> = (0..40)
            .map(|i| match i % 5 {
                0 => json!(format!("v{i}")),
                1 => json!({ "label": format!("L{i}"), "value": i }),
                2 => json!({ "__lv": { "label": format!("W{i}"), "value": [i] } }),
                3 => json!(null),
                _ => json!({ "value": null }),
            })
            .collect();
        let p: Prop =
            serde_json::from_value(json!({ "name": "tz", "type": "string", "options": options }))
                .unwrap();
        let all: Vec<OptionItem> = options.iter().filter_map(OptionItem::from_wire).collect();
        assert_eq!(all.len(), 24);
        for n in [0, 1, 8, 24, 25, usize::MAX] {
            let (first, total) = p.first_static_options(n).unwrap();
            assert_eq!(total, all.len());
            assert_eq!(
                serde_json::to_value(&first).unwrap(),
                serde_json::to_value(&all[..n.min(all.len())]).unwrap(),
                "{n}"
            );
        }
        let none: Prop = serde_json::from_value(json!({ "name": "x", "type": "string" })).unwrap();
        assert_eq!(none.first_static_options(3), None);
    }

    #[test]
    fn a_list_item_without_a_key_stays_in_its_page_but_is_no_component() {
        let page: Page<Listed> = serde_json::from_value(json!({"data": [
            {"name": "No key", "configurable_props": []},
            {"key": 5, "name": "A key that is no text"},
            {"key": "app-ok", "name": 3, "version": 1, "description": null,
             "configurable_props": [{"name": "x", "type": "string", "optional": "yes"}, "junk"]},
            {"key": "app-bare", "name": "Bare"},
        ], "page_info": {"total_count": 4}}))
        .unwrap();
        assert_eq!(page.data.len(), 4, "the page keeps its count");
        assert!(page.data[0].component.is_none() && page.data[1].component.is_none());
        let ok = page.data[2].component.as_ref().unwrap();
        assert_eq!(
            (
                ok.name.as_str(),
                ok.version.as_str(),
                ok.description.as_str()
            ),
            ("app-ok", "", ""),
            "a name that is no text falls back on the key"
        );
        assert_eq!((ok.props.len(), ok.props[0].optional), (1, None));
        assert!(!page.data[2].bare && page.data[3].bare);
    }

    #[test]
    fn a_retrieved_definition_needs_a_key_and_keeps_its_props_text() {
        let c: Component = serde_json::from_value(json!({
            "key": "app-x", "name": "X", "version": "1.0.0",
            "configurable_props": [{"name": "n", "type": "integer", "min": "0"}, 42],
        }))
        .unwrap();
        assert_eq!((c.props.len(), c.props[0].min), (1, Some(0.0)));
        let raw: Value = serde_json::from_str(c.raw_props.as_ref().unwrap().get()).unwrap();
        assert_eq!(
            raw[1],
            json!(42),
            "getComponent answers with the props as sent"
        );
        let e = serde_json::from_value::<Component>(json!({"name": "X"})).unwrap_err();
        assert!(e.to_string().contains("no key"), "{e}");
    }
}
