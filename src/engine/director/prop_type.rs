//! Pipedream prop types: the one table behind both the JSON Schema of a component's params
//! (`schema::input_schema`) and the run-time check of their values (`validate::validate`).
//!
//! Each [`PropType`] gives, for a prop, one [`Shape`]: what a value of it must look like. The
//! JSON Schema fragment and the check are both read off that shape, so the two cannot
//! disagree (the agreement tests below evaluate the emitted schema against the check).
//!
//! What each type takes, per the official SDK (`@pipedream/sdk` 3.x `api/types/*`) and
//! Pipedream's own form client (`@pipedream/connect-react`):
//! - `string`, `$.airtable.*`, `$.discord.channel`: a string (`ConfiguredPropValueString`).
//! - `integer`: a whole number, within `min`/`max` (`ConfiguredPropValueInteger`,
//!   `ConfigurablePropInteger`); `integer[]`: an array of them, bounds per item.
//! - `string[]`, `$.discord.channel[]`: an array of strings (`ConfiguredPropValueStringArray`).
//! - `boolean`: true or false. `object`: an object (`ConfiguredPropValueObject`, a record; not
//!   JSON text). `any`: anything (`ConfiguredPropValueAny`).
//! - `sql`: an object with a `query` string (`ConfiguredPropValueSql`: `query`, `params`,
//!   `value`, `usePreparedStatements`; connect-react's `ControlSql` sends `{app, query,
//!   params}`), or the query as a plain string (which `ControlSql` also reads), sent as that
//!   object (`props::configured_props`).
//! - `http_request`: an object (`HttpRequestConfig`: `url`, `method`, `headers`/`params` as
//!   `[{name, value}]`, `body`, `auth`, all optional).
//! - `data_store`: the SDK gives no value type; a data store's id or an object.
//! - `app`, `alert`, `dir`, `$.interface.*`, `$.service.db`: no value from the caller.
//! - Any other type: anything, so a type Pipedream adds later never blocks a run.
//!
//! A value chosen from a list may arrive wrapped as `{"__lv": {"label", "value"}}`: the SDK
//! asks for it on `withLabel` props and prefers it for remote options, and connect-react sends
//! it for any choice from static options (and for the `$.discord.channel` and airtable
//! pickers). An array prop of that kind takes a plain array or one wrapper around the list,
//! `{"__lv": [{"label", "value"}, …]}`, as connect-react's multi-select sends it (a `withLabel`
//! array given plain is wrapped so when sent, see `props::configured_props`).

use serde_json::{Map, Value, json};

use crate::engine::args::kind;
use crate::engine::connect::components::{OptionItem, Prop};

/// A prop's `type`, as the API sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropType {
    String,
    StringArray,
    Integer,
    IntegerArray,
    Boolean,
    Object,
    Any,
    Sql,
    HttpRequest,
    DataStore,
    AirtableBaseId,
    AirtableTableId,
    AirtableViewId,
    AirtableFieldId,
    DiscordChannel,
    DiscordChannelArray,
    App,
    Alert,
    Dir,
    InterfaceApphook,
    InterfaceHttp,
    InterfaceTimer,
    ServiceDb,
    /// A type this client does not know: takes anything.
    Unknown,
}

impl PropType {
    pub const ALL: [PropType; 24] = [
        PropType::String,
        PropType::StringArray,
        PropType::Integer,
        PropType::IntegerArray,
        PropType::Boolean,
        PropType::Object,
        PropType::Any,
        PropType::Sql,
        PropType::HttpRequest,
        PropType::DataStore,
        PropType::AirtableBaseId,
        PropType::AirtableTableId,
        PropType::AirtableViewId,
        PropType::AirtableFieldId,
        PropType::DiscordChannel,
        PropType::DiscordChannelArray,
        PropType::App,
        PropType::Alert,
        PropType::Dir,
        PropType::InterfaceApphook,
        PropType::InterfaceHttp,
        PropType::InterfaceTimer,
        PropType::ServiceDb,
        PropType::Unknown,
    ];

