//! Turning an action's return value into what a workflow keeps: variables (`store`), records
//! (`create_records`) and an update of the current record (`store_to_record`).

use serde_json::{Map, Value, json};

/// A path into a result: `$` is the whole return value, `$summary` the run's summary, and
/// `a.b.0.c` walks objects by key and arrays by index.
pub fn resolve<'a>(ret: &'a Value, summary: Option<&'a Value>, path: &str) -> Option<&'a Value> {
    match path {
        "$" => Some(ret),
        "$summary" => summary,
        _ => path.split('.').try_fold(ret, |v, part| match v {
            Value::Object(o) => o.get(part),
            Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }),
    }
}

/// `store`: `{ path: variableName }` → `{ variableName: value }`. A missing path stores null and
/// says so in `warnings`.
pub fn store(
    spec: &Map<String, Value>,
    ret: &Value,
    summary: Option<&Value>,
    warnings: &mut Vec<String>,
) -> Map<String, Value> {
    let mut stored = Map::new();
    for (path, var) in spec {
        let Some(var) = var.as_str() else { continue };
        let value = resolve(ret, summary, path).cloned();
        if value.is_none() {
            warnings.push(format!(
                "store: the result has nothing at {:?}; {var} was set to null",
                crate::engine::error::cut(path, 80)
            ));
        }
        stored.insert(var.to_owned(), value.unwrap_or(Value::Null));
    }
    stored
}

/// How records are made from a result.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSpec {
    pub record_type: String,
    /// Path of the array; default the result itself if it is one, else its first array field.
    pub from: Option<String>,
    /// `{index}` → 001, 002…; `{field}` → that field of the item. Default `<type>_{index}`.
    pub id_pattern: Option<String>,
}

pub fn create_records(spec: &RecordSpec, ret: &Value, warnings: &mut Vec<String>) -> Vec<Value> {
    let items = match &spec.from {
        Some(path) => resolve(ret, None, path),
        None if ret.is_array() => Some(ret),
        None => ret
            .as_object()
            .and_then(|o| o.values().find(|v| v.is_array())),
    };
    let Some(Value::Array(items)) = items else {
        warnings.push(format!(
            "create_records: no array found in the result{}; no {} records were made",
            spec.from
                .as_deref()
                .map(|p| format!(" at {p:?}"))
                .unwrap_or_default(),
            spec.record_type
        ));
        return vec![];
    };
    let pattern = spec
        .id_pattern
        .clone()
        .unwrap_or_else(|| format!("{}_{{index}}", spec.record_type));
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            json!({
                "id": record_id(&pattern, i + 1, item),
                "type": spec.record_type,
                "fields": if item.is_object() { item.clone() } else { json!({ "value": item }) },
            })
        })
        .collect()
}

fn record_id(pattern: &str, index: usize, item: &Value) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..start + len];
        match name {
            "index" => out.push_str(&format!("{index:03}")),
            field => match item.get(field) {
                Some(Value::String(s)) => out.push_str(s),
                Some(v) if !v.is_null() => out.push_str(&v.to_string()),
                _ => out.push_str(&format!("{index:03}")),
            },
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret() -> Value {
        json!({"emails": [{"id": "m1", "subject": "Hi"}, {"id": "m2", "subject": "Yo"}], "count": 2})
    }

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let r = ret();
        let s = json!("Found 2");
        assert_eq!(resolve(&r, Some(&s), "emails.1.id"), Some(&json!("m2")));
        assert_eq!(resolve(&r, Some(&s), "$summary"), Some(&s));
        assert_eq!(resolve(&r, None, "$"), Some(&r));
        assert_eq!(resolve(&r, None, "emails.9.id"), None);
        assert_eq!(resolve(&r, None, "count.x"), None);
    }

    #[test]
    fn store_sets_null_and_warns_on_a_missing_path() {
        let spec = json!({"emails": "found", "nope.x": "missing"});
        let mut w = vec![];
        let stored = store(spec.as_object().unwrap(), &ret(), None, &mut w);
        assert_eq!(stored["found"], ret()["emails"]);
        assert_eq!(stored["missing"], Value::Null);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("nope.x"));
    }

    #[test]
    fn records_from_the_first_array_with_ids() {
        let mut w = vec![];
        let spec = RecordSpec {
            record_type: "email".into(),
            from: None,
            id_pattern: None,
        };
        let recs = create_records(&spec, &ret(), &mut w);
        assert_eq!(
            recs[0],
            json!({"id": "email_001", "type": "email", "fields": {"id": "m1", "subject": "Hi"}})
        );
        assert_eq!(recs[1]["id"], "email_002");
        let spec = RecordSpec {
            record_type: "msg".into(),
            from: Some("emails".into()),
            id_pattern: Some("msg_{id}".into()),
        };
        assert_eq!(create_records(&spec, &ret(), &mut w)[1]["id"], "msg_m2");
        let prims = create_records(&spec, &json!({"emails": [5]}), &mut w);
        assert_eq!(prims[0]["fields"], json!({"value": 5}));
        assert!(create_records(&spec, &json!({"x": 1}), &mut w).is_empty());
        assert_eq!(w.len(), 1);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A value placed at a path of keys and indexes is found again by that path.
        #[test]
        fn resolve_finds_what_was_placed(
            steps in proptest::collection::vec(prop_oneof![
                "[a-z][a-z0-9_]{0,8}".prop_map(Err),
                (0usize..4).prop_map(Ok),
            ], 1..6),
            leaf in any::<i64>(),
        ) {
            let mut value = json!(leaf);
            for step in steps.iter().rev() {
                value = match step {
                    Err(key) => json!({ key.clone(): value }),
                    Ok(i) => {
                        let mut arr = vec![Value::Null; *i];
                        arr.push(value);
                        Value::Array(arr)
                    }
                };
            }
            let path: Vec<String> = steps
                .iter()
                .map(|s| match s { Err(k) => k.clone(), Ok(i) => i.to_string() })
                .collect();
            prop_assert_eq!(resolve(&value, None, &path.join(".")), Some(&json!(leaf)));
        }
    }
}
