//! `executePipedreamConnect` and `executeBatch`: reading the node config and context, and
//! turning `ErrorReport`s into `PipedreamError` / `AbortError` objects.

use std::sync::Arc;

use napi::bindgen_prelude::{
    Array, Env, JsObjectValue, JsValue, Object, PromiseRaw, Result, Status, Unknown,
};

use super::js;
use super::signal::{self, Signal};
use crate::engine::client::Client;
use crate::engine::error::Error;
use crate::engine::execute::{ErrorReport, ExecuteArgs, parse_batch};

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
    Ok(obj)
}

/// The node's `component_id`, for error messages; empty when it has none.
pub fn component_id(config: &serde_json::Value) -> String {
    config
        .get("component_id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

pub fn rejected<'env>(env: &'env Env, report: &ErrorReport) -> Result<JsPromise<'env>> {
    let error = js_error(env, report)?;
    PromiseRaw::<Unknown>::reject(env, error)
}

pub fn execute<'env>(
    env: &'env Env,
    client: Arc<Client>,
    config: Unknown<'env>,
    context: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let context = context.filter(|c| !js::is_nullish(c));
    let invalid = |id: &str, reason: String| ErrorReport::of(id, &Error::InvalidArgs(reason));
    let config = match js::read_args(env, config) {
        Ok(c) => c,
        Err(reason) => return rejected(env, &invalid("", reason)),
    };
    let id = component_id(&config);
    let live = match signal::read(env, context.as_ref()) {
        Ok(Signal::None) => None,
        Ok(Signal::Live(s)) => Some(s),
        Ok(Signal::Aborted) => return rejected(env, &ErrorReport::of(&id, &Error::Aborted)),
        Err(reason) => return rejected(env, &invalid(&id, reason)),
    };
    let context = match context.map(|c| js::read_args(env, c)).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(reason) => return rejected(env, &invalid(&id, reason)),
    };
    let args = match ExecuteArgs::parse(&config, &context) {
        Ok(a) => a,
        Err(e) => return rejected(env, &ErrorReport::of(&id, &e)),
    };
    // Listening starts only now, so no early return above leaves a listener behind.
    let (cancel, listener) = signal::listen_if(env, live)?;
    env.spawn_future_with_callback(
        async move { Ok((client.execute(args, cancel).await, listener)) },
        |env, (outcome, listener)| {
            if let Some(l) = listener {
                l.detach(env);
            }
            match outcome {
                Ok(json) => js::parse(env, &json),
                Err(report) => Err(napi::Error::from(js_error(env, &report)?.to_unknown())),
            }
        },
    )
}

pub fn execute_batch<'env>(
    env: &'env Env,
    client: Arc<Client>,
    items: Unknown<'env>,
    options: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let options = options.filter(|o| !js::is_nullish(o));
    let invalid = |reason: String| {
        ErrorReport::of("", &Error::InvalidArgs(format!("executeBatch: {reason}")))
    };
    let items = match js::read_args(env, items) {
        Ok(i) => i,
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    let (already_aborted, live) = match signal::read(env, options.as_ref()) {
        Ok(Signal::None) => (false, None),
        Ok(Signal::Live(s)) => (false, Some(s)),
        Ok(Signal::Aborted) => (true, None),
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    let options = match options.map(|o| js::read_args(env, o)).transpose() {
        Ok(o) => o.unwrap_or_default(),
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    let (items, concurrency) = match parse_batch(&items, &options) {
        Ok(parsed) => parsed,
        Err(report) => return rejected(env, &report),
    };
    let (cancel, listener) = signal::listen_if(env, live)?;
    if already_aborted {
        // Every item settles as aborted, in the batch's usual shape.
        cancel.cancel();
    }
    env.spawn_future_with_callback(
        async move {
            let outcomes = client.execute_batch(items, concurrency, cancel).await;
            Ok((outcomes, listener))
        },
        |env, (outcomes, listener)| {
            if let Some(l) = listener {
                l.detach(env);
            }
            let mut settled: Array = env.create_array(outcomes.len() as u32)?;
            for (i, outcome) in outcomes.into_iter().enumerate() {
                let mut entry = Object::new(env)?;
                match outcome {
                    Ok(json) => {
                        entry.set_named_property("status", "fulfilled")?;
                        entry.set_named_property("value", js::parse(env, &json)?)?;
                    }
                    Err(report) => {
                        entry.set_named_property("status", "rejected")?;
                        entry.set_named_property("reason", js_error(env, &report)?)?;
                    }
                }
                settled.set(i as u32, entry)?;
            }
            Ok(settled.to_unknown())
        },
    )
}
