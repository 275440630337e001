//! `executePipedreamConnect` and `executeBatch`: reading the node config and context, and
//! turning `ErrorReport`s into `PipedreamError` / `AbortError` objects.

use std::sync::Arc;

use futures::{TryFutureExt, future};
use napi::bindgen_prelude::{
    Env, JsObjectValue, JsValue, Object, PromiseRaw, Result, Status, Unknown, ValueType,
};
use serde_json::{Map, Value};

use super::handoff;
use super::js::{self, Shape};
use super::outcomes::Outcomes;
use super::signal::{self, Signal};
use crate::engine::args::loosely;
use crate::engine::client::Client;
use crate::engine::connect::proxy;
use crate::engine::director::node::execute::{
    BatchItem, ExecuteArgs, batch_concurrency, batch_items,
};
use crate::engine::error::Error;
use crate::engine::error::ErrorReport;

type JsPromise<'env> = PromiseRaw<'env, Unknown<'env>>;

/// The JS error for a report: `name`, `code`, `message`, and `status` / `retryAfterMs` /
/// `details` where they apply.
pub fn js_error<'env>(env: &'env Env, report: &ErrorReport) -> Result<Object<'env>> {
    let mut obj = env.create_error(napi::Error::new(
        Status::GenericFailure,
        report.message.clone(),
    ))?;
    obj.set_named_property("name", report.name)?;
    obj.set_named_property("code", report.code)?;
    if let Some(status) = report.status {
        obj.set_named_property("status", status as u32)?;
    }
    if let Some(ms) = report.retry_after_ms {
        obj.set_named_property("retryAfterMs", ms as f64)?;
    }
    if report.maybe_executed {
        obj.set_named_property("maybe_executed", true)?;
    }
    if let Some(details) = &report.details {
        let json = serde_json::to_string(details).unwrap_or_else(|_| "[]".into());
        obj.set_named_property("details", js::parse(env, &json)?)?;
    }
    for (key, value) in report.fields.iter().flat_map(|f| f.iter()) {
        obj.set_named_property(key, js::parse(env, &value.to_string())?)?;
    }
    Ok(obj)
}

/// The node's `component_id`, for error messages; the proxy request's label for a proxy node
/// or a `proxyRequest`, empty when it has neither.
pub fn component_id(config: &serde_json::Value) -> String {
    let proxy_request = config.get("method").is_some() && config.get("url").is_some();
    match config.get("proxy") {
        Some(proxy) => proxy::label_of(proxy),
        None if proxy_request => proxy::label_of(config),
        None => config
            .get("component_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
    }
}

/// How a call's arguments become a run: a node's config and context, or `proxyRequest`'s
/// request and options.
pub type Parse = fn(&Value, &Value) -> crate::engine::error::Result<ExecuteArgs>;

pub const NODE: Parse = ExecuteArgs::parse;
pub const PROXY_REQUEST: Parse = ExecuteArgs::parse_proxy_request;
pub const DEPLOY: Parse = ExecuteArgs::parse_deploy;

/// A rejecting call's outcome on the JS thread: the listener removed, then the answer parsed or
/// the report thrown as its `PipedreamError`.
pub fn settle<'env>(
    env: &'env Env,
    outcome: std::result::Result<String, ErrorReport>,
    listener: Option<signal::Listener>,
) -> Result<Unknown<'env>> {
    settle_as(env, outcome, listener, Shape::Object)
}

/// `settle`, with an answer in `shape` (its text already made by `Shape::text`).
pub fn settle_as<'env>(
    env: &'env Env,
    outcome: std::result::Result<String, ErrorReport>,
    listener: Option<signal::Listener>,
    shape: Shape,
) -> Result<Unknown<'env>> {
    if let Some(l) = listener {
        l.detach(env);
    }
    match outcome {
        Ok(json) => shape.value(env, &json),
        Err(report) => Err(napi::Error::from(js_error(env, &report)?.to_unknown())),
    }
}

pub fn rejected<'env>(env: &'env Env, report: &ErrorReport) -> Result<JsPromise<'env>> {
    let error = js_error(env, report)?;
    PromiseRaw::<Unknown>::reject(env, error)
}

