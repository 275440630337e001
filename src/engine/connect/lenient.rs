//! Component definitions (and the app catalog) read as Pipedream's own SDK reads them: its
//! generated client parses every response with `skipValidation: true`, so a field of an
//! unexpected type passes through instead of failing the call. Definitions are written by
//! thousands of component authors in JavaScript, and one prop with `optional: "true"` or
//! `min: "1"` must not make a whole app's action list unreadable, nor one app's odd field the
//! catalog every search ranks.
//!
//! So a field of another type than expected reads as absent, except a boolean written as
//! `"true"` / `"false"` and a number written as its text; a prop that is not an object or has
//! no name is left out (nothing could address it). Reading stays a single pass over the text:
//! no tree is built for a field that has the expected type.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::components::Prop;

/// A field's value, kept only in the forms definitions use.
enum Loose {
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<Value>),
    Other,
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Loose, E> {
        Ok(Loose::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Loose, E> {
        Ok(Loose::Number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Text(v))
    }

    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Loose::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
}

/// A boolean field: `true` / `false`, or that text.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Bool(b) => Some(b),
        Loose::Text(t) if t == "true" => Some(true),
        Loose::Text(t) if t == "false" => Some(false),
        _ => None,
    })
}

/// A text field.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Text(t) => Some(t),
        _ => None,
    })
}

/// A text field that is needed (a name, a key): empty when it is missing or not text.
pub fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text(d).map(Option::unwrap_or_default)
}

/// A number field: a finite number, or its text.
pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Number(n) => Some(n),
        Loose::Text(t) => t.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite()))
}

/// A list field, such as static `options`.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Value>>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::List(items) => Some(items),
        _ => None,
    })
}

/// A run's observations (`os`): a list, or one observation sent bare, read as a list of one
/// so that an error in it is not missed; anything else has none.
pub fn observations<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Value>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => Some(items),
        one @ Value::Object(_) => Some(vec![one]),
        _ => None,
    })
}

/// A list of texts (an app's categories), the items that are no text left out.
pub fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(list(d)?.map(|items| {
        items
            .into_iter()
            .filter_map(|item| match item {
                Value::String(text) => Some(text),
                _ => None,
            })
            .collect()
    }))
}

/// `configurable_props`: `None` when missing or null (the definition must then be fetched on
/// its own), else the props that can be read; anything but a list has none.
pub fn props<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Prop>>, D::Error> {
    d.deserialize_any(PropsVisitor)
}

/// `configurable_props` from its JSON text (the retrieve endpoint keeps the text as well).
pub fn props_from_text(text: &str) -> serde_json::Result<Vec<Prop>> {
    let mut d = serde_json::Deserializer::from_str(text);
    let props = props(&mut d)?;
    d.end()?;
    Ok(props.unwrap_or_default())
}

/// Props from values (a reload's `dynamicProps`), the unreadable ones left out.
pub fn props_from_values(values: &[Value]) -> Vec<Prop> {
    values
        .iter()
        .filter_map(|v| MaybeProp::deserialize(v).ok().and_then(|p| p.0))
        .collect()
}

/// The visits of booleans, numbers and text, each answering `$none`.
macro_rules! scalars_are {
    ($value:ty, $none:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<$value, E> {
            Ok($none)
        }

        fn visit_i64<E>(self, _: i64) -> Result<$value, E> {
            Ok($none)
        }

        fn visit_u64<E>(self, _: u64) -> Result<$value, E> {
            Ok($none)
        }

        fn visit_f64<E>(self, _: f64) -> Result<$value, E> {
            Ok($none)
        }

        fn visit_str<E>(self, _: &str) -> Result<$value, E> {
            Ok($none)
        }
    };
}

struct PropsVisitor;

impl<'de> Visitor<'de> for PropsVisitor {
    type Value = Option<Vec<Prop>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of props")
    }

    scalars_are!(Self::Value, Some(Vec::new()));

    // Null: the list item came without its props.
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut props = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(MaybeProp(prop)) = seq.next_element()? {
            props.extend(prop);
        }
        Ok(Some(props))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Some(Vec::new()))
    }
}

/// One entry of `configurable_props`: `None` when it is no object or has no name.
struct MaybeProp(Option<Prop>);

impl<'de> Deserialize<'de> for MaybeProp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MaybePropVisitor)
    }
}

struct MaybePropVisitor;

impl<'de> Visitor<'de> for MaybePropVisitor {
    type Value = MaybeProp;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a prop")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeProp, A::Error> {
        let prop = Prop::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(MaybeProp(Some(prop).filter(|p| !p.name.is_empty())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeProp, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeProp(None))
    }

    scalars_are!(MaybeProp, MaybeProp(None));

