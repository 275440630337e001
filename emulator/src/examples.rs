//! Example params for a component, built from its fixture alone (prop types, options, bounds,
//! remote options): an independent source of valid input that clients can check their own
//! schemas and validation against. Props that are not user input are left out: app, alert,
//! interface, `$.service.db`, `dir` (Pipedream's own client skips them), hidden and disabled.

use serde_json::{Map, Value, json};

use crate::catalog::{Component, prop_flag, prop_name, prop_type};

pub fn example_params(c: &Component) -> Map<String, Value> {
    let mut params = Map::new();
    for p in &c.props {
        let (Some(name), Some(kind)) = (prop_name(p), prop_type(p)) else {
            continue;
        };
        if kind == "app"
            || kind == "alert"
            || kind == "dir"
            || kind.starts_with("$.interface.")
            || kind == "$.service.db"
            || prop_flag(p, "hidden")
            || prop_flag(p, "disabled")
        {
            continue;
        }
        let choice = first_choice(c, name, p);
        params.insert(name.to_string(), value_for(kind, p, choice));
    }
    params
}

/// A static option's value, else the first remote option's.
fn first_choice(c: &Component, name: &str, p: &Value) -> Option<Value> {
    let unwrap = |o: &Value| {
        let o = o.get("__lv").unwrap_or(o);
        match o {
            Value::Object(m) => m.get("value").cloned(),
            other => Some(other.clone()),
        }
    };
    if let Some(first) = p
        .get("options")
        .and_then(Value::as_array)
        .and_then(|o| o.first())
    {
        return unwrap(first);
    }
    let remote = c.emu.remote_options.get(name)?;
    remote
        .options
        .as_ref()
        .and_then(|o| o.first())
        .and_then(unwrap)
        .or_else(|| remote.string_options.as_ref()?.first().cloned())
}

fn value_for(kind: &str, p: &Value, choice: Option<Value>) -> Value {
    let min = p.get("min").and_then(Value::as_i64);
    let max = p.get("max").and_then(Value::as_i64);
    let int = || json!(min.unwrap_or(1).max(max.map_or(i64::MIN, |m| m.min(1))));
    match kind {
        "string[]" | "$.discord.channel[]" => json!([choice.unwrap_or_else(|| json!("example"))]),
        "integer[]" => json!([choice.unwrap_or_else(int)]),
        "integer" => choice.unwrap_or_else(int),
        "boolean" => choice.unwrap_or(json!(true)),
        "object" | "http_request" => json!({ "key": "value" }),
        "sql" => json!("SELECT 1"),
        _ => choice.unwrap_or_else(|| json!("example")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn examples_respect_types_options_and_bounds() {
        let cat = Catalog::builtin().unwrap();
        let gmail = cat.component("gmail-search-emails").unwrap();
        let p = example_params(gmail);
        assert!(p.get("gmail").is_none());
        assert_eq!(p["query"], json!("example"));
        let n = p["maxResults"].as_i64().unwrap();
        assert!((1..=500).contains(&n));
        let stripe = cat.component("stripe-create-payment-intent").unwrap();
        let p = example_params(stripe);
        assert!(p["amount"].as_i64().unwrap() >= 50);
        assert_eq!(p["currency"], json!("usd"));
    }
}
