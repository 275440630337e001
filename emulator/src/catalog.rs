//! The immutable app + component catalog. Fixture objects are kept as the
//! API-shaped JSON they were written as (so new fields pass through untouched),
//! with the few fields the emulator reasons about pulled out beside them.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

const BUILTIN_APPS: &str = include_str!("../fixtures/apps.json");
const BUILTIN_COMPONENTS: &str = include_str!("../fixtures/components.json");

/// Emulator-only data; never sent to clients.
const EMULATOR_FIELD: &str = "x_emulator";

#[derive(Debug)]
pub struct App {
    pub id: String,
    pub name_slug: String,
    pub name: String,
    pub featured_weight: f64,
    pub action_count: usize,
    pub trigger_count: usize,
    /// The wire `connect` object, read for the proxy; None when the fixture has none.
    pub connect: Option<AppConnect>,
    /// The wire object (x_emulator removed).
    pub json: Value,
    /// `json` as text: the catalog never changes, and copying the tree for each answer made most
    /// of the emulator's cost of a list (it shares the cores with the client being measured).
    pub wire: Box<RawValue>,
}

/// An app's `connect` object, as the API sends it (the connection-webhook and
/// app-retrieve examples in the docs): whether the Connect proxy serves the app,
/// the hosts it may reach, and the base a relative proxy URL is joined to. The
/// base may hold `{{custom_fields.NAME}}` placeholders (zendesk's
/// `https://{{custom_fields.subdomain}}.zendesk.com`), filled from the account.
#[derive(Debug, Clone, Deserialize)]
pub struct AppConnect {
    pub proxy_enabled: bool,
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default)]
    pub base_proxy_target_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentType {
    Action,
    Trigger,
}

#[derive(Debug)]
pub struct Component {
    pub key: String,
    pub name: String,
    pub version: String,
    pub component_type: ComponentType,
    /// name_slug of the app the component belongs to (see `app_of`).
    pub app_slug: String,
    pub props: Vec<Value>,
    pub emu: Emu,
    /// The wire object (x_emulator removed).
    pub json: Value,
    /// `json` as text, as `App::wire`.
    pub wire: Box<RawValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Emu {
    pub ret: Option<Value>,
    pub summary: Option<String>,
    pub error: Option<EmuError>,
    pub remote_options: HashMap<String, RemoteOptions>,
    pub dynamic_props: Vec<Value>,
    pub reload_error: Option<ReloadError>,
    /// Files a successful run writes to /tmp: synced to the File Stash when the
    /// run has a `stash_id` (`stash.rs`), otherwise they go nowhere.
    pub files: Vec<EmuFile>,
    /// Triggers only: the event payloads (JSON objects) a deployed trigger
    /// emits, in turn: on deploy (unless `emit_on_deploy: false`) and on
    /// `POST /__emulator/triggers/{id}/emit` without a payload. A trigger's
    /// `summary` is the events' `sum`, with `{{event.PATH}}` placeholders.
    pub samples: Vec<Value>,
}

/// One file a run writes. `content` is text with `{{props.NAME}}` placeholders
/// (filled like `summary`), or with `encoding: "base64"` the file's bytes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmuFile {
    /// Under /tmp, e.g. `/tmp/img_1229191277.png`.
    pub path: String,
    pub content: String,
    #[serde(default)]
    pub encoding: FileEncoding,
    /// Default `application/octet-stream`.
    #[serde(default)]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileEncoding {
    #[default]
    Text,
    Base64,
}

/// A reload (`POST …/props`) that fails inside the component's `additionalProps`
/// when `prop` is configured (to `value`, or to anything when `value` is absent):
/// the answer is only `{observations: [{ts, k: "error", err}]}`, no `dynamicProps`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadError {
    pub prop: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default = "default_error_name")]
    pub name: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmuError {
    #[serde(default = "default_error_name")]
    pub name: String,
    #[serde(default)]
    pub message: String,
}