    /// Never fails: a type not in the list is `Unknown`.
    pub fn parse(wire: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|t| t.wire() == Some(wire))
            .unwrap_or(Self::Unknown)
    }

    /// The `type` string on the wire; none for `Unknown`.
    pub fn wire(self) -> Option<&'static str> {
        use PropType::*;
        Some(match self {
            String => "string",
            StringArray => "string[]",
            Integer => "integer",
            IntegerArray => "integer[]",
            Boolean => "boolean",
            Object => "object",
            Any => "any",
            Sql => "sql",
            HttpRequest => "http_request",
            DataStore => "data_store",
            AirtableBaseId => "$.airtable.baseId",
            AirtableTableId => "$.airtable.tableId",
            AirtableViewId => "$.airtable.viewId",
            AirtableFieldId => "$.airtable.fieldId",
            DiscordChannel => "$.discord.channel",
            DiscordChannelArray => "$.discord.channel[]",
            App => "app",
            Alert => "alert",
            Dir => "dir",
            InterfaceApphook => "$.interface.apphook",
            InterfaceHttp => "$.interface.http",
            InterfaceTimer => "$.interface.timer",
            ServiceDb => "$.service.db",
            Unknown => return None,
        })
    }

    /// Whether a caller sets this prop's value. The app prop is filled from the connected
    /// account; alerts, `dir` (the action's /tmp), interfaces and `$.service.db` take none.
    pub fn takes_input(self) -> bool {
        use PropType::*;
        !matches!(
            self,
            App | Alert | Dir | InterfaceApphook | InterfaceHttp | InterfaceTimer | ServiceDb
        )
    }

    fn is_array(self) -> bool {
        use PropType::*;
        matches!(self, StringArray | IntegerArray | DiscordChannelArray)
    }

    /// Types whose value is always picked from a list Pipedream loads.
    fn is_picker(self) -> bool {
        use PropType::*;
        matches!(
            self,
            AirtableBaseId | AirtableTableId | AirtableViewId | AirtableFieldId | DiscordChannel
        )
    }

    /// Whether `""` counts as a value of a required `p`: a choice from a list may be `""` (a
    /// Dropbox root folder), an empty text typed in is none (Pipedream's own form refuses it).
    /// `validate` and the input schema both ask this.
    pub fn empty_text_is_a_value(self, p: &Prop) -> bool {
        self.takes_label_wrapper(p)
    }

    /// Whether a value of `p` may arrive as `{"__lv": {label, value}}` (an array prop's as
    /// `{"__lv": [{label, value}, …]}`).
    pub fn takes_label_wrapper(self, p: &Prop) -> bool {
        use PropType::*;
        let chosen = p.has_remote_options()
            || p.with_label == Some(true)
            || p.first_static_options(0)
                .is_some_and(|(_, total)| total > 0);
        self.is_picker()
            || ((matches!(self, String | Integer | Boolean) || self.is_array()) && chosen)
    }

    /// What a value of `p` must look like.
    pub fn shape(self, p: &Prop) -> Shape {
        use PropType::*;
        if !self.takes_input() {
            return Shape::Anything;
        }
        let element = match self {
            String | StringArray | AirtableBaseId | AirtableTableId | AirtableViewId
            | AirtableFieldId | DiscordChannel | DiscordChannelArray => Shape::String,
            Integer | IntegerArray => Shape::Integer {
                min: p.min,
                max: p.max,
            },
            Boolean => Shape::Boolean,
            Object => Shape::object(vec![], None),
            Sql => Shape::AnyOf(vec![Shape::String, sql_object()]),
            HttpRequest => http_request_object(),
            DataStore => Shape::AnyOf(vec![Shape::String, Shape::object(vec![], None)]),
            _ => Shape::Anything,
        };
        // Remote options replace static ones: the choices come from `configureProp`.
        let element = match p
            .static_options()
            .filter(|o| !o.is_empty() && !p.has_remote_options())
        {
            Some(options) => Shape::Choice {
                base: Box::new(element),
                options,
            },
            None => element,
        };
        if self.is_array() && self.takes_label_wrapper(p) {
            Shape::LabelledList(Box::new(element))
        } else if self.is_array() {
            Shape::Array(Box::new(element))
        } else if self.takes_label_wrapper(p) {
            Shape::Labelled(Box::new(element))
        } else {
            element
        }
    }

    /// The problem with one value of `p` (not null: null is "not set"), if any.
    pub fn check(self, p: &Prop, value: &Value) -> Option<String> {
        let shape = self.shape(p);
        let problem = shape.check(value).err()?;
        if value.get("__lv").is_some()
            && !matches!(shape, Shape::Labelled(_) | Shape::LabelledList(_))
        {
            return Some(format!("{problem} ({LV_ONLY_FOR})"));
        }
        Some(problem)
    }
}

impl Prop {
    pub fn prop_type(&self) -> PropType {
        PropType::parse(&self.kind)
    }
}

const LV_ONLY_FOR: &str = "a {\"__lv\": …} wrapper is only for a choice of a prop with options, remote options or withLabel; send the plain value";
const LV_LIKE: &str = "{\"__lv\": {\"label\": …, \"value\": …}}";
const LV_LIST_LIKE: &str = "{\"__lv\": [{\"label\": …, \"value\": …}, …]}";

