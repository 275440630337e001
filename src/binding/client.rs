//! `PipedreamClient` and the module-level functions: argument reading and promise plumbing
//! only; all behaviour is in `engine::client::Client`.

use std::sync::Arc;

use napi::bindgen_prelude::{Env, FromNapiValue, JsValue, PromiseRaw, Result, Unknown, ValueType};
use napi_derive::napi;

use super::js;
use super::options::ClientOptions;
use crate::engine::client::{Client, Prepared};
use crate::engine::config::Config;

/// A Pipedream Connect client. It owns a connection pool and a discovery cache; the rate
/// limiter is shared by every client of the same base URL and project in the process.
///
/// ```js
/// const { PipedreamClient } = require('@director/pipedream-connect')
/// const pd = new PipedreamClient({ projectId: 'proj_abc123' }) // credentials from the environment
/// const { services, message } = await pd.searchServices({ query: 'gmail' })
/// ```
#[napi]
pub struct PipedreamClient {
    inner: Arc<Client>,
}

#[napi]
impl PipedreamClient {
    /// Checks the options at once: a bad value throws a `TypeError` (code
    /// `ERR_INVALID_ARG_VALUE`) that names the option.
    #[napi(constructor, ts_args_type = "options?: ClientOptions")]
    pub fn new(env: Env, options: Option<Unknown>) -> Result<Self> {
        let options = match options.filter(|o| !js::is_nullish(o)) {
            None => crate::engine::config::ClientOptions::default(),
            Some(o) if !matches!(o.get_type(), Ok(ValueType::Object)) => {
                return Err(invalid(&env, "Invalid options: expected an object such as { projectId, clientId, clientSecret }".into()));
            }
            Some(o) => unsafe { ClientOptions::from_napi_value(env.raw(), o.raw()) }
                .map_err(|e| invalid(&env, format!("Invalid options: {}", e.reason)))?
                .into(),
        };
        let vars = js::process_env(&env)?;
        let config = Config::resolve(options, |k| vars.get(k).cloned())
            .map_err(|e| invalid(&env, e.to_string()))?;
        let inner = Client::new(config).map_err(|e| invalid(&env, e.to_string()))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Finds apps by name, slug or description through the Connect apps endpoint, following
    /// pages up to `limit`. Cached per query. Never rejects: failures resolve with `error`
    /// (a `PIPEDREAM_*` code) and an actionable `message`.
    #[napi(
        ts_args_type = "args: SearchServicesArgs",
        ts_return_type = "Promise<SearchServicesResult>"
    )]
    pub fn search_services<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'env>,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        search_with(env, self.inner.clone(), args)
    }

    /// Drops every cached discovery answer of this client.
    #[napi]
    pub fn clear_cache(&self) {
        self.inner.clear_cache();
    }
}

/// `searchServices` on the default client, configured from `PIPEDREAM_*` environment variables.
#[napi(
    js_name = "searchServices",
    ts_args_type = "args: SearchServicesArgs",
    ts_return_type = "Promise<SearchServicesResult>"
)]
pub fn search_services_default<'env>(
    env: &'env Env,
    args: Unknown<'env>,
) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    let vars = js::process_env(env)?;
    match Client::shared_from_env(&vars) {
        Ok(client) => search_with(env, client, args),
        Err(e) => {
            let args = js::read_args(env, args).unwrap_or_default();
            js::resolved(env, &Client::search_services_failed(&args, &e))
        }
    }
}

fn search_with<'env>(
    env: &'env Env,
    client: Arc<Client>,
    args: Unknown<'env>,
) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    let args = match js::read_args(env, args) {
        Ok(a) => a,
        Err(reason) => return js::resolved(env, &Client::search_services_unreadable(&reason)),
    };
    match client.prepare_search_services(&args) {
        Prepared::Ready(json) => js::resolved(env, &json),
        Prepared::Pending(args) => {
            js::spawn(env, async move { client.run_search_services(args).await })
        }
    }
}

fn invalid(env: &Env, message: String) -> napi::Error {
    js::type_error(env, "ERR_INVALID_ARG_VALUE", message)
}
