//! Params as a workflow's templates give them: `"{{count}}"` becomes the text `"3"`, a list or
//! an object becomes its JSON text. Where the prop's type would refuse that text, and the text
//! is plainly a value of that type, it is taken as that value before `validate`, and sent so:
//! Pipedream's own form sends an integer field's text as a number (`parseInt`) too.
//!
//! Only unambiguous text is read: a whole number of at most 15 digits, `true` or `false`, and
//! JSON text that is an array (for list props) or an object (for object props). Anything else
//! is left for `validate` to refuse with its usual message.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::engine::connect::components::Prop;
use crate::engine::director::prop_type::PropType;

/// `params` with each value read as its prop's type where the text is plainly one; borrowed
/// when nothing changed (most runs).
pub fn coerced<'a>(props: &[Prop], params: &'a Map<String, Value>) -> Cow<'a, Map<String, Value>> {
    let mut out: Option<Map<String, Value>> = None;
    for (name, value) in params {
        let Some(p) = props.iter().find(|p| &p.name == name && p.is_param()) else {
            continue;
        };
        if let Some(read) = read_as(p.prop_type(), value) {
            out.get_or_insert_with(|| params.clone())
                .insert(name.clone(), read);
        }
    }
    out.map_or(Cow::Borrowed(params), Cow::Owned)
}

/// `v` as a value of type `t`, when it is text that plainly is one (else `None`: unchanged).
fn read_as(t: PropType, v: &Value) -> Option<Value> {
    use PropType::*;
    match (t, v) {
        (Integer, Value::String(s)) => whole_number(s),
        (Boolean, Value::String(s)) => match s.as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        (IntegerArray, Value::Array(items)) => {
            let read: Vec<Value> = items
                .iter()
                .map(|i| read_as(Integer, i).unwrap_or_else(|| i.clone()))
                .collect();
            (read != *items).then_some(Value::Array(read))
        }
        (IntegerArray, Value::String(s)) => {
            let list = json_text(s, Value::is_array)?;
            Some(read_as(IntegerArray, &list).unwrap_or(list))
        }
        (StringArray | DiscordChannelArray, Value::String(s)) => json_text(s, Value::is_array),
        (Object | HttpRequest, Value::String(s)) => json_text(s, Value::is_object),
        _ => None,
    }
}

fn whole_number(s: &str) -> Option<Value> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let plain =
        !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit());
    plain
        .then(|| s.parse::<i64>().ok().map(Value::from))
        .flatten()
}

/// `s` parsed as JSON, when it is JSON text of the kind `is` asks for.
fn json_text(s: &str, is: fn(&Value) -> bool) -> Option<Value> {
    serde_json::from_str::<Value>(s.trim()).ok().filter(is)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props() -> Vec<Prop> {
        serde_json::from_value(json!([
            {"name": "count", "type": "integer"},
            {"name": "ids", "type": "integer[]"},
            {"name": "on", "type": "boolean"},
            {"name": "to", "type": "string[]"},
            {"name": "fields", "type": "object"},
            {"name": "text", "type": "string"},
            {"name": "anything", "type": "any"},
            {"name": "hiddenCount", "type": "integer", "hidden": true}
        ]))
        .unwrap()
    }

    fn read(params: Value) -> Value {
        let params = params.as_object().unwrap().clone();
        Value::Object(coerced(&props(), &params).into_owned())
    }

    #[test]
    fn plain_text_of_the_prop_type_is_read_as_that_type() {
        assert_eq!(
            read(json!({"count": "3", "ids": ["1", 2, "-3"], "on": "false",
                        "to": "[\"a@b.com\"]", "fields": " {\"email\": \"a@b.com\"} "})),
            json!({"count": 3, "ids": [1, 2, -3], "on": false,
                   "to": ["a@b.com"], "fields": {"email": "a@b.com"}})
        );
        assert_eq!(read(json!({"ids": "[1, \"2\"]"})), json!({"ids": [1, 2]}));
    }

    #[test]
    fn anything_else_is_left_for_validate() {
        let unchanged = json!({
            "count": "3.5", "on": "yes", "to": "a@b.com", "fields": "[1]", "text": "3",
            "anything": "true", "hiddenCount": "3", "unknown": "3"
        });
        assert_eq!(read(unchanged.clone()), unchanged);
        for text in ["", "-", "+3", " 3", "1e3", "0x10", "1234567890123456"] {
            assert_eq!(
                read(json!({ "count": text })),
                json!({ "count": text }),
                "{text}"
            );
        }
        let params = json!({"count": 3}).as_object().unwrap().clone();
        assert!(matches!(coerced(&props(), &params), Cow::Borrowed(_)));
    }
}