/// `unread` names the call in its error when its config cannot be read at all.
pub fn execute<'env>(
    env: &'env Env,
    client: Arc<Client>,
    config: Unknown<'env>,
    context: Option<Unknown<'env>>,
    parse: Parse,
    unread: &str,
) -> Result<JsPromise<'env>> {
    let config = match js::read_args(env, config) {
        Ok(c) => c,
        Err(reason) => return rejected(env, &invalid(&readable_id(env, config, unread), reason)),
    };
    run(env, client, config, context, read_context, parse)
}

/// The `component_id` of a config that could not be read whole (a param that is a BigInt,
/// say), to name the call; `unread` when that is no readable string either.
fn readable_id(env: &Env, config: Unknown, unread: &str) -> String {
    if !matches!(config.get_type(), Ok(ValueType::Object)) {
        return unread.to_owned();
    }
    let obj = Object::from_raw(env.raw(), config.raw());
    match leaf(env, &obj, "component_id", "component_id") {
        Ok(Some(Value::String(id))) if !id.is_empty() => id,
        _ => unread.to_owned(),
    }
}

/// `execute` of a node whose config and context `index.js` has read: `{ config, context? }` as
/// JSON text, the context already picked (`read_context`). `context` is the caller's, for its
/// `signal` only.
pub fn execute_json<'env>(
    env: &'env Env,
    client: Arc<Client>,
    node: String,
    context: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let mut node: Value = match serde_json::from_str(&node) {
        Ok(n) => n,
        Err(e) => return rejected(env, &invalid("", format!("the node is not JSON: {e}"))),
    };
    let mut take = |name: &str| node.get_mut(name).map(Value::take).unwrap_or_default();
    let (config, picked) = (take("config"), take("context"));
    run(env, client, config, context, |_, _| Ok(picked), NODE)
}

fn invalid(id: &str, reason: String) -> ErrorReport {
    ErrorReport::of(id, &Error::InvalidArgs(reason))
}

/// A call whose config is read: its signal and context read (`read`), then the run spawned.
fn run<'env>(
    env: &'env Env,
    client: Arc<Client>,
    config: Value,
    context: Option<Unknown<'env>>,
    read: impl FnOnce(&Env, Unknown) -> std::result::Result<Value, String>,
    parse: Parse,
) -> Result<JsPromise<'env>> {
    let context = context.filter(|c| !js::is_nullish(c));
    let id = component_id(&config);
    let live = match signal::read(env, context.as_ref()) {
        Ok(Signal::None) => None,
        Ok(Signal::Live(s)) => Some(s),
        Ok(Signal::Aborted) => return rejected(env, &ErrorReport::of(&id, &Error::Aborted)),
        Err(reason) => return rejected(env, &invalid(&id, reason)),
    };
    let context = match context.map(|c| read(env, c)).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(reason) => return rejected(env, &invalid(&id, reason)),
    };
    // Listening starts only now, so no early return above leaves a listener behind.
    let (cancel, listener) = match signal::listen_if(env, live)? {
        Ok(listening) => listening,
        Err(reason) => return rejected(env, &invalid(&id, reason)),
    };
    // The config is checked on the runtime, off the JS thread: a refusal settles the same way
    // (a rejected promise, the listener detached), and the JS thread only reads the values.
    // Combinators, not an `async` block: the block kept room for the parsed arguments (552
    // bytes) beside the run while it was pending; `lazy` drops the config once it is parsed.
    let run = future::lazy(move |_| match parse(&config, &context) {
        Ok(args) => Ok(client.execute(args, cancel)),
        Err(e) => Err(ErrorReport::of(&id, &e)),
    })
    .and_then(|run| run);
    handoff::spawn(env, run, move |env, outcome| settle(env, outcome, listener))
}

/// The fields of a node's `context` read whole.
const CONTEXT_FIELDS: [&str; 4] = ["workflowId", "alias", "externalUserId", "idempotencyKey"];
/// The fields of a node's `context` read by one field of theirs.
const CONTEXT_PICKS: [(&str, &str); 2] =
    [("variables", "pipedream_token"), ("currentRecord", "id")];

