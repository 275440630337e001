//! Checking `params` against a component's props before anything is sent: a run that would
//! fail on a typo or a wrong type is refused here, with one problem per param, so an LLM can
//! repair the node in one go. What each type takes is `prop_type`'s, the same table the
//! input schema is built from, so a value this accepts is one the schema describes.

use serde_json::{Map, Value};

use crate::engine::error::Problem;

use crate::engine::connect::components::Prop;

fn problem(param: &str, text: String) -> Problem {
    Problem {
        param: param.to_owned(),
        problem: text,
    }
}

/// Every problem with `params`. `open` allows names that are not props yet (a component whose
/// props grow after a reload, checked again once they are known).
pub fn validate(props: &[Prop], params: &Map<String, Value>, open: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, value) in params {
        match props.iter().find(|p| &p.name == name) {
            Some(p) if p.is_app() || value.is_null() => {}
            // A reload may show a hidden or disabled prop; the props it gives are checked then.
            Some(p)
                if !p.is_param()
                    && open
                    && (p.hidden == Some(true) || p.disabled == Some(true)) => {}
            Some(p) if !p.is_param() => problems.push(problem(
                name,
                format!("is not a parameter: {}; leave it out", p.why_not_param()),
            )),
            Some(p) => problems.extend(check_value(p, value)),
            None if open => {}
            None => {
                let hint = closest(
                    name,
                    props
                        .iter()
                        .filter(|p| p.is_param())
                        .map(|p| p.name.as_str()),
                )
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
                let known: Vec<&str> = props
                    .iter()
                    .filter(|p| p.is_param())
                    .map(|p| p.name.as_str())
                    .collect();
                problems.push(problem(
                    name,
                    format!(
                        "is not a parameter of this component{hint}; its parameters are: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for p in props.iter().filter(|p| p.is_param() && p.required()) {
        // An empty list is no value either (Pipedream's own form refuses it), nor, mostly, an
        // empty text.
        let missing = match params.get(&p.name) {
            None | Some(Value::Null) => "",
            Some(Value::String(t)) if t.is_empty() && !p.prop_type().empty_text_is_a_value(p) => {
                ": got an empty string"
            }
            Some(Value::Array(a)) if a.is_empty() => ": got an empty array",
            Some(_) => continue,
        };
        if problems.iter().any(|x| x.param == p.name) {
            continue;
        }
        let label = p
            .label
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        problems.push(problem(&p.name, format!("is required{label}{missing}")));
    }
    problems
}

/// The problem with one value, by the prop's type (`prop_type`, the table the input schema
/// comes from too). Null is "not set": the required check covers it.
fn check_value(p: &Prop, value: &Value) -> Option<Problem> {
    if value.is_null() {
        return None;
    }
    let text = p.prop_type().check(p, value)?;
    // A secret's value (an API key, a password) is not repeated in an error.
    let text = match (p.secret == Some(true), text.rfind(", got ")) {
        (true, Some(at)) => format!("{} (the value is secret, so not shown)", &text[..at]),
        _ => text,
    };
    Some(problem(&p.name, text))
}

/// The nearest name by edit distance, if it is close enough to be a typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .map(|c| (distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props() -> Vec<Prop> {
        serde_json::from_value(json!([
            {"name": "stripe", "type": "app", "app": "stripe"},
            {"name": "amount", "type": "integer", "min": 50},
            {"name": "currency", "type": "string", "options": ["usd", "eur"]},
            {"name": "tags", "type": "string[]", "optional": true},
            {"name": "confirm", "type": "boolean", "optional": true},
            {"name": "metadata", "type": "object", "optional": true},
            {"name": "anything", "type": "any", "optional": true}
        ]))
        .unwrap()
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_valid_params() {
        let p = params(
            json!({"amount": 100, "currency": {"__lv": {"label": "USD", "value": "usd"}},
                              "tags": ["a"], "confirm": true, "metadata": {}, "anything": [1],
                              "stripe": {"authProvisionId": "apn_1"}}),
        );
        assert_eq!(validate(&props(), &p, false), vec![]);
    }

    #[test]
    fn reports_every_problem_with_its_param() {
        let p = params(
            json!({"amont": 100, "currency": "jpy", "tags": ["a", 2], "confirm": "yes", "metadata": "x"}),
        );
        let problems = validate(&props(), &p, false);
        let by = |name: &str| {
            problems
                .iter()
                .find(|x| x.param == name)
                .map(|x| x.problem.clone())
                .unwrap_or_default()
        };
        assert!(
            by("amont").contains("did you mean \"amount\""),
            "{problems:?}"
        );
        assert!(by("amount").starts_with("is required"));
        assert!(by("currency").contains("must be one of \"usd\", \"eur\""));
        assert!(by("tags").contains("item 1 must be a string"));
        assert!(by("confirm").contains("true or false"));
        assert!(by("metadata").contains("must be an object"));
        assert_eq!(problems.len(), 6);
        let low = validate(
            &props(),
            &params(json!({"amount": 10, "currency": "usd"})),
            false,
        );
        assert_eq!(low[0].problem, "must be at least 50, got 10");
        let frac = validate(
            &props(),
            &params(json!({"amount": 60.5, "currency": "usd"})),
            false,
        );
        assert!(frac[0].problem.contains("whole number"));
    }

    #[test]
    fn a_secret_value_is_not_repeated_in_its_problem() {
        let props: Vec<Prop> = serde_json::from_value(json!([
            {"name": "apiKey", "type": "string", "secret": true, "options": ["sk-test-1"]},
            {"name": "pin", "type": "integer", "secret": true, "max": 9999}
        ]))
        .unwrap();
        let problems = validate(
            &props,
            &params(json!({"apiKey": "sk-LEAKME-123", "pin": 123456})),
            false,
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        for p in &problems {
            assert!(
                p.problem.contains("the value is secret, so not shown"),
                "{p:?}"
            );
            assert!(
                !p.problem.contains("LEAKME") && !p.problem.contains("123456"),
                "{p:?}"
            );
        }
    }

    #[test]
    fn props_that_are_no_input_are_refused_unless_a_reload_may_show_them() {
        let props: Vec<Prop> = serde_json::from_value(json!([
            {"name": "note", "type": "alert"},
            {"name": "kind", "type": "string", "hidden": true},
            {"name": "q", "type": "string", "optional": true}
        ]))
        .unwrap();
        let given = params(json!({"note": "x", "kind": "company", "q": "x"}));
        let closed = validate(&props, &given, false);
        assert_eq!(closed.len(), 2, "{closed:?}");
        assert!(
            closed
                .iter()
                .all(|p| p.problem.starts_with("is not a parameter"))
        );
        let open = validate(&props, &given, true);
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].param, "note");
    }

    #[test]
    fn open_validation_allows_props_not_known_yet() {
        let p = params(json!({"amount": 60, "currency": "usd", "column_a": "x"}));
        assert_eq!(validate(&props(), &p, true), vec![]);
    }
}
