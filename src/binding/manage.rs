//! The API management calls (accounts, users, Connect tokens): reading their arguments and
//! settling their promise. They reject with a `PipedreamError` on failure, like executions.

use std::future::Future;
use std::sync::Arc;

use napi::bindgen_prelude::{Env, PromiseRaw, Result, Unknown};
use serde_json::Value;

use super::execute::{rejected, settle};
use super::handoff;
use super::js;
use super::signal::{self, Signal};
use crate::engine::client::Client;
use crate::engine::error::{Error, ErrorReport, Result as EngineResult};

type JsPromise<'env> = PromiseRaw<'env, Unknown<'env>>;

/// One call: `first` (the argument object, an id, or nothing) and `options` (which may carry a
/// `signal`) read as JSON and checked by `parse`, then `run` on the runtime.
pub fn call<'env, A, F, Fut>(
    env: &'env Env,
    client: Arc<Client>,
    name: &str,
    first: Option<Unknown<'env>>,
    options: Option<Unknown<'env>>,
    parse: impl FnOnce(&Value, &Value) -> EngineResult<A>,
    run: F,
) -> Result<JsPromise<'env>>
where
    A: Send + 'static,
    F: FnOnce(Arc<Client>, A) -> Fut + Send + 'static,
    Fut: Future<Output = std::result::Result<String, ErrorReport>> + Send + 'static,
{
    let invalid =
        |reason: String| ErrorReport::plain(&Error::InvalidArgs(format!("{name}: {reason}")));
    let read = |value: Option<Unknown<'env>>, path: &str| match value.filter(|v| !js::is_nullish(v))
    {
        None => Ok(Value::Null),
        Some(v) => super::json::to_json(env, v, path),
    };
    let first = match read(first, "args") {
        Ok(v) => v,
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    let live = match signal::read(env, options.as_ref()) {
        Ok(Signal::None) => None,
        Ok(Signal::Live(s)) => Some(s),
        Ok(Signal::Aborted) => return rejected(env, &ErrorReport::plain(&Error::Aborted)),
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    let options = match read(options, "options") {
        Ok(v) => v,
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    let args = match parse(&first, &options) {
        Ok(a) => a,
        Err(e) => return rejected(env, &ErrorReport::plain(&e)),
    };
    let (cancel, listener) = match signal::listen_if(env, live)? {
        Ok(listening) => listening,
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    handoff::spawn(
        env,
        async move {
            let outcome = tokio::select! {
                r = run(client, args) => r,
                _ = cancel.cancelled() => Err(ErrorReport::plain(&Error::Aborted)),
            };
            (outcome, listener)
        },
        |env, (outcome, listener)| settle(env, outcome, listener),
    )
}
