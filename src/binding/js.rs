//! Moving results and errors across the Node-API boundary.

use std::future::Future;

use napi::bindgen_prelude::{
    Env, Function, JsObjectValue, JsTypeError, Object, PromiseRaw, Result, Unknown, ValueType,
};

/// A promise for a core result that is already known (a cache hit, a checked-argument error):
/// no trip through the async runtime, which costs tens of microseconds per call.
pub fn resolved<'env>(env: &'env Env, json: &str) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    let value = parse(env, json)?;
    PromiseRaw::resolve(env, value)
}

/// A promise for a core result computed on the Tokio runtime.
pub fn spawn<'env>(
    env: &'env Env,
    work: impl Future<Output = String> + Send + 'static,
) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    env.spawn_future_with_callback(async move { Ok(work.await) }, |env, json| parse(env, &json))
}

/// `JSON.parse` builds the JS object far faster than setting properties one Node-API call at a
/// time.
fn parse<'env>(env: &'env Env, json: &str) -> Result<Unknown<'env>> {
    let json_global: Object = env.get_global()?.get_named_property("JSON")?;
    let parse: Function<String, Unknown> = json_global.get_named_property("parse")?;
    parse.call(json.to_owned())
}

/// The arguments object as JSON. Values JSON cannot hold (functions, symbols, BigInt) come
/// back as the reason they could not be read.
pub fn read_args(env: &Env, args: Unknown) -> std::result::Result<serde_json::Value, String> {
    match args.get_type() {
        Ok(ValueType::Undefined) => Ok(serde_json::Value::Null),
        _ => env
            .from_js_value::<serde_json::Value, _>(args)
            .map_err(|e| e.reason),
    }
}

/// A `TypeError` with a `code`, for misuse that should fail loudly at the call site.
pub fn type_error(env: &Env, code: &str, message: String) -> napi::Error {
    let error = JsTypeError::from(napi::Error::new(code, message));
    napi::Error::from(error.into_unknown(*env))
}

pub fn is_nullish(value: &Unknown) -> bool {
    matches!(value.get_type(), Ok(ValueType::Undefined | ValueType::Null))
}
