//! The compact views of components an LLM reads: parameter lists with their detail cut to fit
//! a byte budget.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::engine::connect::components::{Component, OptionRef, Prop};
use crate::engine::director::tools::budget::{Trimmed, cut, fold, trim, without_doc_link};

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
    pub description: Option<Trimmed<'a>>,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<&'a Value>,
    /// Static choices; long lists are cut (see `options_total`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionRef<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options_total: Option<usize>,
    /// Choices come from `configureProp` (they depend on the user's account).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub remote_options: bool,
}

impl<'a> Parameter<'a> {
    /// At the most detail, for one component's answer.
    pub fn compact(p: &'a Prop) -> Self {
        let detail = Detail::LEVELS[0];
        let description = p
            .description
            .as_deref()
            .map(|d| trim(without_doc_link(d), detail.param_description_chars));
        Self::with(p, description, detail)
    }

    /// In a list: `folded` is the description as `Folded` keeps it.
    pub fn at(p: &'a Prop, folded: Option<&'a str>, detail: Detail) -> Self {
        let description = folded.map(|d| cut(d, detail.param_description_chars));
        Self::with(p, description, detail)
    }

    /// The fewest bytes this serializes to (see `ComponentSummary::min_json_len`).
    fn min_json_len(&self) -> usize {
        let mut n = 2 + field("name", text(self.name)) + 1 + field("type", text(self.kind));
        n += 1 + field("required", boolean(self.required));
        if let Some(label) = self.label {
            n += 1 + field("label", text(label));
        }
        if let Some(d) = &self.description {
            n += 1 + field("description", d.len() + 2);
        }
        if self.default.is_some() {
            n += 1 + field("default", 1);
        }
        if let Some(options) = &self.options {
            let items: usize = options
                .iter()
                .map(|o| 2 + field("label", text(&o.label)) + 1 + field("value", 1))
                .sum();
            n += 1 + field("options", list(items, options.len()));
        }
        if self.options_total.is_some() {
            n += 1 + field("options_total", 1);
        }
        if self.remote_options {
            n += 1 + field("remote_options", boolean(true));
        }
        n
    }

    fn with(p: &'a Prop, description: Option<Trimmed<'a>>, detail: Detail) -> Self {
        let (options, total) = p.first_static_options(detail.listed_options).unzip();
        Self {
            name: &p.name,
            kind: &p.kind,
            label: p.label.as_deref().filter(|l| *l != p.name),
            description: description.filter(|d| !d.says_nothing()),
            required: p.required(),
            default: p.default.as_ref(),
            options,
            options_total: total.filter(|&n| n > detail.listed_options),
            remote_options: p.has_remote_options(),
        }
    }
}

/// A component with its description and its parameters' as lists show them (without the
/// documentation link, white space folded), made once for every detail level a list tries.
pub struct Folded<'a> {
    component: &'a Component,
    description: Cow<'a, str>,
    params: Vec<(&'a Prop, Option<Cow<'a, str>>)>,
}

impl<'a> Folded<'a> {
    pub fn of(c: &'a Component) -> Self {
        let folded = |d: &'a str| fold(without_doc_link(d));
        Self {
            component: c,
            description: folded(&c.description),
            params: c
                .params()
                .map(|p| (p, p.description.as_deref().map(folded)))
                .collect(),
        }
    }
}

/// One entry of `getComponents`.
#[derive(Debug, Serialize)]
pub struct ComponentSummary<'a> {
    pub component_id: &'a str,
    pub name: &'a str,
    pub description: Trimmed<'a>,
    pub version: &'a str,
    pub parameters: Vec<Parameter<'a>>,
    pub auth_required: bool,
    pub app: &'a str,
}

impl<'a> ComponentSummary<'a> {
    /// `needs_account`: whether `app_slug` (the app listed) takes an account; an app prop of
    /// another app is taken to.
    pub fn of(
        folded: &'a Folded<'a>,
        app_slug: &'a str,
        needs_account: bool,
        detail: Detail,
    ) -> Self {
        let c = folded.component;
        Self {
            component_id: &c.key,
            name: &c.name,
            description: cut(&folded.description, detail.component_description_chars),
            version: &c.version,
            parameters: folded
                .params
                .iter()
                .map(|(p, d)| Parameter::at(p, d.as_deref(), detail))
                .collect(),
            auth_required: c
                .app_props()
                .any(|p| needs_account || p.app.as_deref() != Some(app_slug)),
            app: c
                .app_prop()
                .and_then(|p| p.app.as_deref())
                .unwrap_or(app_slug),
        }
    }
}

