//! Props: remote options (`POST …/components/configure`) and reloads (`…/components/props`),
//! as Pipedream's own client uses them, and the `configured_props` every call sends.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::components::{Component, OptionItem, Prop};
use super::{Connect, lenient};
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, Result};
use crate::engine::json::to_json;
use crate::engine::transport::api::Bearer;

/// Most configure requests one `configureProp` call may send. Pages are reached in order
/// (each needs the previous one's context), so an LLM that writes `page: 1000` would
/// otherwise turn one tool call into a thousand requests.
const MAX_REQUESTS_PER_CALL: usize = 3;

/// A component's props after a reload.
pub struct Reloaded {
    pub id: Option<String>,
    pub props: Vec<Prop>,
    pub raw_props: Vec<Value>,
    pub errors: Vec<String>,
}

/// One page of remote options: the values not seen on an earlier page, whether more may
/// follow, and the context the API wants back for the next page.
#[derive(Debug)]
pub struct OptionsPage {
    pub options: Vec<OptionItem>,
    pub errors: Vec<String>,
    context: Option<Value>,
    /// Whether another page may bring more.
    pub more: bool,
    /// Every value of this page and the ones before it (as JSON text), for de-duplication.
    seen: HashSet<String>,
    /// Whether any page so far came with a context: then a null one means the end.
    context_based: bool,
}

/// A configure answer. Its options are what the component's own `options()` code returned
/// (nulls, numbers among strings), so its lists are read as `lenient` reads definitions.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOptions {
    #[serde(default, deserialize_with = "lenient::list")]
    options: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient::list")]
    string_options: Option<Vec<Value>>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default, deserialize_with = "lenient::list")]
    errors: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient::list")]
    observations: Option<Vec<Value>>,
}

/// `POST …/props` answers `{observations?, errors?, dynamicProps?}`, all optional: a reload
/// that fails may report only in `observations`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireReload {
    #[serde(default, deserialize_with = "lenient::list")]
    errors: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient::list")]
    observations: Option<Vec<Value>>,
    #[serde(default)]
    dynamic_props: Option<WireDynamicProps>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDynamicProps {
    #[serde(default, deserialize_with = "lenient::text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    configurable_props: Option<Vec<Value>>,
}

