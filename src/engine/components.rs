//! Components (actions and triggers) as the API sends them, and the compact views the
//! discovery tools build from them: parameter lists and word ranking.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::budget::{trim_text, without_doc_link};
use super::ranking::{Query, Score, words};

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

#[derive(Deserialize)]
struct WireComponent {
    key: String,
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    component_type: Option<String>,
    #[serde(default)]
    configurable_props: Option<Box<RawValue>>,
    #[serde(default)]
    annotations: Option<Value>,
}

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Straight from the text: the props are read from their raw JSON, and no tree of the
        // whole definition is built (a list of 40 actions was milliseconds of allocation).
        let w = WireComponent::deserialize(d)?;
        let props = match &w.configurable_props {
            Some(raw) if raw.get() != "null" => {
                serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?
            }
            _ => Vec::new(),
        };
        Ok(Component {
            key: w.key,
            name: w.name,
            version: w.version.unwrap_or_default(),
            description: w.description.unwrap_or_default(),
            component_type: w.component_type,
            props,
            annotations: w.annotations.filter(|a| a.is_object()),
            raw_props: w.configurable_props,
        })
    }
}

/// One entry of `configurable_props`. Field names are camelCase on the wire.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prop {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub optional: Option<bool>,
    #[serde(default)]
    pub hidden: Option<bool>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub with_label: Option<bool>,
    #[serde(default)]
    pub remote_options: Option<bool>,
    #[serde(default)]
    pub reload_props: Option<bool>,
    #[serde(default)]
    pub secret: Option<bool>,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub options: Option<Vec<Value>>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub app: Option<String>,
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

    /// Required means the caller must send it: not optional, not disabled, and no default to
    /// fall back on.
    pub fn required(&self) -> bool {
        self.optional != Some(true) && self.disabled != Some(true) && self.default.is_none()
    }

    pub fn has_remote_options(&self) -> bool {
        self.remote_options == Some(true)
    }

    pub fn reloads_props(&self) -> bool {
        self.reload_props == Some(true)
    }

    /// Static options as `{label, value}`, whatever form the API used: objects, `{__lv}`
    /// wrappers or bare values.
    pub fn static_options(&self) -> Option<Vec<OptionItem>> {
        let options = self.options.as_ref()?;
        Some(options.iter().filter_map(OptionItem::from_wire).collect())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionItem {
    pub label: String,
    pub value: Value,
}

impl OptionItem {
    pub fn from_wire(v: &Value) -> Option<Self> {
        let v = v.get("__lv").unwrap_or(v);
        match v {
            Value::Object(o) => {
                // An option with a label and no value stands for its label.
                let value = match (o.get("value"), o.get("label")) {
                    (Some(v), _) if !v.is_null() => v.clone(),
                    (_, Some(label @ Value::String(_))) => label.clone(),
                    _ => return None,
                };
                let label = match o.get("label") {
                    Some(Value::String(s)) => s.clone(),
                    _ => label_of(&value),
                };
                Some(Self { label, value })
            }
            Value::Null => None,
            other => Some(Self {
                label: label_of(other),
                value: other.clone(),
            }),
        }
    }
}

fn label_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
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

    pub fn is_trigger(&self) -> bool {
        self.component_type.as_deref() == Some("trigger")
    }

    pub fn params(&self) -> impl Iterator<Item = &Prop> {
        self.props.iter().filter(|p| p.is_param())
    }
}

/// How much detail a compact list carries. A list that would not fit its byte budget is
/// rebuilt at the next level down (see `discovery::components_answer`).
#[derive(Debug, Clone, Copy)]
pub struct Detail {
    pub component_description_chars: usize,
    /// 0 leaves parameter descriptions out.
    pub param_description_chars: usize,
    pub listed_options: usize,
}

impl Detail {
    pub const LEVELS: [Detail; 3] = [
        Detail {
            component_description_chars: 160,
            param_description_chars: 90,
            listed_options: 8,
        },
        Detail {
            component_description_chars: 120,
            param_description_chars: 48,
            listed_options: 5,
        },
        Detail {
            component_description_chars: 90,
            param_description_chars: 0,
            listed_options: 3,
        },
    ];
}

/// A parameter as `getComponents` lists it: enough to fill it, nothing more.
/// It borrows from the component: lists are built for every cache miss of a large app.
#[derive(Debug, Serialize)]
pub struct Parameter<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<&'a Value>,
    /// Static choices; long lists are cut (see `options_total`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options_total: Option<usize>,
    /// Choices come from `configureProp` (they depend on the user's account).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub remote_options: bool,
}

impl<'a> Parameter<'a> {
    pub fn compact(p: &'a Prop) -> Self {
        Self::at(p, Detail::LEVELS[0])
    }