impl ComponentSummary<'_> {
    /// The fewest bytes `to_json` can make of this: every key, bracket and comma, each text
    /// unescaped (escaping only lengthens one), any other JSON value one byte. A list skips a
    /// detail level these floors already put over its budget, without rendering it. It must
    /// follow the fields above: one it leaves out only loosens the floor, but a floor above
    /// the real length would drop a level that fits (a test compares them).
    pub fn min_json_len(&self) -> usize {
        let parameters: usize = self.parameters.iter().map(Parameter::min_json_len).sum();
        2 + field("component_id", text(self.component_id))
            + 1
            + field("name", text(self.name))
            + 1
            + field("description", self.description.len() + 2)
            + 1
            + field("version", text(self.version))
            + 1
            + field("parameters", list(parameters, self.parameters.len()))
            + 1
            + field("auth_required", boolean(self.auth_required))
            + 1
            + field("app", text(self.app))
    }
}

/// `"key":` and a value of `value` bytes.
fn field(key: &str, value: usize) -> usize {
    key.len() + 3 + value
}

/// A string's quotes and bytes.
fn text(s: &str) -> usize {
    s.len() + 2
}

fn boolean(b: bool) -> usize {
    if b { 4 } else { 5 }
}

/// Brackets and commas around `count` items of `items` bytes in all.
fn list(items: usize, count: usize) -> usize {
    2 + items + count.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The floor is never above the real length, for every fixture component (real registry
    /// shapes: options as objects, defaults, remote options, non-ASCII and quoted text) at
    /// every level.
    #[test]
    fn a_summary_is_never_shorter_than_its_floor() {
        let fixtures: Vec<Value> = serde_json::from_str(include_str!(
            "../../../../emulator/fixtures/components.json"
        ))
        .unwrap();
        assert!(fixtures.len() > 100);
        let (mut floors, mut lengths) = (0, 0);
        for wire in &fixtures {
            let c: Component = serde_json::from_value(wire.clone()).unwrap();
            let folded = Folded::of(&c);
            for detail in Detail::LEVELS {
                let s = ComponentSummary::of(&folded, "app", true, detail);
                let (floor, len) = (s.min_json_len(), crate::engine::json::to_json(&s).len());
                assert!(floor <= len, "{}: floor {floor} > {len}", c.key);
                (floors, lengths) = (floors + floor, lengths + len);
            }
        }
        // Most text is plain ASCII: the floors are close enough to skip a level that is over.
        assert!(floors * 100 > lengths * 90, "{floors} of {lengths}");
    }

    /// Where nothing needs escaping and every other value is one byte, the floor is the
    /// length: it counts every key, bracket and comma `to_json` writes.
    #[test]
    fn the_floor_of_plain_text_is_its_length() {
        let c: Component = serde_json::from_value(json!({
            "key": "x-y", "name": "Y", "version": "1.0.0",
            "description": "Does a thing to a record. It is long enough to be cut at the two shorter levels, which end the text with an ellipsis; see how it goes on and on and on.",
            "configurable_props": [
                {"name": "x", "type": "app", "app": "x"},
                {"name": "a", "type": "string", "label": "A", "description": "The a. A long description that is cut at the first two levels and left out at the last.", "default": 1},
                {"name": "b", "type": "string", "label": "Bee", "options": (1..=9).map(|i| json!({"label": format!("Option {i}"), "value": i})).collect::<Vec<_>>()},
                {"name": "c", "type": "string", "remoteOptions": true, "optional": true}
            ]
        }))
        .unwrap();
        let folded = Folded::of(&c);
        for detail in Detail::LEVELS {
            let s = ComponentSummary::of(&folded, "app", true, detail);
            let json = crate::engine::json::to_json(&s);
            let len = json.len() - json.matches("\\u2026").count() * 3;
            assert_eq!(s.min_json_len(), len, "{json}");
        }
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
        let folded = Folded::of(&c);
        let s = ComponentSummary::of(&folded, "x", true, Detail::LEVELS[0]);
        assert!(s.auth_required);
        let names: Vec<&str> = s.parameters.iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["query", "max"]);
        assert!(s.parameters[0].required);
        let described = s.parameters[0].description.as_ref();
        assert_eq!(
            described.map(ToString::to_string).as_deref(),
            Some("What to find.")
        );
        assert!(!s.parameters[1].required);
    }

    /// An app without auth (helper functions) takes no account: its components say so, unless
    /// another app's prop needs one.
    #[test]
    fn an_app_without_auth_requires_none() {
        let component = |props: serde_json::Value| -> Component {
            let c = json!({"key": "h-x", "name": "X", "version": "1", "configurable_props": props});
            serde_json::from_value(c).unwrap()
        };
        let alone = component(json!([{"name": "h", "type": "app", "app": "h"}]));
        let folded = Folded::of(&alone);
        assert!(!ComponentSummary::of(&folded, "h", false, Detail::LEVELS[0]).auth_required);
        assert!(ComponentSummary::of(&folded, "h", true, Detail::LEVELS[0]).auth_required);
        let with_slack = component(json!([
            {"name": "h", "type": "app", "app": "h"},
            {"name": "slack", "type": "app", "app": "slack"}
        ]));
        let folded = Folded::of(&with_slack);
        assert!(ComponentSummary::of(&folded, "h", false, Detail::LEVELS[0]).auth_required);
    }
}