fn default_error_name() -> String {
    "Error".to_string()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteOptions {
    pub options: Option<Vec<Value>>,
    pub string_options: Option<Vec<Value>>,
    pub page_size: Option<usize>,
    /// How the component's `options()` pages; see [`Paging`]. Default: `page`
    /// when `page_size` is set, else `none`.
    pub paging: Option<Paging>,
    /// Extra fields every answer's context carries (`next_page` / `cursor`),
    /// e.g. slack's `{"types": [...]}`.
    pub context: Option<Map<String, Value>>,
    /// The app prop whose account the options are loaded with. Default: the
    /// nearest app prop before this prop, else the first app prop.
    pub app_prop: Option<String>,
}

/// The ways registry `options()` methods page, as the configure endpoint shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Paging {
    /// Ignores paging: every call returns the whole list; `context` null.
    None,
    /// Pages by the request's `page` (0-based), like github `branch`; `context`
    /// null on every answer and a page past the end is empty.
    Page,
    /// Reads `prev_context.nextPage` (1-based; absent or null = first page), like
    /// gitlab `projectId`; answers `context: {nextPage: N}`, and `{nextPage: null}`
    /// on the last page (a later call with that context starts over at page 1).
    NextPage,
    /// Reads `prev_context.cursor` (absent or "" = first page), like slack
    /// `conversation`; answers `context: {…, cursor: "<opaque>"}` and `cursor: ""`
    /// on the last page (a later call with that context starts over).
    Cursor,
}

impl RemoteOptions {
    pub fn paging(&self) -> Paging {
        self.paging.unwrap_or(if self.page_size.is_some() {
            Paging::Page
        } else {
            Paging::None
        })
    }
}

#[derive(Debug)]
pub struct Catalog {
    pub apps: Vec<App>,
    pub components: Vec<Component>,
    app_index: HashMap<String, usize>,
    component_index: HashMap<String, usize>,
}

impl Catalog {
    pub fn builtin() -> Result<Self, String> {
        Self::parse(BUILTIN_APPS, BUILTIN_COMPONENTS, "built-in fixture")
    }

    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        let apps = read("apps.json")?;
        let components = read("components.json")?;
        Self::parse(&apps, &components, &dir.display().to_string())
    }

    pub fn parse(apps_src: &str, components_src: &str, origin: &str) -> Result<Self, String> {
        let apps_json: Vec<Value> = serde_json::from_str(apps_src)
            .map_err(|e| format!("{origin}: apps.json is not a JSON array: {e}"))?;
        let components_json: Vec<Value> = serde_json::from_str(components_src)
            .map_err(|e| format!("{origin}: components.json is not a JSON array: {e}"))?;

        let mut apps = Vec::with_capacity(apps_json.len());
        let mut app_index = HashMap::new();
        for (i, raw) in apps_json.into_iter().enumerate() {
            let app = parse_app(raw).map_err(|e| format!("{origin}: apps.json[{i}]: {e}"))?;
            // Both ids and slugs resolve, as `GET /v1/connect/apps/{app_id}` accepts either.
            for k in [app.id.clone(), app.name_slug.clone()] {
                if app_index.insert(k.clone(), apps.len()).is_some() {
                    return Err(format!("{origin}: duplicate app id or slug {k:?}"));
                }
            }
            apps.push(app);
        }

        let mut components = Vec::with_capacity(components_json.len());
        let mut component_index = HashMap::new();
        for (i, raw) in components_json.into_iter().enumerate() {
            let c =
                parse_component(raw).map_err(|e| format!("{origin}: components.json[{i}]: {e}"))?;
            if component_index
                .insert(c.key.clone(), components.len())
                .is_some()
            {
                return Err(format!("{origin}: duplicate component key {:?}", c.key));
            }
            components.push(c);
        }

        for c in &components {
            if let Some(&ai) = app_index.get(&c.app_slug) {
                match c.component_type {
                    ComponentType::Action => apps[ai].action_count += 1,
                    ComponentType::Trigger => apps[ai].trigger_count += 1,
                }
            }
        }

        Ok(Self {
            apps,
            components,
            app_index,
            component_index,
        })
    }

    /// By `app_…` id or by name_slug.
    pub fn app(&self, id_or_slug: &str) -> Option<&App> {
        self.app_index.get(id_or_slug).map(|&i| &self.apps[i])
    }

    /// Whether an app prop of `slug` needs an account: not for an app whose `auth_type` is
    /// `none` (helper functions, data stores), which Pipedream's own form leaves unset
    /// (connect-react `appPropErrors`: "These apps don't require authentication").
    pub fn needs_account(&self, slug: &str) -> bool {
        self.app(slug)
            .and_then(|a| a.json.get("auth_type"))
            .and_then(Value::as_str)
            != Some("none")
    }

    pub fn component(&self, key: &str) -> Option<&Component> {
        self.component_index.get(key).map(|&i| &self.components[i])
    }
}

