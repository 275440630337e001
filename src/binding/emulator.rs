//! `startEmulator`'s native half: the Connect API emulator (the `pipedream-emulator` crate)
//! serving on this process's runtime. `index.js` adds the control calls.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use napi::bindgen_prelude::{Env, PromiseRaw, Result, Unknown};
use napi_derive::napi;
use serde_json::Value;

use super::handoff;
use super::js;

/// Running emulators by id, until `__closeEmulator`.
static RUNNING: Mutex<BTreeMap<u64, pipedream_emulator::Running>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Starts an emulator on a free loopback port and resolves with `{ id, url, projectId,
/// clientId, clientSecret }`, or `{ error }` saying why it could not start. `options` (JSON-like): `projectId`, `clientId`, `clientSecret`,
/// `accounts: [{ external_user_id, app, name? }]`, `catalog` (a directory with apps.json and
/// components.json), `port`, `seed`. A bad option throws a `TypeError` naming it.
#[napi(catch_unwind, js_name = "__startEmulator", skip_typescript)]
pub fn start_emulator<'env>(
    env: &'env Env,
    options: Option<Unknown<'env>>,
) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    let options = options
        .filter(|o| !js::is_nullish(o))
        .map(|o| js::read_args(env, o))
        .transpose()
        .and_then(|o| emulator_options(o.unwrap_or(Value::Null)))
        .map_err(|reason| {
            js::type_error(
                env,
                "ERR_INVALID_ARG_VALUE",
                format!("startEmulator(options): {reason}"),
            )
        })?;
    handoff::spawn(
        env,
        async move {
            // A failure to start (a port in use, a bad catalog) is data for index.js to throw.
            let running = match pipedream_emulator::start(&options).await {
                Ok(running) => running,
                Err(reason) => return serde_json::json!({ "error": reason }).to_string(),
            };
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let answer = serde_json::json!({
                "id": id,
                "url": running.url,
                "projectId": options.project_id,
                "clientId": options.client_id,
                "clientSecret": options.client_secret,
            });
            if let Ok(mut all) = RUNNING.lock() {
                all.insert(id, running);
            }
            answer.to_string()
        },
        |env, json| js::parse(env, &json),
    )
}

/// Stops the emulator `id` started; open connections are dropped. An unknown id (closed
/// already) does nothing.
#[napi(catch_unwind, js_name = "__closeEmulator", skip_typescript)]
pub async fn close_emulator(id: f64) -> Result<()> {
    let running = RUNNING
        .lock()
        .ok()
        .and_then(|mut all| all.remove(&(id as u64)));
    if let Some(running) = running {
        running.close().await;
    }
    Ok(())
}

fn emulator_options(v: Value) -> std::result::Result<pipedream_emulator::Options, String> {
    let mut o = pipedream_emulator::Options::default();
    let Value::Object(map) = v else {
        return if v.is_null() {
            Ok(o)
        } else {
            Err("options must be an object".into())
        };
    };
    for (key, value) in map {
        let text = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{key}` must be a string"))
        };
        match key.as_str() {
            "projectId" => o.project_id = text()?,
            "clientId" => o.client_id = text()?,
            "clientSecret" => o.client_secret = text()?,
            "catalog" => o.catalog = Some(text()?.into()),
            "port" => {
                o.port = value
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or("`port` must be a whole number from 0 to 65535")?
            }
            "seed" => o.seed = value.as_u64().ok_or("`seed` must be a whole number")?,
            "accounts" => {
                let list = value
                    .as_array()
                    .ok_or("`accounts` must be an array of { external_user_id, app, name? }")?;
                for (i, a) in list.iter().enumerate() {
                    let field = |name: &str| a.get(name).and_then(Value::as_str).map(str::to_owned);
                    let (Some(user), Some(app)) = (field("external_user_id"), field("app")) else {
                        return Err(format!(
                            "`accounts[{i}]` must be {{ external_user_id: string, app: string, name?: string }}"
                        ));
                    };
                    o.accounts.push((user, app, field("name")));
                }
            }
            other => {
                return Err(format!(
                    "unknown option `{other}`; the options are projectId, clientId, clientSecret, accounts, catalog, port, seed (faults are index.js's)"
                ));
            }
        }
    }
    Ok(o)
}
