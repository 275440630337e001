//! `{{props.NAME}}` substitution in fixture `ret` / `summary` values, so a
//! canned result can reflect what the caller configured; a trigger's
//! `summary` also takes `{{event.PATH}}` from the emitted payload.

use std::sync::OnceLock;

use regex::{Captures, Regex};
use serde_json::{Map, Value};

fn pattern() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{\{\s*props\.([A-Za-z0-9_$\-]+)\s*\}\}").ok())
        .as_ref()
}

/// Fills placeholders throughout `template`. A string that is exactly one
/// placeholder becomes the prop's JSON value (null when absent); inside a
/// longer string the prop's text is spliced in. `props` must already have
/// auth values removed.
pub fn fill(template: &Value, props: &Map<String, Value>) -> Value {
    match template {
        Value::String(s) => fill_string(s, props),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, props)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, props)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn fill_string(s: &str, props: &Map<String, Value>) -> Value {
    let Some(re) = pattern() else {
        return Value::String(s.to_string());
    };
    if let Some(caps) = re.captures(s)
        && caps
            .get(0)
            .is_some_and(|m| m.start() == 0 && m.end() == s.len())
    {
        return props.get(&caps[1]).cloned().unwrap_or(Value::Null);
    }
    Value::String(fill_text(s, props))
}

/// Text-only substitution (for `$summary`).
pub fn fill_text(s: &str, props: &Map<String, Value>) -> String {
    let Some(re) = pattern() else {
        return s.to_string();
    };
    re.replace_all(s, |caps: &Captures| match props.get(&caps[1]) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
    })
    .into_owned()
}

fn event_pattern() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{\{\s*event\.([A-Za-z0-9_$\-.]+)\s*\}\}").ok())
        .as_ref()
}

/// A trigger event's summary: `{{event.a.b.0.c}}` is that path in `event`
/// (a number indexes an array), `{{props.NAME}}` a configured prop, both as
/// text (absent or null: empty).
pub fn fill_event_text(s: &str, event: &Value, props: &Map<String, Value>) -> String {
    let with_props = fill_text(s, props);
    let Some(re) = event_pattern() else {
        return with_props;
    };
    re.replace_all(&with_props, |caps: &Captures| {
        let found = caps[1].split('.').try_fold(event, |v, seg| match v {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        });
        match found {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(v)) => v.clone(),
            Some(other) => other.to_string(),
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_and_partial() {
        let props = json!({"fields": {"a": 1}, "email": "x@y.z", "n": 3});
        let props = props.as_object().unwrap();
        let t = json!({"f": "{{props.fields}}", "m": "hi {{props.email}} #{{props.n}}", "z": "{{props.nope}}"});
        assert_eq!(
            fill(&t, props),
            json!({"f": {"a": 1}, "m": "hi x@y.z #3", "z": null})
        );
    }

    #[test]
    fn event_paths() {
        let event = json!({"title": "Bug", "n": 12, "user": {"login": "octo"},
                           "labels": [{"name": "p1"}], "none": null});
        let props = json!({"repo": "a/b"});
        let props = props.as_object().unwrap();
        assert_eq!(
            fill_event_text(
                "#{{event.n}} {{ event.title }} by {{event.user.login}} [{{event.labels.0.name}}] in {{props.repo}}{{event.none}}{{event.nope.x}}",
                &event,
                props
            ),
            "#12 Bug by octo [p1] in a/b"
        );
    }
}