fn str_field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.get(name).and_then(Value::as_str).map(str::to_string)
}

fn strip_emulator(mut v: Value) -> (Value, Option<Value>) {
    let emu = v.as_object_mut().and_then(|o| o.remove(EMULATOR_FIELD));
    (v, emu)
}

fn parse_app(raw: Value) -> Result<App, String> {
    let (json, _) = strip_emulator(raw);
    let obj = json.as_object().ok_or("app is not an object")?;
    let id = str_field(obj, "id").ok_or("app has no string `id`")?;
    let name_slug = str_field(obj, "name_slug").ok_or("app has no string `name_slug`")?;
    let name = str_field(obj, "name").unwrap_or_else(|| name_slug.clone());
    let featured_weight = obj
        .get("featured_weight")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let connect = match obj.get("connect") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_connect(v).map_err(|e| format!("{name_slug}: connect: {e}"))?),
    };
    Ok(App {
        id,
        name_slug,
        name,
        featured_weight,
        action_count: 0,
        trigger_count: 0,
        connect,
        wire: wire(&json)?,
        json,
    })
}

/// Checked at start-up so a fixture typo cannot surface as a puzzling proxy answer.
fn parse_connect(v: &Value) -> Result<AppConnect, String> {
    let c: AppConnect = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    if let Some(base) = &c.base_proxy_target_url
        && !base.starts_with("https://")
    {
        return Err(format!(
            "base_proxy_target_url {base:?} must start with https://"
        ));
    }
    for d in c.allowed_domains.iter().flatten() {
        let ok = !d.is_empty()
            && d.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.' || ch == '-');
        if !ok {
            return Err(format!(
                "allowed domain {d:?} must be a lowercase host name"
            ));
        }
    }
    Ok(c)
}

fn parse_component(raw: Value) -> Result<Component, String> {
    let (json, emu) = strip_emulator(raw);
    let obj = json.as_object().ok_or("component is not an object")?;
    let key = str_field(obj, "key").ok_or("component has no string `key`")?;
    let name = str_field(obj, "name").unwrap_or_else(|| key.clone());
    let version = str_field(obj, "version").ok_or_else(|| format!("{key}: no `version`"))?;
    // The real API omits component_type on some older components; those are actions.
    let component_type = match obj.get("component_type").and_then(Value::as_str) {
        None | Some("action") => ComponentType::Action,
        Some("trigger") | Some("source") => ComponentType::Trigger,
        Some(other) => return Err(format!("{key}: unknown component_type {other:?}")),
    };
    let props = match obj.get("configurable_props") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(format!("{key}: configurable_props is not an array")),
    };
    let emu: Emu = match emu {
        None | Some(Value::Null) => Emu::default(),
        Some(v) => serde_json::from_value(v).map_err(|e| format!("{key}: bad x_emulator: {e}"))?,
    };
    check_emu(&key, component_type, &props, &emu)?;
    let app_slug = app_of(&key, &props);
    Ok(Component {
        key,
        name,
        version,
        component_type,
        app_slug,
        props,
        emu,
        wire: wire(&json)?,
        json,
    })
}

fn wire(json: &Value) -> Result<Box<RawValue>, String> {
    serde_json::value::to_raw_value(json).map_err(|e| e.to_string())
}

/// Fixture references to props must name real props, so a typo fails at start-up.
fn check_emu(
    key: &str,
    component_type: ComponentType,
    props: &[Value],
    emu: &Emu,
) -> Result<(), String> {
    if !emu.samples.is_empty() && component_type != ComponentType::Trigger {
        return Err(format!("{key}: samples are for triggers only"));
    }
    // An emitted event's `e` is an object (SDK `EmittedEvent.e`: "The event's payload").
    if let Some(i) = emu.samples.iter().position(|v| !v.is_object()) {
        return Err(format!("{key}: samples[{i}] is not a JSON object"));
    }
    let find = |name: &str| {
        props
            .iter()
            .chain(emu.dynamic_props.iter())
            .find(|p| prop_name(p) == Some(name))
    };
    for (prop, ro) in &emu.remote_options {
        if let Some(app) = &ro.app_prop
            && find(app).and_then(prop_type) != Some("app")
        {
            return Err(format!(
                "{key}: remote_options.{prop}.app_prop {app:?} is not an app prop"
            ));
        }
    }
    for f in &emu.files {
        check_file(f).map_err(|e| format!("{key}: files: {:?}: {e}", f.path))?;
    }
    if let Some(re) = &emu.reload_error
        && find(&re.prop).is_none()
    {
        return Err(format!(
            "{key}: reload_error.prop {:?} is not a prop",
            re.prop
        ));
    }
    Ok(())
}

