//! What Pipedream POSTs to Director: reading a webhook's raw body from JS (a string, a Buffer
//! or a Uint8Array), and the trigger webhook functions that need no client.

use std::time::SystemTime;

use napi::JsString;
use napi::bindgen_prelude::{
    Env, FromNapiValue, JsObjectValue, JsValue, Object, Result, Unknown, ValueType,
};
use napi_derive::napi;
use serde_json::{Map, Value};

use super::execute;
use super::js;
use crate::engine::connect::trigger_webhooks::{self, Delivery};
use crate::engine::error::{Error, ErrorReport};
use crate::engine::secret::Secret;

/// A thrown `PipedreamError` for `e`.
pub fn thrown(env: &Env, e: &Error) -> napi::Error {
    match execute::js_error(env, &ErrorReport::plain(e)) {
        Ok(obj) => napi::Error::from(obj.to_unknown()),
        Err(e) => e,
    }
}

/// The bytes of a webhook body as the HTTP server received it. Anything else (or more than
/// `max` bytes) is refused with a message naming `call`.
pub fn body_bytes(
    env: &Env,
    raw: &Unknown,
    call: &str,
    max: usize,
) -> std::result::Result<Vec<u8>, Error> {
    let too_large = || Error::InvalidArgs(format!("{call}: the body is larger than {max} bytes"));
    match raw.get_type() {
        Ok(ValueType::String) => {
            // Measured before it is copied out of V8.
            let text = unsafe { JsString::from_napi_value(env.raw(), raw.raw()) }
                .map_err(|e| Error::InvalidArgs(format!("{call}: {e}")))?;
            if text.utf8_len().map_or(true, |n| n > max) {
                return Err(too_large());
            }
            unsafe { String::from_napi_value(env.raw(), raw.raw()) }
                .map(String::into_bytes)
                .map_err(|e| Error::InvalidArgs(format!("{call}: {e}")))
        }
        // A Uint8Array, a Buffer among them (another typed array does not convert, and is
        // refused below).
        Ok(ValueType::Object)
            if raw.is_typedarray().unwrap_or(false)
                && let Ok(bytes) = unsafe {
                    napi::bindgen_prelude::Uint8Array::from_napi_value(env.raw(), raw.raw())
                } =>
        {
            match bytes.len() > max {
                true => Err(too_large()),
                false => Ok(bytes.to_vec()),
            }
        }
        _ => {
            js::clear_pending_exception(env);
            Err(Error::InvalidArgs(format!(
                "{call}: the body must be the request body as received, a string, a Buffer or a Uint8Array (before any JSON parsing)"
            )))
        }
    }
}

/// Checks a delivery to a deployed trigger's webhook URL and answers its event:
/// `{ id, route_id, payload, signed_at_ms }`. `rawBody` is the body as received, `headers`
/// the request's, `signingKey` the webhook's (from `deployTrigger` or the webhook calls).
/// With `path` and `pathSecret`, the URL's token from `triggerWebhookUrl` is checked first.
/// Throws a `PipedreamError`: `PIPEDREAM_WEBHOOK_SIGNATURE` (missing, malformed or wrong
/// signature or path token; answer 401), `PIPEDREAM_WEBHOOK_STALE` (signed outside
/// `toleranceMs`, default 300000; answer 401) or `PIPEDREAM_WEBHOOK_REPLAY` (this event was
/// verified before in this process, within the hour; answer 2xx and start nothing). The
/// signature scheme is not confirmed by Pipedream's docs; see the README.
#[napi(
    catch_unwind,
    js_name = "verifyTriggerWebhook",
    ts_args_type = "args: VerifyTriggerWebhookArgs",
    ts_return_type = "TriggerDelivery"
)]
pub fn verify_trigger_webhook<'env>(env: &'env Env, args: Unknown<'env>) -> Result<Unknown<'env>> {
    const CALL: &str = "verifyTriggerWebhook";
    let shape = || {
        Error::InvalidArgs(format!(
            "{CALL} expects {{ rawBody, headers, signingKey, toleranceMs?, path?, pathSecret?, dedupe? }}"
        ))
    };
    if !matches!(args.get_type(), Ok(ValueType::Object)) || args.is_array().unwrap_or(false) {
        return Err(thrown(env, &shape()));
    }
    let obj = Object::from_raw(env.raw(), args.raw());
    // A getter that throws leaves its exception pending: ours replaces it, naming the field.
    let unreadable = |name: &str, e: napi::Error| {
        thrown(
            env,
            &Error::InvalidArgs(format!("{CALL}: {}", js::unreadable(env, name, &e))),
        )
    };
    let raw: Unknown = obj
        .get_named_property("rawBody")
        .map_err(|e| unreadable("rawBody", e))?;
    let body = body_bytes(env, &raw, CALL, 5 * 1024 * 1024).map_err(|e| thrown(env, &e))?;
    let mut rest = Map::new();
    for name in [
        "headers",
        "signingKey",
        "toleranceMs",
        "path",
        "pathSecret",
        "dedupe",
    ] {
        let v: Unknown = obj
            .get_named_property(name)
            .map_err(|e| unreadable(name, e))?;
        if js::is_nullish(&v) {
            continue;
        }
        let value = super::json::to_json(env, v, name)
            .map_err(|reason| thrown(env, &Error::InvalidArgs(format!("{CALL}: {reason}"))))?;
        rest.insert(name.into(), value);
    }
    let delivery = Delivery::parse(&Value::Object(rest), body).map_err(|e| thrown(env, &e))?;
    match trigger_webhooks::verify(&delivery, SystemTime::now()) {
        Ok(json) => js::parse(env, &json),
        Err(e) => Err(thrown(env, &e)),
    }
}

/// The URL to deploy a trigger with: `<base>/<id>/<token>`, the token derived from `secret`
/// (at least 16 characters, kept with Director's secrets). `verifyTriggerWebhook` with `path`
/// and `pathSecret` checks it, and answers `id` as `route_id`, so one endpoint serves every
/// workflow. Throws a `PipedreamError` (`PIPEDREAM_INVALID_ARGS`) for a bad base, id or secret.
#[napi(
    catch_unwind,
    js_name = "triggerWebhookUrl",
    ts_args_type = "base: string, options: { id: string; secret: string }"
)]
pub fn trigger_webhook_url(env: &Env, base: Unknown, options: Unknown) -> Result<String> {
    let read = |v: Unknown| js::read_args(env, v).unwrap_or_default();
    let (base, options) = (read(base), read(options));
    let field = |name: &str| {
        options
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let Some(base) = base.as_str() else {
        return Err(thrown(
            env,
            &Error::InvalidArgs(
                "triggerWebhookUrl(base, { id, secret }): `base` must be a string URL".into(),
            ),
        ));
    };
    trigger_webhooks::webhook_url(base, &field("id"), &Secret::new(field("secret")))
        .map_err(|e| thrown(env, &e))
}