/// Every field of a node's `context` the engine reads, `signal` included.
fn context_names() -> impl Iterator<Item = &'static str> {
    let picks = CONTEXT_PICKS.iter().map(|(holder, _)| *holder);
    CONTEXT_FIELDS.into_iter().chain(picks).chain(["signal"])
}

/// The fields of a node's `context` the engine uses, read one by one: Director keeps earlier
/// nodes' results in `variables`, so converting the whole of it would cost each node (and each
/// batch item) time that grows with every workflow step. Only `variables.pipedream_token` and
/// `currentRecord.id` are read from those two; a context that is not an object is converted as
/// it is, for the engine to refuse.
fn read_context(env: &Env, context: Unknown) -> std::result::Result<Value, String> {
    if !matches!(context.get_type(), Ok(ValueType::Object)) || context.is_array().unwrap_or(false) {
        return super::json::to_json(env, context, "context");
    }
    let obj = Object::from_raw(env.raw(), context.raw());
    let mut out = Map::new();
    // One of these spelled otherwise (`external_user_id`) is handed over for the engine to
    // refuse: left out, the call would run as the default user, or with no signal.
    let names = Object::keys(&obj).map_err(|e| js::unreadable(env, "context", &e))?;
    for name in names {
        if context_names().any(|k| k == name) {
            continue;
        }
        let loose = loosely(&name);
        if context_names().any(|k| loosely(k) == loose) {
            out.insert(name, Value::Null);
        }
    }
    for name in CONTEXT_FIELDS {
        if let Some(v) = leaf(env, &obj, name, &format!("context.{name}"))? {
            out.insert(name.to_owned(), v);
        }
    }
    for (name, field) in CONTEXT_PICKS {
        let path = format!("context.{name}");
        let holder: Unknown = obj
            .get_named_property(name)
            .map_err(|e| js::unreadable(env, &path, &e))?;
        let value = match holder.get_type() {
            Ok(ValueType::Undefined | ValueType::Null) => continue,
            Ok(ValueType::Object) if !holder.is_array().unwrap_or(false) => {
                let holder = Object::from_raw(env.raw(), holder.raw());
                let mut picked = Map::new();
                if let Some(v) = leaf(env, &holder, field, &format!("{path}.{field}"))? {
                    picked.insert(field.to_owned(), v);
                }
                Value::Object(picked)
            }
            // Not an object: its kind is all the engine needs to say so.
            Ok(ValueType::Object) => Value::Array(vec![]),
            _ => super::json::to_json(env, holder, &path)?,
        };
        out.insert(name.to_owned(), value);
    }
    Ok(Value::Object(out))
}

/// Most items one `executeBatch` takes.
pub const MAX_BATCH_ITEMS: u32 = 100_000;

/// `executeBatch` items as `[{config, context}]`: each config whole, each context by
/// `read_context`; an item holding what JSON cannot carry is that item's failure. Anything but
/// an array is converted as it is, for the engine to refuse.
fn read_items(env: &Env, items: Unknown) -> std::result::Result<Batch, String> {
    if !items.is_array().unwrap_or(false) {
        return super::json::to_json(env, items, "items").map(Batch::Json);
    }
    let arr = Object::from_raw(env.raw(), items.raw());
    let len = arr
        .get_array_length()
        .map_err(|e| js::unreadable(env, "items", &e))?;
    if len > MAX_BATCH_ITEMS {
        return Err(format!(
            "items has {len} entries; one batch takes at most {MAX_BATCH_ITEMS}"
        ));
    }
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let path = format!("items[{i}]");
        let item: Unknown = arr
            .get_element(i)
            .map_err(|e| js::unreadable(env, &path, &e))?;
        out.push(read_item(env, item, &path));
    }
    Ok(Batch::Items(out))
}