/// What a value must look like. Both the JSON Schema and the check come from here.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Any JSON value.
    Anything,
    String,
    /// A whole number within the bounds.
    Integer {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    /// An object; each field is checked when present, and a required one must be.
    /// `like` shows the expected form in problems.
    Object {
        fields: Vec<Field>,
        like: Option<&'static str>,
    },
    Array(Box<Shape>),
    /// At least one of these (`anyOf`).
    AnyOf(Vec<Shape>),
    /// `base`, and equal to one option's value (`enum`).
    Choice {
        base: Box<Shape>,
        options: Vec<OptionItem>,
    },
    /// The shape itself, or `{"__lv": {"label"?: string, "value": shape}}`.
    Labelled(Box<Shape>),
    /// An array of the shape, or `{"__lv": [{"label"?: string, "value": shape}, …]}`.
    LabelledList(Box<Shape>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
}

fn field(name: &'static str, shape: Shape, required: bool) -> Field {
    Field {
        name,
        shape,
        required,
    }
}

/// `ConfiguredPropValueSql`; only `query` is required (connect-react sends `{app, query,
/// params}`).
fn sql_object() -> Shape {
    Shape::object(
        vec![
            field("query", Shape::String, true),
            field("params", Shape::Array(Box::new(Shape::Anything)), false),
            field("value", Shape::String, false),
            field("usePreparedStatements", Shape::Boolean, false),
        ],
        Some("{\"query\": \"SELECT …\", \"params\": […]}"),
    )
}

/// `HttpRequestConfig`: every field optional; headers and params are `[{name, value}]`.
fn http_request_object() -> Shape {
    let name_values = || {
        Shape::Array(Box::new(Shape::object(
            vec![
                field("name", Shape::String, true),
                field("value", Shape::String, true),
            ],
            Some("{\"name\": …, \"value\": …}"),
        )))
    };
    Shape::object(
        vec![
            field("url", Shape::String, false),
            field("method", Shape::String, false),
            field("headers", name_values(), false),
            field("params", name_values(), false),
            field("body", Shape::object(vec![], None), false),
            field("auth", Shape::object(vec![], None), false),
        ],
        Some(
            "{\"url\": \"https://…\", \"method\": \"GET\", \"headers\": [{\"name\": …, \"value\": …}]}",
        ),
    )
}

impl Shape {
    fn object(fields: Vec<Field>, like: Option<&'static str>) -> Self {
        Shape::Object { fields, like }
    }

    pub fn schema(&self) -> Map<String, Value> {
        self.schema_with(true)
    }

    /// `annotate` adds `x-options` (labels for an `enum`); the copy inside a `{__lv}` wrapper
    /// leaves them out, so they show once.
    fn schema_with(&self, annotate: bool) -> Map<String, Value> {
        let mut s = Map::new();
        match self {
            Shape::Anything => {}
            Shape::String => {
                s.insert("type".into(), json!("string"));
            }
            Shape::Integer { min, max } => {
                s.insert("type".into(), json!("integer"));
                if let Some(min) = min {
                    s.insert("minimum".into(), number(*min));
                }
                if let Some(max) = max {
                    s.insert("maximum".into(), number(*max));
                }
            }
            Shape::Boolean => {
                s.insert("type".into(), json!("boolean"));
            }
            Shape::Object { fields, .. } => {
                s.insert("type".into(), json!("object"));
                if !fields.is_empty() {
                    let properties: Map<String, Value> = fields
                        .iter()
                        .map(|f| (f.name.into(), Value::Object(f.shape.schema_with(annotate))))
                        .collect();
                    s.insert("properties".into(), Value::Object(properties));
                    let required: Vec<&str> = fields
                        .iter()
                        .filter(|f| f.required)
                        .map(|f| f.name)
                        .collect();
                    if !required.is_empty() {
                        s.insert("required".into(), json!(required));
                    }
                }
            }
            Shape::Array(item) => s = array_schema(item, annotate),
            Shape::AnyOf(branches) => {
                let branches: Vec<Value> = branches
                    .iter()
                    .map(|b| Value::Object(b.schema_with(annotate)))
                    .collect();
                s.insert("anyOf".into(), Value::Array(branches));
            }
            Shape::Choice { base, options } => {
                s = base.schema_with(annotate);
                s.insert(
                    "enum".into(),
                    Value::Array(options.iter().map(|o| o.value.clone()).collect()),
                );
                if annotate {
                    // Labels help a model pick; `enum` alone loses them.
                    s.insert(
                        "x-options".into(),
                        serde_json::to_value(options).unwrap_or(Value::Null),
                    );
                }
            }
            Shape::Labelled(inner) => {
                let wrapper = lv_wrapper(chosen_schema(inner));
                s.insert(
                    "anyOf".into(),
                    json!([Value::Object(inner.schema_with(annotate)), wrapper]),
                );
            }
            Shape::LabelledList(item) => {
                let wrapper = lv_wrapper(json!({ "type": "array", "items": chosen_schema(item) }));
                let plain = array_schema(item, annotate);
                s.insert("anyOf".into(), json!([Value::Object(plain), wrapper]));
            }
        }
        s
    }

    /// `Err` is the problem, phrased to follow the param's name.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        match self {
            Shape::Anything => Ok(()),
            Shape::String if v.is_string() => Ok(()),
            Shape::String => Err(format!("must be a string, got {}", kind(v))),
            Shape::Integer { min, max } => {
                let Some(n) = v.as_f64().filter(|n| n.fract() == 0.0) else {
                    return Err(format!("must be a whole number, got {v}"));
                };
                if let Some(min) = min.filter(|&m| n < m) {
                    return Err(format!("must be at least {min}, got {n}"));
                }
                if let Some(max) = max.filter(|&m| n > m) {
                    return Err(format!("must be at most {max}, got {n}"));
                }
                Ok(())
            }
            Shape::Boolean if v.is_boolean() => Ok(()),
            Shape::Boolean => Err(format!("must be true or false, got {}", kind(v))),
            Shape::Object { fields, like } => {
                let Value::Object(o) = v else {
                    return Err(format!("must be {}, got {}", self.noun(), kind(v)));
                };
                for f in fields {
                    match o.get(f.name) {
                        Some(x) => f.shape.check(x).map_err(|e| format!("{:?} {e}", f.name))?,
                        None if f.required => {
                            let like = like.map(|l| format!(", like {l}")).unwrap_or_default();
                            return Err(format!("must have {:?}{like}", f.name));
                        }
                        None => {}
                    }
                }
                Ok(())
            }
            Shape::Array(item) => check_array(item, v),
            Shape::AnyOf(branches) => {
                let mut errors = Vec::new();
                for b in branches {
                    match b.check(v) {
                        Ok(()) => return Ok(()),
                        Err(e) => errors.push((b.fits_kind(v), e)),
                    }
                }
                // The problem of the branch of the value's kind, else what would do.
                if let Some((_, e)) = errors.into_iter().find(|(fits, _)| *fits) {
                    return Err(e);
                }
                Err(format!("must be {}, got {}", self.noun(), kind(v)))
            }
            Shape::Choice { base, options } => {
                base.check(v)?;
                if options.iter().any(|o| same(&o.value, v)) {
                    return Ok(());
                }
                let allowed: Vec<String> = options.iter().map(|o| o.value.to_string()).collect();
                Err(format!("must be one of {}, got {v}", allowed.join(", ")))
            }
            Shape::Labelled(inner) => {
                let plain = inner.check(v);
                let Some(lv) = v.get("__lv").filter(|_| plain.is_err()) else {
                    return plain;
                };
                match chosen_value(lv) {
                    Some(value) => inner.check(value),
                    None => Err(format!(
                        "has a malformed {{\"__lv\"}} wrapper: it must be {LV_LIKE} with a string label"
                    )),
                }
            }
            Shape::LabelledList(item) => {
                let plain = check_array(item, v);
                let Some(lv) = v.get("__lv").filter(|_| plain.is_err()) else {
                    return plain;
                };
                let malformed = || {
                    format!(
                        "has a malformed {{\"__lv\"}} wrapper: for a list it must be {LV_LIST_LIKE} with string labels"
                    )
                };
                let Value::Array(chosen) = lv else {
                    return Err(malformed());
                };
                chosen.iter().enumerate().try_for_each(|(i, o)| {
                    let value = chosen_value(o).ok_or_else(malformed)?;
                    item.check(value).map_err(|e| format!("item {i} {e}"))
                })
            }
        }
    }

    /// Whether `v` is of the JSON kind this shape takes (so its problem is the one to report).
    pub fn fits_kind(&self, v: &Value) -> bool {
        match self {
            Shape::Anything => true,
            Shape::String => v.is_string(),
            Shape::Integer { .. } => v.is_number(),
            Shape::Boolean => v.is_boolean(),
            Shape::Object { .. } => v.is_object(),
            Shape::Array(_) => v.is_array(),
            Shape::AnyOf(branches) => branches.iter().any(|b| b.fits_kind(v)),
            Shape::Choice { base, .. } => base.fits_kind(v),
            Shape::Labelled(inner) => inner.fits_kind(v) || v.get("__lv").is_some(),
            Shape::LabelledList(_) => v.is_array() || v.get("__lv").is_some(),
        }
    }

    /// The shape in words, after "must be".
    fn noun(&self) -> String {
        match self {
            Shape::Anything => "anything".into(),
            Shape::String => "a string".into(),
            Shape::Integer { .. } => "a whole number".into(),
            Shape::Boolean => "true or false".into(),
            Shape::Object { like: Some(l), .. } => format!("an object like {l}"),
            Shape::Object { like: None, .. } => "an object".into(),
            Shape::Array(_) => "an array".into(),
            Shape::AnyOf(branches) => branches
                .iter()
                .map(Shape::noun)
                .collect::<Vec<_>>()
                .join(" or "),
            Shape::Choice { base, .. } => base.noun(),
            Shape::Labelled(inner) => format!("{} or {LV_LIKE}", inner.noun()),
            Shape::LabelledList(_) => format!("an array or {LV_LIST_LIKE}"),
        }
    }
}