    fn visit_unit<E>(self) -> Result<MaybeProp, E> {
        Ok(MaybeProp(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(props: Value) -> Vec<Prop> {
        props_from_text(&props.to_string()).unwrap()
    }

    #[test]
    fn a_field_of_another_type_reads_as_absent_and_the_rest_of_the_prop_stays() {
        let props = read(json!([
            {"name": "a", "type": "string", "optional": "true", "label": 5, "min": "1",
             "max": "lots", "options": {"x": 1}, "hidden": 1, "description": ["d"]},
            {"name": "b", "type": "integer", "optional": "false", "min": 2, "max": 9,
             "options": [1, {"label": "Two", "value": 2}], "label": "B", "secret": null},
            {"name": "c"},
        ]));
        assert_eq!(props.len(), 3);
        let a = &props[0];
        assert_eq!((a.name.as_str(), a.kind.as_str()), ("a", "string"));
        assert_eq!(a.optional, Some(true), "the text \"true\" is true");
        assert_eq!((a.label.as_deref(), a.description.as_deref()), (None, None));
        assert_eq!(
            (a.min, a.max),
            (Some(1.0), None),
            "a number's text is the number"
        );
        assert_eq!((a.options.is_none(), a.hidden), (true, None));
        let b = &props[1];
        assert_eq!(
            (b.optional, b.min, b.max),
            (Some(false), Some(2.0), Some(9.0))
        );
        assert_eq!(b.options.as_ref().map(Vec::len), Some(2));
        assert_eq!((b.label.as_deref(), b.secret), (Some("B"), None));
        assert_eq!(props[2].kind, "", "no type: a prop of no known type");
    }

    #[test]
    fn a_prop_that_is_no_object_or_has_no_name_is_left_out() {
        let props = read(json!([
            "text", 5, null, true, [{"name": "nested"}], {"type": "string"}, {"name": 7},
            {"name": "", "type": "string"}, {"name": "kept", "type": "boolean"},
        ]));
        let names: Vec<&str> = props.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["kept"]);
    }

    #[test]
    fn configurable_props_that_are_no_list_have_no_props_and_null_means_none_were_sent() {
        for text in ["{\"name\": \"x\"}", "\"props\"", "3", "true"] {
            assert!(props_from_text(text).unwrap().is_empty(), "{text}");
            let mut d = serde_json::Deserializer::from_str(text);
            assert_eq!(props(&mut d).unwrap().map(|p| p.len()), Some(0), "{text}");
        }
        let mut d = serde_json::Deserializer::from_str("null");
        assert!(props(&mut d).unwrap().is_none());
        assert!(
            props_from_text("[1,").is_err(),
            "broken JSON is still an error"
        );
    }

    #[test]
    fn reloaded_props_are_read_the_same_way() {
        let values = vec![
            json!({"name": "sheet", "type": "string", "reloadProps": "true"}),
            json!("junk"),
            json!({"label": "no name"}),
        ];
        let props = props_from_values(&values);
        assert_eq!(props.len(), 1);
        assert_eq!(props[0].reload_props, Some(true));
    }

    #[test]
    fn an_app_with_odd_fields_keeps_what_can_be_read() {
        let app: crate::engine::connect::apps::App = serde_json::from_value(json!({
            "name_slug": "x", "name": 5, "categories": ["Email", null, 7],
            "featured_weight": "5000", "description": {"text": "d"}, "auth_type": "oauth",
        }))
        .unwrap();
        assert_eq!((app.name_slug.as_str(), app.name.as_str()), ("x", ""));
        assert_eq!(app.categories, Some(vec!["Email".to_owned()]));
        assert_eq!((app.featured_weight, app.description), (Some(5000.0), None));
        assert_eq!(app.auth_type.as_deref(), Some("oauth"));
    }

    #[test]
    fn a_run_answer_with_odd_fields_is_still_the_run_that_happened() {
        // As the API's text, which the return value and exports are kept as.
        let read = |v: Value| -> crate::engine::connect::actions::RunResponse {
            serde_json::from_str(&v.to_string()).unwrap()
        };
        let run = read(json!({
            "exports": {"$summary": "Sent"}, "os": {"k": "not a list"}, "ret": 1, "stash_id": 7,
        }));
        assert_eq!(run.os, Some(vec![json!({"k": "not a list"})]));
        assert_eq!(run.stash_id, None);
        assert_eq!(run.ret.map(|r| r.get().to_owned()).as_deref(), Some("1"));
        let run = read(json!({"os": "odd", "ret": null}));
        assert_eq!(run.os, None);
        assert!(run.ret.is_none(), "null is no return value");
        let run = read(json!({"os": [{"k": "error"}], "stashId": "s_1"}));
        assert_eq!(
            (run.os.map(|o| o.len()), run.stash_id.as_deref()),
            (Some(1), Some("s_1"))
        );
    }
}
