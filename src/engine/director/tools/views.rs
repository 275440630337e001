//! The compact views of components an LLM reads: parameter lists with their detail cut to fit
//! a byte budget.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::engine::connect::components::{Component, OptionItem, Prop};
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
    pub options: Option<Vec<OptionItem>>,
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
    pub fn of(folded: &'a Folded<'a>, app_slug: &'a str, detail: Detail) -> Self {
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
            auth_required: c.app_prop().is_some(),
            app: c
                .app_prop()
                .and_then(|p| p.app.as_deref())
                .unwrap_or(app_slug),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let s = ComponentSummary::of(&folded, "x", Detail::LEVELS[0]);
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
}
