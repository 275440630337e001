//! Turning an action's return value into what a workflow keeps: variables (`store`), records
//! (`create_records`) and an update of the current record (`store_to_record`).

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::engine::error::{Error, Result};

/// A run's return value or exports as the answer carries them. Most nodes hand them on whole,
/// so they are kept as the API wrote them (`Text`), in its key order: reading them into a tree
/// only to write it out again was 12 % of the runtime's instructions in an execute of a 300-byte
/// answer, and grows with the answer. A `Tree` is what a node reads, or an answer of our own.
#[derive(Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum Returned<'a> {
    Text(&'a RawValue),
    Tree(&'a Value),
}

impl<'a> Returned<'a> {
    /// A run's return value as written; `null` when it returned none.
    pub fn written(raw: Option<&'a RawValue>) -> Self {
        static NULL: Value = Value::Null;
        raw.map_or(Self::Tree(&NULL), Self::Text)
    }

    /// The same value as a tree, for a node that reads it (`store`, records, a record update),
    /// read from the text into `slot`. The answer still carries the text.
    pub fn read(self, slot: &'a mut Option<Value>) -> Result<&'a Value> {
        match self {
            Self::Tree(v) => Ok(v),
            Self::Text(raw) => {
                let value = serde_json::from_str(raw.get()).map_err(|e| {
                    Error::BadResponse(format!("the run's return value could not be read: {e}"))
                })?;
                Ok(slot.insert(value))
            }
        }
    }
}

/// What a node reads of a run's exports: `$summary` and `$filestash_uploads`, read from the
/// exports as written, everything else stepped over. A repeated key counts by its last value,
/// as a tree would keep it.
#[derive(Default)]
pub struct ReadExports {
    pub summary: Option<Value>,
    pub uploads: Option<Value>,
}

impl ReadExports {
    /// The exports' object as written (`exports` starts with `{`).
    pub fn from_object(exports: &RawValue) -> Result<Self> {
        serde_json::from_str(exports.get())
            .map_err(|e| Error::BadResponse(format!("the run's exports could not be read: {e}")))
    }
}

impl<'de> Deserialize<'de> for ReadExports {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        enum Key {
            #[serde(rename = "$summary")]
            Summary,
            #[serde(rename = "$filestash_uploads")]
            Uploads,
            #[serde(other)]
            Other,
        }
        struct Exports;
        impl<'de> Visitor<'de> for Exports {
            type Value = ReadExports;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of exports")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<ReadExports, A::Error> {
                let mut read = ReadExports::default();
                while let Some(key) = map.next_key()? {
                    match key {
                        Key::Summary => read.summary = Some(map.next_value()?),
                        Key::Uploads => read.uploads = Some(map.next_value()?),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(read)
            }
        }
        d.deserialize_map(Exports)
    }
}

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

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn a_return_value_is_kept_as_written_and_read_into_a_tree_on_request() {
        let text = r#"{"z": 1, "a": "Zo\u00eb", "n": 12345678901234567890123}"#;
        let written = raw(text);
        let ret = Returned::written(Some(&written));
        assert!(matches!(ret, Returned::Text(r) if r.get() == text));
        let mut slot = None;
        let tree = ret.read(&mut slot).unwrap();
        assert_eq!(tree["a"], json!("Zoë"));
        assert_eq!(tree["n"], json!(1.2345678901234568e22));
        assert!(
            matches!(ret, Returned::Text(_)),
            "the answer keeps the text"
        );

        let none = Returned::written(None);
        assert!(matches!(none, Returned::Tree(Value::Null)));
        assert_eq!(none.read(&mut None).unwrap(), &Value::Null);

        // JSON a tree cannot hold is handed on as written, and refused only where it is read.
        let huge = raw("[1e400]");
        let err = Returned::written(Some(&huge))
            .read(&mut None)
            .err()
            .unwrap();
        assert_eq!(err.code().as_str(), "PIPEDREAM_BAD_RESPONSE");
        assert!(
            err.to_string().contains("return value could not be read"),
            "{err}"
        );
    }

    #[test]
    fn exports_are_read_for_the_summary_and_stashed_files_only() {
        let read = ReadExports::from_object(&raw(
            r#"{"other": {"$summary": "nested"}, "\u0024summary": "Sent \u2713", "big": [1e400, "x"],
                "$filestash_uploads": [{"s3Key": "k"}], "$summary": "last one counts"}"#,
        ))
        .unwrap();
        assert_eq!(read.summary, Some(json!("last one counts")));
        assert_eq!(read.uploads, Some(json!([{"s3Key": "k"}])));

        let escaped = ReadExports::from_object(&raw(r#"{"\u0024summary": 5}"#)).unwrap();
        assert_eq!(
            escaped.summary,
            Some(json!(5)),
            "an escaped key is the same key"
        );
        let empty = ReadExports::from_object(&raw("{}")).unwrap();
        assert_eq!((empty.summary, empty.uploads), (None, None));
        let err = ReadExports::from_object(&raw(r#"{"$summary": 1e400}"#))
            .err()
            .unwrap();
        assert_eq!(err.code().as_str(), "PIPEDREAM_BAD_RESPONSE");
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
