//! `listAccounts`: reading its arguments and settling its promise.

use std::sync::Arc;

use napi::bindgen_prelude::{Env, PromiseRaw, Result, Unknown};

use super::execute::{rejected, settle};
use super::js;
use super::signal::{self, Signal};
use crate::engine::client::Client;
use crate::engine::connect::accounts::ListAccountsArgs;
use crate::engine::error::Error;
use crate::engine::error::ErrorReport;

type JsPromise<'env> = PromiseRaw<'env, Unknown<'env>>;

pub fn list_accounts<'env>(
    env: &'env Env,
    client: Arc<Client>,
    args: Option<Unknown<'env>>,
    options: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    let invalid = |reason: String| {
        ErrorReport::of("", &Error::InvalidArgs(format!("listAccounts: {reason}")))
    };
    let args = match args
        .filter(|a| !js::is_nullish(a))
        .map(|a| js::read_args(env, a))
    {
        None => serde_json::Value::Null,
        Some(Ok(a)) => a,
        Some(Err(reason)) => return rejected(env, &invalid(reason)),
    };
    let args = match ListAccountsArgs::parse(&args) {
        Ok(a) => a,
        Err(e) => return rejected(env, &ErrorReport::of("", &e)),
    };
    let live = match signal::read(env, options.as_ref()) {
        Ok(Signal::None) => None,
        Ok(Signal::Live(s)) => Some(s),
        Ok(Signal::Aborted) => return rejected(env, &ErrorReport::of("", &Error::Aborted)),
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    let (cancel, listener) = match signal::listen_if(env, live)? {
        Ok(listening) => listening,
        Err(reason) => return rejected(env, &invalid(reason)),
    };
    env.spawn_future_with_callback(
        async move {
            let outcome = tokio::select! {
                r = client.list_accounts(&args) => r,
                _ = cancel.cancelled() => Err(ErrorReport::of("", &Error::Aborted)),
            };
            Ok((outcome, listener))
        },
        |env, (outcome, listener)| settle(env, outcome, listener),
    )
}