/// `{"type": "array", "items": …}` of `item`: an `Array`'s schema, and a `LabelledList`'s plain
/// branch.
fn array_schema(item: &Shape, annotate: bool) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("type".into(), json!("array"));
    s.insert("items".into(), Value::Object(item.schema_with(annotate)));
    s
}

/// An array's check, item by item: an `Array`'s, and a `LabelledList`'s plain branch.
fn check_array(item: &Shape, v: &Value) -> Result<(), String> {
    let Value::Array(items) = v else {
        return Err(format!("must be an array, got {}", kind(v)));
    };
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, x)| item.check(x).map_err(|e| format!("item {i} {e}")))
}

/// The schema of one choice, `{"label"?: string, "value": …}`, its value of `value`'s shape.
fn chosen_schema(value: &Shape) -> Value {
    json!({
        "type": "object",
        "properties": {
            "label": { "type": "string" },
            "value": value.schema_with(false),
        },
        "required": ["value"],
    })
}

/// `{"__lv": inner}`, as a schema.
fn lv_wrapper(inner: Value) -> Value {
    json!({
        "type": "object",
        "properties": { "__lv": inner },
        "required": ["__lv"],
    })
}

/// The value of one choice, `{"label"?: string, "value": …}`; `None` when it is not one.
fn chosen_value(choice: &Value) -> Option<&Value> {
    choice
        .as_object()
        .filter(|o| o.get("label").is_none_or(Value::is_string))
        .and_then(|o| o.get("value"))
}