fn read_item(env: &Env, item: Unknown, path: &str) -> BatchItem {
    if !matches!(item.get_type(), Ok(ValueType::Object)) || item.is_array().unwrap_or(false) {
        return super::json::to_json(env, item, path);
    }
    let item = Object::from_raw(env.raw(), item.raw());
    let mut entry = Map::new();
    if let Some(config) = leaf(env, &item, "config", &format!("{path}.config"))? {
        entry.insert("config".into(), config);
    }
    let context: Unknown = item
        .get_named_property("context")
        .map_err(|e| js::unreadable(env, &format!("{path}.context"), &e))?;
    if !js::is_nullish(&context) {
        let read = read_context(env, context).map_err(|reason| format!("{path}: {reason}"))?;
        entry.insert("context".into(), read);
    }
    Ok(Value::Object(entry))
}

/// A batch as it was read: its items, or JSON the engine reads (a text, or no array).
enum Batch {
    Items(Vec<BatchItem>),
    Json(Value),
}

/// One property as JSON, or `None` when it is undefined.
fn leaf(
    env: &Env,
    obj: &Object,
    name: &str,
    path: &str,
) -> std::result::Result<Option<Value>, String> {
    let v: Unknown = obj
        .get_named_property(name)
        .map_err(|e| js::unreadable(env, path, &e))?;
    if matches!(v.get_type(), Ok(ValueType::Undefined)) {
        return Ok(None);
    }
    super::json::to_json(env, v, path).map(Some)
}

pub fn execute_batch<'env>(
    env: &'env Env,
    client: Arc<Client>,
    items: Unknown<'env>,
    options: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let items = read_items(env, items);
    batch(env, client, items, options)
}

/// `execute_batch` with the items already read, as `index.js` hands them over.
pub fn execute_batch_json<'env>(
    env: &'env Env,
    client: Arc<Client>,
    items: String,
    options: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let items = serde_json::from_str(&items)
        .map(Batch::Json)
        .map_err(|e| format!("items is not JSON: {e}"));
    batch(env, client, items, options)
}

fn batch<'env>(
    env: &'env Env,
    client: Arc<Client>,
    items: std::result::Result<Batch, String>,
    options: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let options = options.filter(|o| !js::is_nullish(o));
    // The batch as a whole is refused: no component to name.
    let refused =
        |reason: String| ErrorReport::plain(&Error::InvalidArgs(format!("executeBatch: {reason}")));
    let items = match items {
        Ok(i) => i,
        Err(reason) => return rejected(env, &refused(reason)),
    };
    let (already_aborted, live) = match signal::read(env, options.as_ref()) {
        Ok(Signal::None) => (false, None),
        Ok(Signal::Live(s)) => (false, Some(s)),
        Ok(Signal::Aborted) => (true, None),
        Err(reason) => return rejected(env, &refused(reason)),
    };
    let options = match options
        .map(|o| super::json::options_without(env, o, "options", "signal"))
        .transpose()
    {
        Ok(o) => o.unwrap_or_default(),
        Err(reason) => return rejected(env, &refused(reason)),
    };
    let items = match items {
        Batch::Items(items) => Ok(items),
        Batch::Json(json) => batch_items(json),
    };
    let (items, concurrency) = match items.and_then(|i| Ok((i, batch_concurrency(&options)?))) {
        Ok(parsed) => parsed,
        Err(report) => return rejected(env, &report),
    };
    let (cancel, listener) = match signal::listen_if(env, live)? {
        Ok(listening) => listening,
        Err(reason) => return rejected(env, &refused(reason)),
    };
    let (outcomes, mut gatherer) = match Outcomes::new(env, items.len()) {
        Ok(made) => made,
        Err(e) => {
            if let Some(l) = listener {
                l.detach(env);
            }
            return Err(e);
        }
    };
    if already_aborted {
        // Every item settles as aborted, in the batch's usual shape.
        cancel.cancel();
    }
    handoff::spawn(
        env,
        async move {
            client
                .execute_batch(items, concurrency, cancel, |i, outcome| {
                    gatherer.push(i, outcome)
                })
                .await;
            (gatherer.rest(), listener)
        },
        move |env, (rest, listener)| {
            if let Some(l) = listener {
                l.detach(env);
            }
            outcomes.finish(env, rest)
        },
    )
}