/// A stash key is built from the path (`/tmp/a/b.png` -> `…/u/a/b.png`) and
/// goes into a URL unescaped, so only plain names are allowed.
fn check_file(f: &EmuFile) -> Result<(), String> {
    let rest = f
        .path
        .strip_prefix("/tmp/")
        .ok_or("path must be under /tmp/")?;
    let plain = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~'))
    };
    if !rest.split('/').all(plain) {
        return Err("path segments must be non-empty names of [A-Za-z0-9._~-]".into());
    }
    if f.encoding == FileEncoding::Base64 {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&f.content)
            .map_err(|e| format!("content is not base64: {e}"))?;
    }
    if let Some(ct) = &f.content_type
        && axum::http::HeaderValue::from_str(ct).is_err()
    {
        return Err(format!("content_type {ct:?} cannot be sent"));
    }
    Ok(())
}

/// The membership rule from the contract: the app named by the component's
/// `app`-type prop, else the key's prefix before the first `-`.
pub fn app_of(key: &str, props: &[Value]) -> String {
    props
        .iter()
        .find(|p| prop_type(p) == Some("app"))
        .and_then(|p| p.get("app").and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| key.split('-').next().unwrap_or(key).to_string())
}

pub fn prop_type(p: &Value) -> Option<&str> {
    p.get("type").and_then(Value::as_str)
}

pub fn prop_name(p: &Value) -> Option<&str> {
    p.get("name").and_then(Value::as_str)
}

pub fn prop_flag(p: &Value, flag: &str) -> bool {
    p.get(flag).and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn membership_prefers_app_prop() {
        let props = vec![json!({"name": "x", "type": "app", "app": "airtable_oauth"})];
        assert_eq!(app_of("airtable-foo", &props), "airtable_oauth");
        assert_eq!(app_of("helper_functions-format-x", &[]), "helper_functions");
    }

    #[test]
    fn files_must_be_plain_names_under_tmp() {
        let parse = |files: Value| {
            let components = json!([{"key": "a-b", "name": "B", "version": "0.0.1",
                                     "x_emulator": {"files": files}}]);
            Catalog::parse("[]", &components.to_string(), "test")
        };
        assert!(
            parse(json!([{"path": "/tmp/out/x.png", "content": "aGk=", "encoding": "base64"}]))
                .is_ok()
        );
        for bad in [
            json!([{"path": "/etc/x", "content": ""}]),
            json!([{"path": "/tmp/../x", "content": ""}]),
            json!([{"path": "/tmp/a b.txt", "content": ""}]),
            json!([{"path": "/tmp/x/", "content": ""}]),
            json!([{"path": "/tmp/x", "content": "!!", "encoding": "base64"}]),
            json!([{"path": "/tmp/x", "content": "", "mode": 644}]),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn samples_are_objects_on_triggers() {
        let parse = |component_type: &str, samples: Value| {
            let components = json!([{"key": "a-b", "name": "B", "version": "0.0.1",
                                     "component_type": component_type,
                                     "x_emulator": {"samples": samples}}]);
            Catalog::parse("[]", &components.to_string(), "test")
        };
        assert!(parse("source", json!([{"id": 1}, {"id": 2}])).is_ok());
        assert!(parse("trigger", json!([])).is_ok());
        let e = parse("trigger", json!([{"id": 1}, 2])).unwrap_err();
        assert!(e.contains("samples[1]"), "{e}");
        let e = parse("action", json!([{"id": 1}])).unwrap_err();
        assert!(e.contains("triggers only"), "{e}");
    }

    #[test]
    fn x_emulator_is_stripped() {
        let cat = Catalog::parse(
            r#"[{"id":"app_1","name_slug":"a","name":"A","x_emulator":{}}]"#,
            r#"[{"key":"a-b","name":"B","version":"0.0.1","x_emulator":{"ret":1}}]"#,
            "test",
        )
        .unwrap();
        assert!(cat.apps[0].json.get("x_emulator").is_none());
        assert!(cat.components[0].json.get("x_emulator").is_none());
        assert_eq!(cat.components[0].emu.ret, Some(json!(1)));
        assert_eq!(cat.app("a").map(|a| a.action_count), Some(1));
    }
}