/// A bound as JSON: whole numbers as integers (`1`, not `1.0`).
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// JSON equality as JSON Schema's `enum` has it: numbers by value (`1` is `1.0`).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), ..) => x == y,
                (.., Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// A tiny JSON Schema evaluator, only for the keywords the input schema emits (any other
/// keyword fails the test, so a new one cannot slip past it). The agreement tests run it on
/// the emitted schema and compare with `validate`: they fail as soon as the two diverge.
#[cfg(test)]
mod evaluator {
    use serde_json::Value;

    const ANNOTATIONS: [&str; 9] = [
        "$schema",
        "title",
        "description",
        "default",
        "writeOnly",
        "x-options",
        "x-remote-options",
        "x-reload-props",
        "x-pipedream-type",
    ];

    pub fn valid(schema: &Value, v: &Value) -> bool {
        let s = match schema {
            Value::Bool(b) => return *b,
            Value::Object(s) => s,
            other => panic!("not a schema: {other}"),
        };
        s.iter().all(|(keyword, k)| match keyword.as_str() {
            "type" => match k {
                Value::String(t) => is_type(t, v),
                Value::Array(ts) => ts.iter().any(|t| is_type(t.as_str().unwrap(), v)),
                other => panic!("type {other}"),
            },
            "enum" => k.as_array().unwrap().iter().any(|e| equal(e, v)),
            "minimum" => v.as_f64().is_none_or(|n| n >= k.as_f64().unwrap()),
            "minLength" => v
                .as_str()
                .is_none_or(|t| t.chars().count() as u64 >= k.as_u64().unwrap()),
            "minItems" => v
                .as_array()
                .is_none_or(|a| a.len() as u64 >= k.as_u64().unwrap()),
            "maximum" => v.as_f64().is_none_or(|n| n <= k.as_f64().unwrap()),
            "items" => v.as_array().is_none_or(|a| a.iter().all(|x| valid(k, x))),
            "properties" => v.as_object().is_none_or(|o| {
                k.as_object()
                    .unwrap()
                    .iter()
                    .all(|(name, sub)| o.get(name).is_none_or(|x| valid(sub, x)))
            }),
            "required" => v.as_object().is_none_or(|o| {
                k.as_array()
                    .unwrap()
                    .iter()
                    .all(|name| o.contains_key(name.as_str().unwrap()))
            }),
            "additionalProperties" => match k {
                Value::Bool(true) => true,
                Value::Bool(false) => v.as_object().is_none_or(|o| {
                    o.keys()
                        .all(|name| s.get("properties").and_then(|p| p.get(name)).is_some())
                }),
                other => panic!("additionalProperties {other}"),
            },
            "anyOf" => k.as_array().unwrap().iter().any(|b| valid(b, v)),
            "not" => !valid(k, v),
            "oneOf" => k.as_array().unwrap().iter().filter(|b| valid(b, v)).count() == 1,
            a if ANNOTATIONS.contains(&a) => true,
            other => panic!("the schema emits {other:?}, which the evaluator does not know"),
        })
    }

    fn is_type(t: &str, v: &Value) -> bool {
        match t {
            "string" => v.is_string(),
            // Draft 2020-12: any number with a zero fractional part.
            "integer" => v.as_f64().is_some_and(|n| n.fract() == 0.0),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "null" => v.is_null(),
            other => panic!("type {other:?}"),
        }
    }

    /// JSON Schema equality, written apart from `super::same`: numbers by value.
    fn equal(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| equal(a, b)))
            }
            _ => a == b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::evaluator::valid;
    use super::*;
    use crate::engine::director::node::validate::validate;
    use crate::engine::director::tools::schema::input_schema;
    use crate::engine::error::Problem;

    /// Prop settings that change what a value may be.
    fn configs() -> Vec<Value> {
        vec![
            json!({}),
            json!({"optional": true}),
            json!({"min": 1, "max": 500}),
            json!({"min": 0.5}),
            json!({"options": ["usd", "eur"]}),
            json!({"options": [{"label": "One", "value": 1}, {"__lv": {"label": "Two", "value": 2}}, 3.0]}),
            json!({"options": [true]}),
            json!({"remoteOptions": true}),
            json!({"withLabel": true}),
            json!({"remoteOptions": true, "options": ["usd"]}),
            json!({"withLabel": true, "options": [1, 2], "min": 2}),
        ]
    }

    fn prop(t: PropType, config: &Value) -> Prop {
        let mut p = json!({"name": "p", "type": t.wire().unwrap_or("$.future.type")});
        p.as_object_mut()
            .unwrap()
            .extend(config.as_object().unwrap().clone());
        serde_json::from_value(p).unwrap()
    }

    /// Representative values of every type, right and wrong, plain and wrapped.
    fn values() -> Vec<Value> {
        let scalars = vec![
            json!(""),
            json!("usd"),
            json!("eur"),
            json!("SELECT 1"),
            json!(0),
            json!(1),
            json!(2),
            json!(3),
            json!(1.0),
            json!(-3),
            json!(60.5),
            json!(500),
            json!(501),
            json!(1e20),
            json!(u64::MAX),
            json!(true),
            json!(false),
        ];
        let arrays = vec![
            json!([]),
            json!(["usd"]),
            json!(["a", 2]),
            json!([1, 2]),
            json!([0]),
            json!([1.5]),
            json!([true]),
            json!([null]),
            json!([{"__lv": {"label": "USD", "value": "usd"}}]),
        ];
        let objects = vec![
            json!({}),
            json!({"key": "value"}),
            json!({"query": "SELECT 1"}),
            json!({"query": 1}),
            json!({"query": "SELECT $1", "params": ["a"]}),
            json!({"query": "x", "params": "a"}),
            json!({"app": "postgresql", "query": "x", "params": []}),
            json!({"value": "x", "query": "x", "params": [], "usePreparedStatements": true}),
            json!({"query": "x", "usePreparedStatements": "yes"}),
            json!({"url": "https://x", "method": "GET", "headers": [{"name": "a", "value": "b"}], "params": [], "body": {"raw": "{}"}}),
            json!({"url": 5}),
            json!({"headers": {"a": "b"}}),
            json!({"headers": [{"name": "a"}]}),
            json!({"params": [{"name": "a", "value": 1}]}),
            json!({"body": "x"}),
            json!({"dataStoreId": "ds_1"}),
            json!({"__lv": null}),
            json!({"__lv": "usd"}),
            json!({"__lv": {"label": "x"}}),
            json!({"__lv": {"label": 5, "value": "usd"}}),
            json!({"__lv": {"value": null}}),
            json!({"__lv": [{"label": "USD", "value": "usd"}]}),
        ];
        let mut all: Vec<Value> = Vec::new();
        for x in scalars.iter().chain(&arrays) {
            all.push(json!({"__lv": {"label": "L", "value": x}}));
            all.push(json!({"__lv": {"value": x}}));
        }
        all.extend(scalars);
        all.extend(arrays);
        all.extend(objects);
        all
    }

    /// `validate` and the emitted schema say the same of `v`: the param's own schema, and the
    /// whole input schema on `{p: v}`.
    fn assert_agree(p: &Prop, v: &Value) {
        let problems = validate(
            std::slice::from_ref(p),
            &Map::from_iter([(p.name.clone(), v.clone())]),
            false,
        );
        let accepted = problems.is_empty();
        let fragment = Value::Object(p.prop_type().shape(p).schema());
        assert_eq!(
            valid(&fragment, v),
            p.prop_type().check(p, v).is_none(),
            "{} {v}: fragment {fragment}",
            p.kind
        );
        if p.is_param() {
            let schema = input_schema(std::slice::from_ref(p));
            let by_schema = valid(&schema, &json!({ "p": v }));
            assert_eq!(
                by_schema, accepted,
                "{} {v}: schema {by_schema}, validate {problems:?}; {schema}",
                p.kind
            );
        } else if !p.is_app() {
            // Not user input: nothing in the schema, and a value for it is refused.
            assert!(!accepted, "{} {v}: {problems:?}", p.kind);
        }
    }

    #[test]
    fn validate_and_schema_agree_on_every_type() {
        for t in PropType::ALL {
            for config in configs() {
                let p = prop(t, &config);
                for v in values() {
                    assert_agree(&p, &v);
                }
            }
        }
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                (-3i64..600).prop_map(Value::from),
                prop::sample::select(vec![0.5, 1.0, 2.0, 60.5, -2.0, 1e20]).prop_map(Value::from),
                prop::sample::select(vec!["", "usd", "eur", "SELECT 1", "https://x", "GET"])
                    .prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                let keys = prop::sample::select(vec![
                    "__lv", "label", "value", "query", "params", "url", "method", "headers",
                    "name", "body", "x",
                ]);
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((keys, inner), 0..4).prop_map(|kv| {
                        Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                    }),
                ]
            })
        }

        proptest! {
            /// Whatever the value, `validate` and the schema agree (null aside: it is "not set").
            #[test]
            fn validate_and_schema_agree(
                t in 0..PropType::ALL.len(),
                config in 0..11usize,
                v in json_value().prop_filter("null is not set", |v| !v.is_null()),
            ) {
                assert_agree(&prop(PropType::ALL[t], &configs()[config]), &v);
            }
        }
    }

    #[test]
    fn parses_every_wire_type_and_is_lenient_with_unknown_ones() {
        for t in PropType::ALL {
            if let Some(wire) = t.wire() {
                assert_eq!(PropType::parse(wire), t);
            }
        }
        assert_eq!(PropType::parse("$.interface.sse"), PropType::Unknown);
        assert_eq!(PropType::parse("STRING"), PropType::Unknown);
        let p = prop(PropType::Unknown, &json!({}));
        assert!(p.prop_type().shape(&p).schema().is_empty());
        for v in values() {
            assert_eq!(p.prop_type().check(&p, &v), None, "{v}");
        }
    }

    #[test]
    fn user_input_is_what_components_call_params() {
        for t in PropType::ALL.into_iter().filter(|t| t.wire().is_some()) {
            let p = prop(t, &json!({}));
            assert_eq!(p.is_param(), t.takes_input(), "{:?}", t.wire());
        }
    }

    /// `validate`'s answer for one param, and that param's schema.
    fn run(p: Value, v: Value) -> (Vec<Problem>, Value) {
        let props: Vec<Prop> = vec![serde_json::from_value(p).unwrap()];
        let name = props[0].name.clone();
        let problems = validate(&props, &Map::from_iter([(name.clone(), v)]), false);
        let schema = input_schema(&props)["properties"][&name].clone();
        (problems, schema)
    }

    fn accepts(p: &Value, v: Value) {
        let (problems, schema) = run(p.clone(), v.clone());
        assert_eq!(problems, vec![], "{v}");
        assert!(valid(&schema, &v), "{v} against {schema}");
    }

    fn refuses(p: &Value, v: Value, problem: &str) {
        let (problems, schema) = run(p.clone(), v.clone());
        assert_eq!(problems.len(), 1, "{v}: {problems:?}");
        assert!(
            problems[0].problem.contains(problem),
            "{v}: {:?} lacks {problem:?}",
            problems[0].problem
        );
        assert!(!valid(&schema, &v), "{v} against {schema}");
    }

    #[test]
    fn http_request_is_a_request_config_object() {
        let p = json!({"name": "request", "type": "http_request"});
        accepts(
            &p,
            json!({"url": "https://api.example.com/v1/x", "method": "POST",
                   "headers": [{"name": "Accept", "value": "application/json"}], "params": [],
                   "body": {"contentType": "application/json", "mode": "raw", "raw": "{}"},
                   "auth": {"type": "bearer", "token": "t"}}),
        );
        accepts(&p, json!({}));
        accepts(&p, json!({"key": "value"}));
        refuses(
            &p,
            json!("https://x"),
            "must be an object like {\"url\": \"https://…\"",
        );
        refuses(
            &p,
            json!({"url": 5}),
            "\"url\" must be a string, got a number",
        );
        refuses(
            &p,
            json!({"headers": {"Accept": "*/*"}}),
            "\"headers\" must be an array, got an object",
        );
        refuses(
            &p,
            json!({"headers": [{"name": "Accept"}]}),
            "\"headers\" item 0 must have \"value\"",
        );
        let (_, schema) = run(p, json!({}));
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["url"]["type"], "string");
        assert_eq!(
            schema["properties"]["headers"]["items"]["required"],
            json!(["name", "value"])
        );
    }

    #[test]
    fn sql_is_a_query_object_or_the_query_text() {
        let p = json!({"name": "sql", "type": "sql", "auth": {"app": "postgresql"}});
        accepts(&p, json!("SELECT 1"));
        accepts(
            &p,
            json!({"query": "SELECT * FROM t WHERE id = $1", "params": ["7"]}),
        );
        accepts(
            &p,
            json!({"app": "postgresql", "query": "SELECT 1", "params": []}),
        );
        accepts(
            &p,
            json!({"value": "SELECT 1", "query": "SELECT 1", "params": [], "usePreparedStatements": false}),
        );
        refuses(
            &p,
            json!(5),
            "must be a string or an object like {\"query\": \"SELECT …\", \"params\": […]}, got a number",
        );
        refuses(&p, json!({"params": []}), "must have \"query\"");
        refuses(
            &p,
            json!({"query": 1}),
            "\"query\" must be a string, got a number",
        );
        refuses(
            &p,
            json!({"query": "x", "params": "7"}),
            "\"params\" must be an array",
        );
        refuses(
            &p,
            json!({"query": "x", "usePreparedStatements": "yes"}),
            "\"usePreparedStatements\" must be true or false",
        );
        let (_, schema) = run(p, json!("x"));
        assert_eq!(schema["anyOf"][0]["type"], "string");
        assert_eq!(schema["anyOf"][1]["required"], json!(["query"]));
    }

    #[test]
    fn label_value_wrappers_on_string_props() {
        let remote = json!({"name": "channel", "type": "string", "remoteOptions": true});
        accepts(&remote, json!("C1"));
        accepts(
            &remote,
            json!({"__lv": {"label": "#general", "value": "C1"}}),
        );
        accepts(&remote, json!({"__lv": {"value": "C1"}}));
        refuses(
            &remote,
            json!({"__lv": {"label": "#general", "value": 5}}),
            "must be a string, got a number",
        );
        refuses(
            &remote,
            json!({"__lv": {"label": "#general"}}),
            "malformed {\"__lv\"} wrapper",
        );
        refuses(
            &remote,
            json!({"__lv": "C1"}),
            "malformed {\"__lv\"} wrapper",
        );
        refuses(&remote, json!(5), "must be a string, got a number");
        let (_, schema) = run(remote, json!("C1"));
        assert_eq!(schema["anyOf"][0]["type"], "string");
        assert_eq!(schema["anyOf"][1]["required"], json!(["__lv"]));
        assert_eq!(schema["x-remote-options"], true);

        let labelled = json!({"name": "sheet", "type": "string", "withLabel": true});
        accepts(
            &labelled,
            json!({"__lv": {"label": "Q3", "value": "sheet_1"}}),
        );
        // A static choice, wrapped the way Pipedream's own client sends it, must be a choice.
        let choice = json!({"name": "currency", "type": "string", "options": ["usd", "eur"]});
        accepts(&choice, json!({"__lv": {"label": "USD", "value": "usd"}}));
        refuses(
            &choice,
            json!({"__lv": {"label": "Yen", "value": "jpy"}}),
            "must be one of \"usd\", \"eur\", got \"jpy\"",
        );
        // A free-text prop takes no wrapper, and says why.
        let plain = json!({"name": "text", "type": "string"});
        refuses(
            &plain,
            json!({"__lv": {"label": "x", "value": "x"}}),
            "must be a string, got an object (a {\"__lv\": …} wrapper is only for",
        );
        let (_, schema) = run(plain, json!("x"));
        assert_eq!(schema["type"], "string");
    }

    #[test]
    fn label_value_wrappers_on_integer_props() {
        let p = json!({"name": "project", "type": "integer", "min": 1, "remoteOptions": true});
        accepts(&p, json!(5));
        accepts(&p, json!({"__lv": {"label": "Website", "value": 5}}));
        refuses(
            &p,
            json!({"__lv": {"label": "Website", "value": 0}}),
            "must be at least 1, got 0",
        );
        refuses(
            &p,
            json!({"__lv": {"label": "Website", "value": "5"}}),
            "must be a whole number, got \"5\"",
        );
        let (_, schema) = run(p, json!(5));
        assert_eq!(schema["anyOf"][0]["minimum"], 1);
        assert_eq!(
            schema["anyOf"][1]["properties"]["__lv"]["properties"]["value"]["minimum"],
            1
        );

        let options = json!({"name": "size", "type": "integer", "withLabel": true,
                             "options": [{"label": "One", "value": 1}, {"label": "Two", "value": 2}]});
        accepts(&options, json!({"__lv": {"label": "One", "value": 1}}));
        // 1.0 is 1, for `enum` as for the check.
        accepts(&options, json!({"__lv": {"label": "One", "value": 1.0}}));
        refuses(&options, json!(3), "must be one of 1, 2, got 3");
    }

    #[test]
    fn string_array_props_take_an_array_or_one_wrapper_around_the_list() {
        // connect-react's multi-select sends the chosen options as {"__lv": [{label, value}]}.
        let p = json!({"name": "labelIds", "type": "string[]", "remoteOptions": true});
        accepts(&p, json!(["INBOX", "UNREAD"]));
        accepts(
            &p,
            json!({"__lv": [{"label": "Inbox", "value": "INBOX"}, {"value": "UNREAD"}]}),
        );
        refuses(&p, json!([]), "is required: got an empty array");
        refuses(
            &p,
            json!({"__lv": {"label": "Inbox", "value": ["INBOX"]}}),
            "malformed {\"__lv\"} wrapper: for a list it must be",
        );
        refuses(
            &p,
            json!({"__lv": [{"label": "Inbox", "value": 5}]}),
            "item 0 must be a string, got a number",
        );
        refuses(
            &p,
            json!([{"__lv": {"label": "Inbox", "value": "INBOX"}}]),
            "item 0 must be a string, got an object",
        );
        let (_, schema) = run(p, json!(["INBOX"]));
        assert_eq!(schema["anyOf"][0]["type"], "array");
        assert_eq!(schema["anyOf"][0]["items"]["type"], "string");
        assert_eq!(schema["anyOf"][0]["minItems"], 1);
        // Without options to choose from, a plain array only.
        let plain = json!({"name": "tags", "type": "string[]", "optional": true});
        accepts(&plain, json!([]));
        refuses(
            &plain,
            json!({"__lv": [{"label": "a", "value": "a"}]}),
            "must be an array, got an object (a {\"__lv\": …} wrapper is only for",
        );
    }

    #[test]
    fn dir_props_are_no_input() {
        let p = json!({"name": "syncDir", "type": "dir", "accessMode": "write", "sync": true});
        let props: Vec<Prop> = vec![serde_json::from_value(p).unwrap()];
        let schema = input_schema(&props);
        assert!(schema["properties"].get("syncDir").is_none());
        assert_eq!(schema["required"], json!([]));
        // Not required, although not optional; a value is refused (Pipedream's own form never
        // sends one).
        assert_eq!(validate(&props, &Map::new(), false), vec![]);
        let sent = Map::from_iter([("syncDir".to_owned(), json!("/tmp"))]);
        let problems = validate(&props, &sent, false);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .problem
                .contains("is not a parameter: it is the action's /tmp")
        );
    }

    #[test]
    fn data_store_props_take_an_id_or_an_object() {
        let p = json!({"name": "dataStore", "type": "data_store", "label": "Data Store"});
        accepts(&p, json!("ds_abc"));
        accepts(&p, json!({"dataStoreId": "ds_abc"}));
        refuses(&p, json!(5), "must be a string or an object, got a number");
        refuses(&p, json!(["ds_abc"]), "got an array");
        let props: Vec<Prop> = vec![serde_json::from_value(p).unwrap()];
        assert_eq!(
            validate(&props, &Map::new(), false)[0].problem,
            "is required (Data Store)"
        );
    }

    #[test]
    fn any_props_take_anything_but_their_options() {
        let p = json!({"name": "value", "type": "any", "optional": true});
        for v in values() {
            accepts(&p, v);
        }
        // Required, an empty text or list is no value.
        let required = json!({"name": "value", "type": "any"});
        refuses(&required, json!(""), "is required: got an empty string");
        refuses(&required, json!([]), "is required: got an empty array");
        accepts(&required, json!(0));
        let (_, schema) = run(p, json!(1));
        assert!(schema.get("type").is_none() && schema.get("anyOf").is_none());
        let options = json!({"name": "value", "type": "any", "options": [1, "one"]});
        accepts(&options, json!("one"));
        refuses(&options, json!(2), "must be one of 1, \"one\", got 2");
    }

    #[test]
    fn airtable_props_are_strings_picked_from_a_list() {
        for t in [
            "$.airtable.baseId",
            "$.airtable.tableId",
            "$.airtable.viewId",
            "$.airtable.fieldId",
        ] {
            let p = json!({"name": "id", "type": t, "appProp": "airtable_oauth"});
            accepts(&p, json!("appXYZ"));
            accepts(
                &p,
                json!({"__lv": {"label": "Investors", "value": "appXYZ"}}),
            );
            refuses(&p, json!(5), "must be a string, got a number");
            refuses(
                &p,
                json!({"__lv": {"label": "Investors", "value": 5}}),
                "must be a string, got a number",
            );
            let (_, schema) = run(p, json!("x"));
            assert_eq!(schema["anyOf"][0]["type"], "string", "{t}");
            assert_eq!(schema["x-pipedream-type"], t);
        }
    }

    #[test]
    fn discord_channel_arrays_are_arrays_of_ids() {
        let p = json!({"name": "channels", "type": "$.discord.channel[]", "appProp": "discord"});
        accepts(&p, json!(["1234567890"]));
        refuses(&p, json!("1234567890"), "must be an array, got a string");
        refuses(
            &p,
            json!([1234567890]),
            "item 0 must be a string, got a number",
        );
        // Picked through configureProp, as Pipedream's own form does; the list may come in
        // one wrapper.
        accepts(
            &p,
            json!({"__lv": [{"label": "#general", "value": "1234567890"}]}),
        );
        let (_, schema) = run(p, json!(["1"]));
        assert_eq!(schema["anyOf"][0]["type"], "array");
        assert_eq!(schema["anyOf"][0]["items"]["type"], "string");
        assert_eq!(schema["x-remote-options"], true);
    }

    #[test]
    fn bounds_are_emitted_as_given_and_only_for_integers() {
        let (_, schema) = run(
            json!({"name": "n", "type": "integer", "min": 0.5, "max": 10}),
            json!(1),
        );
        assert_eq!(schema["minimum"], 0.5);
        assert_eq!(schema["maximum"], 10);
        let (problems, _) = run(
            json!({"name": "n", "type": "integer", "min": 0.5}),
            json!(0),
        );
        assert_eq!(problems[0].problem, "must be at least 0.5, got 0");
        let (_, schema) = run(json!({"name": "x", "type": "any", "min": 1}), json!(0));
        assert!(schema.get("minimum").is_none());
    }
}
