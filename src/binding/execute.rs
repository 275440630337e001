//! `executePipedreamConnect` and `executeBatch`: reading the node config and context, bridging
//! an `AbortSignal` to the core's cancellation token, and turning `ErrorReport`s into
//! `PipedreamError` / `AbortError` objects.

use std::sync::Arc;

use napi::bindgen_prelude::{
    Array, Env, FnArgs, Function, JsObjectValue, JsValue, Object, PromiseRaw, Result, Status,
    Unknown, ValueType,
};
use tokio_util::sync::CancellationToken;

use super::js;
use crate::engine::client::Client;
use crate::engine::error::Error;
use crate::engine::execute::{ErrorReport, ExecuteArgs, parse_batch};

type JsPromise<'env> = PromiseRaw<'env, Unknown<'env>>;
type AddEventListener<'env> =
    Function<'env, FnArgs<(String, Function<'env, (), ()>)>, Unknown<'env>>;

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

pub fn rejected<'env>(env: &'env Env, report: &ErrorReport) -> Result<JsPromise<'env>> {
    let error = js_error(env, report)?;
    PromiseRaw::<Unknown>::reject(env, error)
}

pub enum Watch {
    None,
    Aborted,
    Token(CancellationToken),
}

/// Reads `holder.signal`. An already-aborted signal means "do nothing"; a live one gets an
/// `abort` listener that cancels the returned token (which drops the in-flight request).
pub fn watch_signal(env: &Env, holder: Option<&Unknown>) -> std::result::Result<Watch, String> {
    let Some(holder) = holder.filter(|h| matches!(h.get_type(), Ok(ValueType::Object))) else {
        return Ok(Watch::None);
    };
    let holder = Object::from_raw(env.raw(), holder.raw());
    let read = |e: napi::Error| format!("signal could not be read: {}", e.reason);
    let signal: Unknown = holder.get_named_property("signal").map_err(read)?;
    if js::is_nullish(&signal) {
        return Ok(Watch::None);
    }
    let not_a_signal = || "signal must be an AbortSignal".to_owned();
    if !matches!(signal.get_type(), Ok(ValueType::Object)) {
        return Err(not_a_signal());
    }
    let signal = Object::from_raw(env.raw(), signal.raw());
    let aborted: Unknown = signal.get_named_property("aborted").map_err(read)?;
    if !matches!(aborted.get_type(), Ok(ValueType::Boolean)) {
        return Err(not_a_signal());
    }
    if unsafe {
        <bool as napi::bindgen_prelude::FromNapiValue>::from_napi_value(env.raw(), aborted.raw())
    }
    .map_err(read)?
    {
        return Ok(Watch::Aborted);
    }
    let token = CancellationToken::new();
    let on_abort = token.clone();
    let listener = env
        .create_function_from_closure::<(), (), _>("pipedreamAbort", move |_| {
            on_abort.cancel();
            Ok(())
        })
        .map_err(read)?;
    // Several JS arguments go in an `FnArgs`; a bare tuple would arrive as one array.
    let add: AddEventListener = signal
        .get_named_property("addEventListener")
        .map_err(|_| not_a_signal())?;
    add.apply(signal, FnArgs::from(("abort".to_owned(), listener)))
        .map_err(read)?;
    Ok(Watch::Token(token))
}

pub fn execute<'env>(
    env: &'env Env,
    client: Arc<Client>,
    config: Unknown<'env>,
    context: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let context = context.filter(|c| !js::is_nullish(c));
    let id_of = |config: &serde_json::Value| {
        config
            .get("component_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let invalid = |id: &str, reason: String| ErrorReport::of(id, &Error::InvalidArgs(reason));
    let config = match js::read_args(env, config) {
        Ok(c) => c,
        Err(reason) => return rejected(env, &invalid("", reason)),
    };
    let id = id_of(&config);
    let cancel = match watch_signal(env, context.as_ref()) {
        Ok(Watch::None) => CancellationToken::new(),
        Ok(Watch::Token(t)) => t,
        Ok(Watch::Aborted) => return rejected(env, &ErrorReport::of(&id, &Error::Aborted)),
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
    env.spawn_future_with_callback(
        async move { Ok(client.execute(args, cancel).await) },
        |env, outcome| match outcome {
            Ok(json) => js::parse(env, &json),
            Err(report) => Err(napi::Error::from(js_error(env, &report)?.to_unknown())),
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
    let cancel = match watch_signal(env, options.as_ref()) {
        Ok(Watch::None) => CancellationToken::new(),
        Ok(Watch::Token(t)) => t,
        Ok(Watch::Aborted) => {
            let aborted = CancellationToken::new();
            aborted.cancel();
            aborted
        }
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
    env.spawn_future_with_callback(
        async move { Ok(client.execute_batch(items, concurrency, cancel).await) },
        |env, outcomes| {
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
