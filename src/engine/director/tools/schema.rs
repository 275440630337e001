//! `configurable_props` → a JSON Schema (draft 2020-12) for a component's `params`, so an LLM
//! knows each parameter's type, bounds and choices before a run. Each value's schema comes
//! from `prop_type`, the same table `validate` checks params with.

use serde_json::{Map, Value, json};

use crate::engine::connect::components::Prop;

pub const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

pub fn input_schema(props: &[Prop]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut reloads = false;
    for p in props.iter().filter(|p| p.is_param()) {
        properties.insert(p.name.clone(), prop_schema(p));
        if p.required() {
            required.push(Value::String(p.name.clone()));
        }
        reloads |= p.reloads_props();
    }
    json!({
        "$schema": DRAFT,
        "type": "object",
        "properties": properties,
        "required": required,
        // Props added by a reload are not known yet, so they cannot be refused.
        "additionalProperties": reloads,
    })
}

/// One param's schema: its value's (from `PropType`, the table `validate` checks with too),
/// plus what helps fill it.
fn prop_schema(p: &Prop) -> Value {
    let shape = p.prop_type().shape(p);
    let mut s = shape.schema();
    // A required value is not empty, as `validate` has it.
    if p.required() {
        not_empty(&mut s, !p.prop_type().empty_text_is_a_value(p));
    }
    if let Some(label) = &p.label {
        s.insert("title".into(), json!(label));
    }
    if let Some(d) = p.description.as_deref().filter(|d| !d.is_empty()) {
        s.insert("description".into(), json!(d));
    }
    if let Some(default) = &p.default {
        s.insert("default".into(), default.clone());
    }
    if p.secret == Some(true) {
        s.insert("writeOnly".into(), json!(true));
    }
    if p.has_remote_options() {
        s.insert("x-remote-options".into(), json!(true));
    }
    if p.reloads_props() {
        s.insert("x-reload-props".into(), json!(true));
    }
    s.insert("x-pipedream-type".into(), json!(p.kind));
    Value::Object(s)
}