/// The problems a configure or reload reported: `observations` entries of kind `error`
/// first (Pipedream's own client reads them first), then `errors`.
fn error_texts(observations: Option<Vec<Value>>, errors: Option<Vec<Value>>) -> Vec<String> {
    let observed = observations
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.get("k").and_then(Value::as_str) == Some("error"))
        .map(|o| {
            let err = o.get("err").unwrap_or(&Value::Null);
            let text = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or_default();
            match (
                text("name"),
                text("message"),
                o.get("msg").and_then(Value::as_str),
            ) {
                ("", "", Some(msg)) => msg.to_owned(),
                ("", message, _) => message.to_owned(),
                (name, message, _) => format!("{name}: {message}"),
            }
        });
    let listed = errors.unwrap_or_default().into_iter().map(|e| match e {
        Value::String(s) => s,
        other => other.to_string(),
    });
    let mut out: Vec<String> = Vec::new();
    for text in observed.chain(listed) {
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

impl Connect {
    /// Page `page` of a prop's options, as Pipedream's own client pages: page n sends `page: n`
    /// and the previous page's `context` when it had one. A context-based method says it is
    /// done with a null context; a page-based one (its context is always null) is done when a
    /// page brings no value not seen before, so paging goes on while new values arrive, and
    /// values are de-duplicated across pages. Each page is cached, and a page asked for out of
    /// order is reached by walking from the last one known, at most `MAX_REQUESTS_PER_CALL`.
    pub async fn options_page(
        &self,
        target: &OptionsTarget<'_>,
        page: u64,
    ) -> Result<(Arc<OptionsPage>, bool)> {
        let component = target.component;
        let base = to_json(&json!([
            component.key,
            component.version,
            target.prop_name,
            target.configured,
            target.user,
            target.query,
            target.dynamic_props_id,
        ]));
        // Walk from the furthest page still cached, and refuse a walk longer than the cap.
        let start = (1..=page)
            .rev()
            .find(|n| {
                self.prop_options
                    .probe(&format!("{base}#{}", n - 1))
                    .is_some()
            })
            .unwrap_or(0);
        let needed = (page - start + 1) as usize;
        if needed > MAX_REQUESTS_PER_CALL {
            return Err(Error::InvalidArgs(format!(
                "configureProp pages are reached in order and one call fetches at most {MAX_REQUESTS_PER_CALL}; page {page} is too far ahead. Ask for page {start} (or 0) and follow next_page."
            )));
        }
        let mut prev: Option<Arc<OptionsPage>> = match start {
            0 => None,
            n => self.prop_options.probe(&format!("{base}#{}", n - 1)),
        };
        let path = self.project_path("components/configure")?;
        for n in start..=page {
            if prev.as_ref().is_some_and(|p| !p.more) {
                // The previous page was the last one.
                let done = OptionsPage {
                    options: vec![],
                    errors: vec![],
                    context: None,
                    more: false,
                    seen: HashSet::new(),
                    context_based: false,
                };
                return Ok((Arc::new(done), false));
            }
            let mut body = json!({
                "id": component.key,
                "version": component.version,
                "external_user_id": target.user,
                "prop_name": target.prop_name,
                "configured_props": target.configured,
                "page": n,
            });
            // Absent fields are left out, not sent as null.
            if let Some(context) = prev.as_ref().and_then(|p| p.context.clone()) {
                body["prev_context"] = context;
            }
            if let Some(query) = target.query {
                body["query"] = json!(query);
            }
            if let Some(id) = target.dynamic_props_id {
                body["dynamic_props_id"] = json!(id);
            }
            let before = prev.clone();
            let lookup = self
                .prop_options
                .get_or_fetch(format!("{base}#{n}"), async {
                    let wire: WireOptions = self
                        .api
                        .post(EndpointClass::Execute, &path, &body, &Bearer::Client)
                        .await?;
                    Ok(Arc::new(read_page(wire, before.as_deref())))
                })
                .await?;
            if n == page {
                return Ok((lookup.value, lookup.cached));
            }
            prev = Some(lookup.value);
        }
        unreachable!("the loop returns on its last page")
    }

    /// `POST …/components/props`: the props a component has once `configured` is set. A
    /// reload after the first names the `dynamic_props_id` it returned. An answer without
    /// `dynamicProps` is not a broken response: the reload failed (its errors say why) or
    /// added nothing.
    pub async fn reload(
        &self,
        component: &Component,
        configured: &Map<String, Value>,
        user: &str,
        bearer: &Bearer,
        dynamic_props_id: Option<&str>,
    ) -> Result<Reloaded> {
        let mut body = json!({
            "id": component.key,
            "version": component.version,
            "external_user_id": user,
            "configured_props": configured,
        });
        if let Some(id) = dynamic_props_id {
            body["dynamic_props_id"] = json!(id);
        }
        let path = self.project_path("components/props")?;
        let wire: WireReload = self
            .api
            .post(EndpointClass::Execute, &path, &body, bearer)
            .await?;
        let errors = error_texts(wire.observations, wire.errors);
        let Some(dynamic) = wire.dynamic_props else {
            return Ok(Reloaded {
                id: None,
                props: vec![],
                raw_props: vec![],
                errors,
            });
        };
        if let Some(id) = &dynamic.id {
            self.dynamic_props
                .insert((component.key.clone(), user.to_owned()), id.clone());
        }
        let raw_props = dynamic.configurable_props.unwrap_or_default();
        let props = lenient::props_from_values(&raw_props);
        Ok(Reloaded {
            id: dynamic.id,
            props,
            raw_props,
            errors,
        })
    }

    /// The params as `configured_props`, as Pipedream's own client sends them: every app prop
    /// set to the user's account for its app unless the caller set it (`account_id` is for the
    /// first), a prop's `default` for a param left out (or null), `withLabel` values
    /// wrapped as `{__lv: {label, value}}` (a list as `{__lv: [{label, value}, …]}`), and an
    /// `sql` prop's query text as `{app, query, params: []}`.
    pub async fn configured_props(
        &self,
        component: &Component,
        params: &Map<String, Value>,
        user: &str,
        account_id: Option<&str>,
        bearer: &Bearer,
    ) -> Result<Map<String, Value>> {
        let mut configured = params.clone();
        for prop in component.params() {
            // Null is "not set": left out, so the default applies as for a param not given.
            if configured.get(&prop.name).is_some_and(Value::is_null) {
                configured.remove(&prop.name);
            }
            match configured.get_mut(&prop.name) {
                None => {
                    if let Some(default) = &prop.default {
                        configured.insert(prop.name.clone(), default.clone());
                    }
                }
                Some(value) if prop.with_label == Some(true) && value.get("__lv").is_none() => {
                    *value = with_label(value.take());
                }
                Some(Value::String(query)) if prop.kind == "sql" => {
                    // Pipedream's own form sends a typed query as this object, always.
                    let app = prop
                        .auth
                        .as_ref()
                        .and_then(|a| a.get("app"))
                        .and_then(Value::as_str)
                        .or_else(|| component.app_prop().and_then(|p| p.app.as_deref()));
                    let mut sql = json!({ "query": std::mem::take(query), "params": [] });
                    if let Some(app) = app {
                        sql["app"] = json!(app);
                    }
                    configured.insert(prop.name.clone(), sql);
                }
                Some(_) => {}
            }
        }
        let mut explicit = account_id;
        for app_prop in component.app_props() {
            if configured.contains_key(&app_prop.name) {
                continue;
            }
            let app = app_prop.app.as_deref().unwrap_or_default();
            let account = self
                .prop_account(app, user, explicit.take(), bearer)
                .await?;
            if let Some(account) = account {
                configured.insert(app_prop.name.clone(), json!({ "authProvisionId": account }));
            }
        }
        Ok(configured)
    }
}

/// A `withLabel` value given plain, wrapped as Pipedream's own form sends a choice: one
/// `{"__lv": {label, value}}`, or for a list one `{"__lv": [{label, value}, …]}` around it. The
/// label is the value's text, the only label known here.
fn with_label(value: Value) -> Value {
    let labelled = |v: Value| {
        let label = match &v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        json!({ "label": label, "value": v })
    };
    match value {
        Value::Array(items) => {
            json!({ "__lv": items.into_iter().map(labelled).collect::<Vec<_>>() })
        }
        one => json!({ "__lv": labelled(one) }),
    }
}

/// What a configure request is about: the component, its configured props, for whom, and the
/// reload it follows.
pub struct OptionsTarget<'a> {
    pub component: &'a Component,
    pub prop_name: &'a str,
    pub query: Option<&'a str>,
    pub configured: &'a Map<String, Value>,
    pub user: &'a str,
    pub dynamic_props_id: Option<&'a str>,
}