    pub fn at(p: &'a Prop, detail: Detail) -> Self {
        let options = p.static_options();
        let total = options.as_ref().map(Vec::len);
        Self {
            name: &p.name,
            kind: &p.kind,
            label: p.label.as_deref().filter(|l| *l != p.name),
            description: p
                .description
                .as_deref()
                .map(|d| trim_text(without_doc_link(d), detail.param_description_chars))
                .filter(|d| !d.is_empty() && d != "…"),
            required: p.required(),
            default: p.default.as_ref(),
            options: options.map(|o| o.into_iter().take(detail.listed_options).collect()),
            options_total: total.filter(|&n| n > detail.listed_options),
            remote_options: p.has_remote_options(),
        }
    }
}

/// One entry of `getComponents`.
#[derive(Debug, Serialize)]
pub struct ComponentSummary<'a> {
    pub component_id: &'a str,
    pub name: &'a str,
    pub description: String,
    pub version: &'a str,
    pub parameters: Vec<Parameter<'a>>,
    pub auth_required: bool,
    pub app: &'a str,
}

impl<'a> ComponentSummary<'a> {
    pub fn of(c: &'a Component, app_slug: &'a str, detail: Detail) -> Self {
        Self {
            component_id: &c.key,
            name: &c.name,
            description: trim_text(
                without_doc_link(&c.description),
                detail.component_description_chars,
            ),
            version: &c.version,
            parameters: c.params().map(|p| Parameter::at(p, detail)).collect(),
            auth_required: c.app_prop().is_some(),
            app: c
                .app_prop()
                .and_then(|p| p.app.as_deref())
                .unwrap_or(app_slug),
        }
    }
}

/// Ranks components against a free-text query (see `ranking`): components matching none of
/// the words are dropped; an exact name or key match comes first.
pub fn rank<'a>(components: &'a [Component], query: &str) -> Vec<&'a Component> {
    let query = Query::new(query);
    if query.is_empty() {
        return components.iter().collect();
    }
    let mut scored: Vec<(Score, &Component)> = components
        .iter()
        .filter_map(|c| {
            let title = words(&format!("{} {}", c.key, c.name));
            let body = words(&c.description);
            query
                .score(&[&c.name, &c.key], &title, &body)
                .map(|s| (s, c))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
    scored.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component(key: &str, name: &str, description: &str) -> Component {
        serde_json::from_str(
            &json!({
                "key": key, "name": name, "version": "0.1.0", "description": description,
                "configurable_props": [{"name": "app", "type": "app", "app": "jira"}]
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn ranks_by_words_in_name_description_and_key() {
        let cs = vec![
            component(
                "jira-search-issues",
                "Search Issues with JQL",
                "Search issues.",
            ),
            component(
                "jira-create-issue",
                "Create Issue",
                "Creates an issue in Jira.",
            ),
            component(
                "jira-add-comment",
                "Add Comment",
                "Adds a comment to an issue.",
            ),
            component("jira-get-user", "Get User", "Gets a user."),
        ];
        let keys: Vec<&str> = rank(&cs, "create issue")
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys[0], "jira-create-issue");
        assert!(!keys.contains(&"jira-get-user"));
        let keys: Vec<&str> = rank(&cs, "comments")
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys, vec!["jira-add-comment"]);
        assert_eq!(rank(&cs, " ").len(), 4);
        // Asked for by its own name, a component comes first even when others match more.
        let keys: Vec<&str> = rank(&cs, "Get User")
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys[0], "jira-get-user");
    }

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
    fn compact_parameters_leave_out_the_app_and_internal_props() {
        let c: Component = serde_json::from_str(
            &json!({
            "key": "x-y", "name": "Y", "version": "1.0.0",
            "configurable_props": [
                {"name": "x", "type": "app", "app": "x"},
                {"name": "note", "type": "alert", "alertType": "info", "content": "hi"},
                {"name": "timer", "type": "$.interface.timer"},
                {"name": "secret_id", "type": "string", "hidden": true},
                {"name": "query", "type": "string", "label": "Query", "description": "What to find. [See the documentation](https://x)"},
                {"name": "max", "type": "integer", "optional": true, "default": 20}
            ]
            })
            .to_string(),
        )
        .unwrap();
        let s = ComponentSummary::of(&c, "x", Detail::LEVELS[0]);
        assert!(s.auth_required);
        let names: Vec<&str> = s.parameters.iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["query", "max"]);
        assert!(s.parameters[0].required);
        assert_eq!(
            s.parameters[0].description.as_deref(),
            Some("What to find.")
        );
        assert!(!s.parameters[1].required);
    }
}