/// Refuses an empty list, and an empty text when `text`, wherever `s` would take them:
/// `minLength` beside a string type, `minItems` beside an array type, in each branch of an
/// `anyOf`; a schema of any value refuses both and null with a `not`. Strict validators
/// (ajv's `strictTypes`) refuse those keywords anywhere but beside their type.
fn not_empty(s: &mut Map<String, Value>, text: bool) {
    match s.get("type").and_then(Value::as_str) {
        Some("string") if text => {
            s.insert("minLength".into(), json!(1));
        }
        Some("array") => {
            s.insert("minItems".into(), json!(1));
        }
        Some(_) => {}
        None => match s.get_mut("anyOf") {
            Some(Value::Array(branches)) => {
                for branch in branches.iter_mut().filter_map(Value::as_object_mut) {
                    not_empty(branch, text);
                }
            }
            _ => {
                let empty = match text {
                    true => json!([null, "", []]),
                    false => json!([null, []]),
                };
                s.insert("not".into(), json!({ "enum": empty }));
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(v: Value) -> Vec<Prop> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn maps_types_bounds_options_and_required() {
        let s = input_schema(&props(json!([
            {"name": "gmail", "type": "app", "app": "gmail"},
            {"name": "query", "type": "string", "label": "Query", "description": "Search"},
            {"name": "maxResults", "type": "integer", "min": 1, "max": 500, "optional": true, "default": 20},
            {"name": "labelIds", "type": "string[]", "optional": true, "remoteOptions": true},
            {"name": "currency", "type": "string", "options": ["usd", "eur"]},
            {"name": "sizes", "type": "integer[]", "min": 1, "options": [{"label": "One", "value": 1}]},
            {"name": "sheetId", "type": "string", "reloadProps": true},
            {"name": "note", "type": "alert", "content": "x"},
            {"name": "hiddenOne", "type": "string", "hidden": true},
            {"name": "anything", "type": "any"}
        ])));
        assert_eq!(s["$schema"], DRAFT);
        let p = &s["properties"];
        assert!(
            p.get("gmail").is_none() && p.get("note").is_none() && p.get("hiddenOne").is_none()
        );
        assert_eq!(p["query"]["type"], "string");
        assert_eq!(p["query"]["title"], "Query");
        assert_eq!(p["maxResults"]["minimum"], 1);
        assert_eq!(p["maxResults"]["maximum"], 500);
        assert_eq!(p["maxResults"]["default"], 20);
        // Chosen through configureProp: a list, or one {"__lv": [...]} around it.
        assert_eq!(p["labelIds"]["anyOf"][0]["items"]["type"], "string");
        assert_eq!(
            p["labelIds"]["anyOf"][1]["properties"]["__lv"]["type"],
            "array"
        );
        assert_eq!(p["labelIds"]["x-remote-options"], true);
        // Required values are not empty.
        assert_eq!(p["query"]["minLength"], 1);
        assert!(p["query"].get("minItems").is_none());
        // Beside its type, where strict validators want it: in the list's branch.
        assert!(p["sizes"].get("minItems").is_none());
        assert_eq!(p["sizes"]["anyOf"][0]["minItems"], 1);
        assert!(p["maxResults"].get("minLength").is_none());
        // Any value: neither empty nor null.
        assert_eq!(p["anything"]["not"], json!({"enum": [null, "", []]}));
        // A choice from static options may also arrive as {"__lv": {label, value}}, as
        // Pipedream's own client sends it (and `validate` takes it): so the enum is a branch.
        assert_eq!(p["currency"]["anyOf"][0]["enum"], json!(["usd", "eur"]));
        assert_eq!(
            p["currency"]["anyOf"][1]["properties"]["__lv"]["properties"]["value"]["enum"],
            json!(["usd", "eur"])
        );
        assert_eq!(p["sizes"]["anyOf"][0]["items"]["enum"], json!([1]));
        assert_eq!(p["sizes"]["anyOf"][0]["items"]["minimum"], 1);
        assert_eq!(p["sheetId"]["x-reload-props"], true);
        assert_eq!(p["anything"]["x-pipedream-type"], "any");
        assert!(p["anything"].get("type").is_none());
        assert_eq!(
            s["required"],
            json!(["query", "currency", "sizes", "sheetId", "anything"])
        );
        assert_eq!(s["additionalProperties"], true);
    }

    #[test]
    fn closed_when_nothing_reloads() {
        let s = input_schema(&props(
            json!([{"name": "q", "type": "string", "optional": true}]),
        ));
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], json!([]));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const TYPES: [&str; 12] = [
        "string",
        "string[]",
        "integer",
        "integer[]",
        "boolean",
        "object",
        "any",
        "app",
        "alert",
        "$.interface.timer",
        "$.airtable.baseId",
        "sql",
    ];

    proptest! {
        /// Every param becomes exactly one property, `required` lists only properties, and
        /// the internal props never show.
        #[test]
        fn schema_matches_the_params(
            props in proptest::collection::vec(
                ("[a-z][a-zA-Z0-9]{0,10}", 0..TYPES.len(), any::<bool>(), any::<bool>(), proptest::option::of(0i64..100)),
                0..12,
            )
        ) {
            let mut seen = std::collections::HashSet::new();
            let props: Vec<Prop> = props
                .into_iter()
                .filter(|(name, ..)| seen.insert(name.clone()))
                .map(|(name, t, optional, hidden, min)| {
                    serde_json::from_value(json!({
                        "name": name, "type": TYPES[t], "optional": optional, "hidden": hidden, "min": min
                    }))
                    .unwrap()
                })
                .collect();
            let schema = input_schema(&props);
            let properties = schema["properties"].as_object().unwrap();
            let params: Vec<&Prop> = props.iter().filter(|p| p.is_param()).collect();
            prop_assert_eq!(properties.len(), params.len());
            for p in &params {
                prop_assert!(properties.contains_key(&p.name));
            }
            for r in schema["required"].as_array().unwrap() {
                let name = r.as_str().unwrap();
                prop_assert!(properties.contains_key(name));
                prop_assert!(props.iter().any(|p| p.name == name && p.required()));
            }
        }
    }
}