/// A configure answer as a page: its values not seen on `before` or earlier pages, and
/// whether another page may bring more.
fn read_page(wire: WireOptions, before: Option<&OptionsPage>) -> OptionsPage {
    let mut seen = before.map(|p| p.seen.clone()).unwrap_or_default();
    let mut options = Vec::new();
    let all = wire
        .options
        .unwrap_or_default()
        .iter()
        .filter_map(OptionItem::from_wire)
        .chain(
            // Read as options are: a null is no option, a number stands for itself.
            wire.string_options
                .unwrap_or_default()
                .iter()
                .filter_map(OptionItem::from_wire),
        )
        .collect::<Vec<_>>();
    for option in all {
        if seen.insert(option.value.to_string()) {
            options.push(option);
        }
    }
    let context = wire.context.filter(|c| !c.is_null());
    let context_based = context.is_some() || before.is_some_and(|p| p.context_based);
    // A context-based method is done when its context turns null; a page-based one (never a
    // context) when a page brings nothing new. Either stops on a page of repeats, so a method
    // that always hands back a context cannot page forever.
    let more = !options.is_empty() && (context.is_some() || !context_based);
    OptionsPage {
        options,
        errors: error_texts(wire.observations, wire.errors),
        context,
        more,
        seen,
        context_based,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_label_wraps_a_choice_and_a_list_as_pipedreams_form_sends_them() {
        assert_eq!(
            with_label(json!("C1")),
            json!({"__lv": {"label": "C1", "value": "C1"}})
        );
        assert_eq!(
            with_label(json!(["vip", 7])),
            json!({"__lv": [{"label": "vip", "value": "vip"}, {"label": "7", "value": 7}]})
        );
    }

    fn wire(v: Value) -> WireOptions {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn options_from_the_components_own_code_are_read_whatever_their_types() {
        let page = read_page(
            wire(json!({
                "stringOptions": ["a", null, 3, "a"], "options": "not a list",
                "errors": "not a list", "observations": {"k": "error"}, "context": null,
            })),
            None,
        );
        let labels: Vec<&str> = page.options.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(labels, ["a", "3"]);
        assert_eq!(page.options[1].value, json!(3));
        assert!(page.errors.is_empty());
    }

    #[test]
    fn page_based_options_page_while_new_values_arrive() {
        // Page-based (github `branch`): context is always null.
        let p0 = read_page(
            wire(json!({"options": ["main", "dev"], "context": null})),
            None,
        );
        assert!(p0.more);
        let p1 = read_page(
            wire(json!({"options": ["dev", "feature"], "context": null})),
            Some(&p0),
        );
        assert_eq!(p1.options.len(), 1, "dev was on page 0");
        assert!(p1.more);
        // A method that ignores `page` hands back the same values: that is the end.
        let p2 = read_page(
            wire(json!({"options": ["main", "dev", "feature"], "context": null})),
            Some(&p1),
        );
        assert!(p2.options.is_empty());
        assert!(!p2.more);
    }

    #[test]
    fn context_based_options_end_with_a_null_context() {
        let p0 = read_page(
            wire(json!({"options": [{"label": "A", "value": 1}], "context": {"nextPage": 2}})),
            None,
        );
        assert!(p0.more);
        assert_eq!(p0.context, Some(json!({"nextPage": 2})));
        let p1 = read_page(
            wire(json!({"options": [{"label": "B", "value": 2}], "context": null})),
            Some(&p0),
        );
        assert_eq!(p1.options.len(), 1);
        assert!(
            !p1.more,
            "a context-based method is done when its context is null"
        );
        // One that always hands back a context stops on a page of repeats.
        let again = read_page(
            wire(json!({"options": [{"label": "A", "value": 1}], "context": {"nextPage": 3}})),
            Some(&p0),
        );
        assert!(!again.more);
    }

    #[test]
    fn errors_come_from_observations_first_then_errors() {
        let texts = error_texts(
            Some(vec![
                json!({"ts": 1, "k": "console.log", "msg": "hi"}),
                json!({"ts": 2, "k": "error", "err": {"name": "ConfigurationError", "message": "Bad sheet"}}),
            ]),
            Some(vec![
                json!("ConfigurationError: Bad sheet"),
                json!("another"),
            ]),
        );
        assert_eq!(texts, vec!["ConfigurationError: Bad sheet", "another"]);
        let wire: WireReload =
            serde_json::from_value(json!({"observations": [], "errors": []})).unwrap();
        assert!(wire.dynamic_props.is_none());
    }
}
