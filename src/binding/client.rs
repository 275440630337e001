//! `PipedreamClient` and the module-level functions: argument reading and promise plumbing
//! only; all behaviour is in `engine`.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::{
    Env, FromNapiValue, JsObjectValue, JsValue, Object, PromiseRaw, Result, Unknown, ValueType,
};
use napi_derive::napi;

use super::bound;
use super::execute;
use super::handoff;
use super::js::{self, Shape};
use super::json;
use super::logger::JsLogger;
use super::manage;
use super::options::{self, ClientOptions};
use super::signal::{self, Signal};
use crate::engine::client::Client;
use crate::engine::config::{Config, ENV_VARS};
use crate::engine::connect::accounts::{AccountArgs, AppArg, ListAccountsArgs, UserArg};
use crate::engine::connect::file_stash::StashKeyArg;
use crate::engine::connect::tokens::{CreateTokenArgs, ValidateTokenArgs};
use crate::engine::connect::triggers::{ListTriggersArgs, TriggerArgs};
use crate::engine::connect::users::ListUsersArgs;
use crate::engine::director::tools::definitions as tools;
use crate::engine::director::tools::{Op, Prepared};
use crate::engine::error::Error;
use crate::engine::error::ErrorReport;
use crate::engine::events::Sink;

type JsPromise<'env> = PromiseRaw<'env, Unknown<'env>>;

/// A Pipedream Connect client. It owns a connection pool and the discovery caches; the rate
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
    /// `ERR_INVALID_ARG_VALUE`) that names the option, as does an https `baseUrl` on a system
    /// without CA certificates. A client is cheap to make (the CA certificates are read once
    /// per process, and each cache is made by its first use).
    ///
    /// `index.js` passes the `PIPEDREAM_*` variables of `process.env` as `vars` (read in JS,
    /// where they are cheap to read), for the options left out.
    #[napi(catch_unwind, constructor, ts_args_type = "options?: ClientOptions")]
    pub fn new(
        env: Env,
        options: Option<Unknown>,
        vars: Option<HashMap<String, String>>,
    ) -> Result<Self> {
        let mut events: Sink = None;
        let options = match options.filter(|o| !js::is_nullish(o)) {
            None => crate::engine::config::ClientOptions::default(),
            Some(o) if !matches!(o.get_type(), Ok(ValueType::Object)) => {
                return Err(invalid(
                    &env,
                    "Invalid options: expected an object such as { projectId, clientId, clientSecret }".into(),
                ));
            }
            Some(o) => {
                check_objects(&env, &o)?;
                check_names(&env, &o)?;
                check_logger(&env, &o)?;
                check_strings(&env, &o)?;
                let options = unsafe { ClientOptions::from_napi_value(env.raw(), o.raw()) }
                    .map_err(|e| {
                        js::clear_pending_exception(&env);
                        invalid(&env, options::conversion_problem(&e.reason))
                    })?;
                // Levels are applied by index.js; here the value is only checked.
                if let Some(level) = &options.log_level
                    && !["debug", "info", "warn", "error"].contains(&level.as_str())
                {
                    return Err(invalid(
                        &env,
                        "Invalid options: `logLevel` must be 'debug', 'info', 'warn' or 'error'"
                            .into(),
                    ));
                }
                if let Some(f) = &options.logger {
                    let logger = JsLogger::new(&env, f).map_err(|_| {
                        invalid(&env, "Invalid options: `logger` could not be used as a function (event) => void".into())
                    })?;
                    events = Some(Arc::new(logger));
                }
                options.into()
            }
        };
        let vars = vars.unwrap_or_default();
        let config = Config::resolve(options, |k| vars.get(k).cloned())
            .map_err(|e| invalid(&env, e.to_string()))?;
        let inner = Client::new(config, events).map_err(|e| invalid(&env, e.to_string()))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Finds apps by name, slug or description through the Connect apps endpoint, following
    /// pages up to `limit`. Cached per query. Never rejects: failures resolve with `error`
    /// (a `PIPEDREAM_*` code) and an actionable `message`.
    #[napi(
        catch_unwind,
        ts_args_type = "args: SearchServicesArgs, options?: CallOptions",
        ts_return_type = "Promise<SearchServicesResult>"
    )]
    pub fn search_services<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        call(env, self.inner.clone(), Op::SearchServices, args, options)
    }

    /// Lists an app's actions (or triggers) with compact parameter lists, ranked by `query`
    /// words found in names, descriptions and keys. All pages are fetched once and cached per
    /// app. Never rejects.
    #[napi(
        catch_unwind,
        ts_args_type = "args: GetComponentsArgs, options?: CallOptions",
        ts_return_type = "Promise<GetComponentsResult>"
    )]
    pub fn get_components<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        call(env, self.inner.clone(), Op::GetComponents, args, options)
    }

    /// One component's full definition with `input_schema`, a JSON Schema (draft 2020-12) of
    /// its `params`. Cached. Never rejects.
    #[napi(
        catch_unwind,
        ts_args_type = "args: GetComponentArgs, options?: CallOptions",
        ts_return_type = "Promise<GetComponentResult>"
    )]
    pub fn get_component<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        call(env, self.inner.clone(), Op::GetComponent, args, options)
    }

    /// The valid values of a prop with remote options (channels, sheets, bases), loaded with
    /// the user's connected account, one page at a time. Cached for a minute. Never rejects.
    #[napi(
        catch_unwind,
        ts_args_type = "args: ConfigurePropArgs, options?: CallOptions",
        ts_return_type = "Promise<ConfigurePropResult>"
    )]
    pub fn configure_prop<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        call(env, self.inner.clone(), Op::ConfigureProp, args, options)
    }

    /// Reloads a component's props after a `reloadProps` prop is set: the props it adds, a new
    /// `input_schema`, and the `dynamic_props_id` to run with. Never rejects.
    #[napi(
        catch_unwind,
        ts_args_type = "args: ReloadPropsArgs, options?: CallOptions",
        ts_return_type = "Promise<ReloadPropsResult>"
    )]
    pub fn reload_props<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        call(env, self.inner.clone(), Op::ReloadProps, args, options)
    }

    /// Answers an LLM tool call by name (`pipedream_search_services`, …, see `toolDefinitions`).
    /// An unknown name resolves with `error: 'PIPEDREAM_UNKNOWN_TOOL'`. Never rejects.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, args: Record<string, unknown> | string, options?: CallOptions",
        ts_return_type = "Promise<ToolResult>"
    )]
    pub fn handle_tool_call<'env>(
        &self,
        env: &'env Env,
        name: Unknown<'env>,
        args: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        tool_call(env, self.inner.clone(), name, args, options, Shape::Object)
    }

    /// `handleToolCall`, answering with the JSON text of its answer, for a tool result's
    /// content (OpenAI's `role: 'tool'` message, Anthropic's `tool_result`, MCP's `text`): the
    /// text `JSON.stringify` makes of `handleToolCall`'s answer (characters beyond ASCII as
    /// themselves), without an object built on this thread to be serialized again. Never
    /// rejects but for an abort.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, args: Record<string, unknown> | string, options?: CallOptions",
        ts_return_type = "Promise<string>"
    )]
    pub fn handle_tool_call_text<'env>(
        &self,
        env: &'env Env,
        name: Unknown<'env>,
        args: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        tool_call(env, self.inner.clone(), name, args, options, Shape::Text)
    }

    /// Runs a `pipedream_connect` node: resolves the token (node `auth_config.token`, the
    /// workflow's `pipedream_token`, the client's token, OAuth) and the connected account,
    /// checks `params` against the component before anything is sent, runs the action once,
    /// and applies `store`, `create_records` and `store_to_record`.
    ///
    /// Rejects with an `Error` named `PipedreamError` carrying `code` (`PIPEDREAM_*`), `status`
    /// when an HTTP status caused it, `retryAfterMs` for rate limits and `details`
    /// (`[{ param, problem }]`) for `PIPEDREAM_INVALID_PARAMS`; its message starts
    /// `Pipedream component '<component_id>' failed: `. An aborted `context.signal` rejects
    /// with `name: 'AbortError'`, `code: 'ABORT_ERR'`.
    #[napi(
        catch_unwind,
        ts_args_type = "config: ExecuteConfig, context?: ExecuteContext",
        ts_return_type = "Promise<ExecuteResult>"
    )]
    pub fn execute_pipedream_connect<'env>(
        &self,
        env: &'env Env,
        config: Unknown<'env>,
        context: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        execute::execute(env, self.inner.clone(), config, context, execute::NODE, "")
    }

    /// Calls any endpoint of an app's API through Connect's proxy, with the user's connected
    /// account (resolved as for actions: `account_id`, else the user's one account for `app`).
    /// `url` is absolute (https, within the app's allowed domains) or a path relative to the
    /// app's API base. Headers that would replace the account's auth are refused, as are URLs
    /// outside the allowed domains (`PIPEDREAM_PROXY_REFUSED`, nothing sent). GET and HEAD are
    /// retried like reads; other methods are sent once (`maybe_executed` when unsure, and
    /// `options.idempotencyKey` as for nodes). Resolves to the app's answer: `status`,
    /// `headers`, `body` (JSON, text or base64 as `body_encoding` says; at most `max_bytes`,
    /// default 1 MiB, then `truncated`). A non-2xx answer rejects with a `PipedreamError`
    /// carrying `status`.
    #[napi(
        catch_unwind,
        ts_args_type = "request: ProxyRequest, options?: WriteOptions",
        ts_return_type = "Promise<ProxyResponse>"
    )]
    pub fn proxy_request<'env>(
        &self,
        env: &'env Env,
        request: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        execute::execute(
            env,
            self.inner.clone(),
            request,
            options,
            execute::PROXY_REQUEST,
            "proxy",
        )
    }

    /// Runs many nodes (an `iterate` body) with at most `concurrency` (default 5) in flight,
    /// through the shared rate limiter; a new item starts as soon as any finishes. Resolves, in
    /// input order, to
    /// `{ status: 'fulfilled', value } | { status: 'rejected', reason }` like
    /// `Promise.allSettled`; one failure never stops the others. Rejects only for a malformed
    /// batch (not an array, bad options).
    #[napi(
        catch_unwind,
        ts_args_type = "items: Array<BatchItem>, options?: BatchOptions",
        ts_return_type = "Promise<Array<BatchOutcome>>"
    )]
    pub fn execute_batch<'env>(
        &self,
        env: &'env Env,
        items: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        execute::execute_batch(env, self.inner.clone(), items, options)
    }

    /// For `index.js` only: `executeBatch` with its items as the JSON text `read_items` would
    /// have made of them (each context already picked down to the fields the engine reads).
    #[napi(catch_unwind, js_name = "__executeBatchJson", skip_typescript)]
    pub fn execute_batch_json<'env>(
        &self,
        env: &'env Env,
        items: String,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        execute::execute_batch_json(env, self.inner.clone(), items, options)
    }

    /// The project's connected accounts, all pages: of one external user and/or one app when
    /// `args` says so. Credentials only with `include_credentials: true`, and never in a log
    /// or an error. Rejects with a `PipedreamError` (`code`, `status`) on failure, or as
    /// `options.signal` aborts.
    #[napi(
        catch_unwind,
        ts_args_type = "args?: ListAccountsArgs, options?: CallOptions",
        ts_return_type = "Promise<Array<ConnectedAccount>>"
    )]
    pub fn list_accounts<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |args: &serde_json::Value, _: &serde_json::Value| ListAccountsArgs::parse(args);
        manage::call(
            env,
            self.inner.clone(),
            "listAccounts",
            args,
            options,
            parse,
            |c, a| async move { c.list_accounts(&a).await },
        )
    }

    /// One connected account by id (`apn_…`); its credentials only with
    /// `include_credentials: true`. An unknown id rejects with `PIPEDREAM_NOT_FOUND`.
    #[napi(
        catch_unwind,
        ts_args_type = "accountId: string, options?: AccountOptions",
        ts_return_type = "Promise<ConnectedAccount>"
    )]
    pub fn get_account<'env>(
        &self,
        env: &'env Env,
        account_id: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        manage::call(
            env,
            self.inner.clone(),
            "getAccount",
            account_id,
            options,
            AccountArgs::parse,
            |c, a| async move { c.get_account(&a).await },
        )
    }

    /// Disconnects one account. Resolves with `null`; an account already gone is not an error.
    #[napi(
        catch_unwind,
        ts_args_type = "accountId: string, options?: CallOptions",
        ts_return_type = "Promise<null>"
    )]
    pub fn delete_account<'env>(
        &self,
        env: &'env Env,
        account_id: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        manage::call(
            env,
            self.inner.clone(),
            "deleteAccount",
            account_id,
            options,
            AccountArgs::parse,
            |c, a| async move { c.delete_account(&a).await },
        )
    }

    /// Disconnects every account of one app (its slug or `app_…` id), for every user.
    #[napi(
        catch_unwind,
        ts_args_type = "app: string, options?: CallOptions",
        ts_return_type = "Promise<null>"
    )]
    pub fn delete_accounts_for_app<'env>(
        &self,
        env: &'env Env,
        app: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |app: &serde_json::Value, _: &serde_json::Value| AppArg::parse(app);
        manage::call(
            env,
            self.inner.clone(),
            "deleteAccountsForApp",
            app,
            options,
            parse,
            |c, a| async move { c.delete_accounts_for_app(&a).await },
        )
    }

    /// Deploys a trigger for a user, like a node runs an action: the token and the user's
    /// account are resolved, `params` are checked against the trigger's props (reloading them
    /// when the trigger says so) and the documented deploy body is sent, once: a deploy that
    /// may have been sent and failed is `maybe_executed`, and `options.idempotencyKey` makes a
    /// retried call answer the first deploy. Resolves to the deployed trigger with its
    /// `webhook_signing_key` (when `webhook_url` was given and the client uses OAuth).
    #[napi(
        catch_unwind,
        ts_args_type = "request: DeployTriggerRequest, options?: WriteOptions",
        ts_return_type = "Promise<DeployedTriggerResult>"
    )]
    pub fn deploy_trigger<'env>(
        &self,
        env: &'env Env,
        request: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        execute::execute(
            env,
            self.inner.clone(),
            request,
            options,
            execute::DEPLOY,
            "",
        )
    }

    /// The user's deployed triggers (`external_user_id`, default the client's), all pages.
    #[napi(
        catch_unwind,
        ts_args_type = "args?: { external_user_id?: string }, options?: CallOptions",
        ts_return_type = "Promise<Array<DeployedTrigger>>"
    )]
    pub fn list_deployed_triggers<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| ListTriggersArgs::parse(a);
        manage::call(
            env,
            self.inner.clone(),
            "listDeployedTriggers",
            args,
            options,
            parse,
            |c, a| async move { c.list_deployed_triggers(&a).await },
        )
    }

    /// One deployed trigger of the user (`external_user_id`, default the client's).
    #[napi(
        catch_unwind,
        ts_args_type = "args: { id: string; external_user_id?: string }, options?: CallOptions",
        ts_return_type = "Promise<DeployedTrigger>"
    )]
    pub fn get_deployed_trigger<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| {
            TriggerArgs::parse("getDeployedTrigger expects { id, external_user_id? }", a)
        };
        manage::call(
            env,
            self.inner.clone(),
            "getDeployedTrigger",
            args,
            options,
            parse,
            |c, a| async move { c.get_deployed_trigger(&a).await },
        )
    }

    /// Pauses (`active: false`), resumes, renames or reconfigures a deployed trigger. New `params` replace the old ones (Pipedream replaces configured props as a whole); the trigger's account is kept.
    #[napi(
        catch_unwind,
        ts_args_type = "args: { id: string; external_user_id?: string; active?: boolean; name?: string; params?: Record<string, unknown> }, options?: CallOptions",
        ts_return_type = "Promise<DeployedTrigger>"
    )]
    pub fn update_deployed_trigger<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| {
            TriggerArgs::parse(
                "updateDeployedTrigger expects { id, external_user_id?, active?, name?, params? }",
                a,
            )
        };
        manage::call(
            env,
            self.inner.clone(),
            "updateDeployedTrigger",
            args,
            options,
            parse,
            |c, a| async move { c.update_deployed_trigger(&a).await },
        )
    }

    /// Deletes a deployed trigger; one already gone is not an error. `ignore_hook_errors` deletes it even when its deactivation hook fails.
    #[napi(
        catch_unwind,
        ts_args_type = "args: { id: string; external_user_id?: string; ignore_hook_errors?: boolean }, options?: CallOptions",
        ts_return_type = "Promise<null>"
    )]
    pub fn delete_deployed_trigger<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| {
            TriggerArgs::parse(
                "deleteDeployedTrigger expects { id, external_user_id?, ignore_hook_errors? }",
                a,
            )
        };
        manage::call(
            env,
            self.inner.clone(),
            "deleteDeployedTrigger",
            args,
            options,
            parse,
            |c, a| async move { c.delete_deployed_trigger(&a).await },
        )
    }

    /// The trigger's most recent events (`n`, default 20, at most 100), newest first.
    #[napi(
        catch_unwind,
        ts_args_type = "args: { id: string; external_user_id?: string; n?: number }, options?: CallOptions",
        ts_return_type = "Promise<Array<TriggerEvent>>"
    )]
    pub fn list_trigger_events<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| {
            TriggerArgs::parse("listTriggerEvents expects { id, external_user_id?, n? }", a)
        };
        manage::call(
            env,
            self.inner.clone(),
            "listTriggerEvents",
            args,
            options,
            parse,
            |c, a| async move { c.list_trigger_events(&a).await },
        )
    }

    /// The URLs the trigger delivers to, with each webhook's id (`signing_key` only for OAuth-authenticated clients).
    #[napi(
        catch_unwind,
        ts_args_type = "args: { id: string; external_user_id?: string }, options?: CallOptions",
        ts_return_type = "Promise<TriggerWebhooks>"
    )]
    pub fn list_trigger_webhooks<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| {
            TriggerArgs::parse("listTriggerWebhooks expects { id, external_user_id? }", a)
                .and_then(|a| a.with_webhook_urls(false))
        };
        manage::call(
            env,
            self.inner.clone(),
            "listTriggerWebhooks",
            args,
            options,
            parse,
            |c, a| async move { c.trigger_webhooks(&a).await },
        )
    }

    /// Replaces the URLs the trigger delivers to.
    #[napi(
        catch_unwind,
        ts_args_type = "args: { id: string; webhook_urls: Array<string>; external_user_id?: string }, options?: CallOptions",
        ts_return_type = "Promise<TriggerWebhooks>"
    )]
    pub fn set_trigger_webhooks<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| {
            TriggerArgs::parse(
                "setTriggerWebhooks expects { id, webhook_urls, external_user_id? }",
                a,
            )
            .and_then(|a| a.with_webhook_urls(true))
        };
        manage::call(
            env,
            self.inner.clone(),
            "setTriggerWebhooks",
            args,
            options,
            parse,
            |c, a| async move { c.trigger_webhooks(&a).await },
        )
    }

    /// A new signing key for one of the trigger's webhooks; the old key stops verifying at once.
    #[napi(
        catch_unwind,
        ts_args_type = "args: { id: string; webhook_id: string; external_user_id?: string }, options?: CallOptions",
        ts_return_type = "Promise<TriggerWebhookKey>"
    )]
    pub fn regenerate_trigger_signing_key<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |a: &serde_json::Value, _: &serde_json::Value| {
            TriggerArgs::parse(
                "regenerateTriggerSigningKey expects { id, webhook_id, external_user_id? }",
                a,
            )
        };
        manage::call(
            env,
            self.inner.clone(),
            "regenerateTriggerSigningKey",
            args,
            options,
            parse,
            |c, a| async move { c.regenerate_trigger_signing_key(&a).await },
        )
    }

    /// A file an action run with `stash` left in File Stash, by its `s3_key` (from the node's
    /// `files`): for when the presigned `url` (30 minutes) has expired. Files are kept for 24
    /// hours. Resolves to `{ s3_key, content_type, size, data }`, `data` a `Buffer`; when the
    /// API answers with a redirect to a presigned URL instead (its OpenAPI documents both),
    /// to `{ s3_key, url, url_expires_at_ms }` with `data` null: this client sends nothing past
    /// `baseUrl`, so the caller fetches `url` (no credentials needed).
    #[napi(
        catch_unwind,
        ts_args_type = "s3Key: string, options?: CallOptions",
        ts_return_type = "Promise<StashedFile>"
    )]
    pub fn download_stashed_file<'env>(
        &self,
        env: &'env Env,
        s3_key: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |key: &serde_json::Value, _: &serde_json::Value| StashKeyArg::parse(key);
        manage::call(
            env,
            self.inner.clone(),
            "downloadStashedFile",
            s3_key,
            options,
            parse,
            |c, k| async move { c.download_stashed_file(&k).await },
        )
    }

    /// The project's external users (the Director users with connected accounts), all pages,
    /// as the API describes them; `q` keeps those whose id holds that text.
    #[napi(
        catch_unwind,
        ts_args_type = "args?: ListUsersArgs, options?: CallOptions",
        ts_return_type = "Promise<Array<ExternalUser>>"
    )]
    pub fn list_users<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |args: &serde_json::Value, _: &serde_json::Value| ListUsersArgs::parse(args);
        manage::call(
            env,
            self.inner.clone(),
            "listUsers",
            args,
            options,
            parse,
            |c, a| async move { c.list_users(&a).await },
        )
    }

    /// Removes an external user and every account they connected (offboarding). Resolves with
    /// `null`; a user already gone is not an error.
    #[napi(
        catch_unwind,
        ts_args_type = "externalUserId: string, options?: CallOptions",
        ts_return_type = "Promise<null>"
    )]
    pub fn delete_user<'env>(
        &self,
        env: &'env Env,
        external_user_id: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |user: &serde_json::Value, _: &serde_json::Value| UserArg::parse(user);
        manage::call(
            env,
            self.inner.clone(),
            "deleteUser",
            external_user_id,
            options,
            parse,
            |c, a| async move { c.delete_user(&a).await },
        )
    }

    /// A Connect token for Director's frontend: `{ token, expires_at, connect_link_url }`, the
    /// link opening on `app` when one is named (`&app=` appended, as the docs ask). Limited per
    /// external user (`rateLimit.tokens`); when spent it rejects at once with
    /// `PIPEDREAM_RATE_LIMITED`.
    #[napi(
        catch_unwind,
        ts_args_type = "args: CreateConnectTokenArgs, options?: CallOptions",
        ts_return_type = "Promise<ConnectToken>"
    )]
    pub fn create_connect_token<'env>(
        &self,
        env: &'env Env,
        args: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        let parse = |args: &serde_json::Value, _: &serde_json::Value| CreateTokenArgs::parse(args);
        manage::call(
            env,
            self.inner.clone(),
            "createConnectToken",
            args,
            options,
            parse,
            |c, a| async move { c.create_connect_token(&a).await },
        )
    }

    /// Whether a Connect token is still good (for `app`, when named): `valid`, the API's
    /// `reason` when it is not, and the token's project and redirect URIs as the API sends them.
    #[napi(
        catch_unwind,
        ts_args_type = "token: string, options?: ValidateConnectTokenOptions",
        ts_return_type = "Promise<{ valid: boolean; reason?: string } & Record<string, unknown>>"
    )]
    pub fn validate_connect_token<'env>(
        &self,
        env: &'env Env,
        token: Option<Unknown<'env>>,
        options: Option<Unknown<'env>>,
    ) -> Result<JsPromise<'env>> {
        manage::call(
            env,
            self.inner.clone(),
            "validateConnectToken",
            token,
            options,
            ValidateTokenArgs::parse,
            |c, a| async move { c.validate_connect_token(&a).await },
        )
    }

    /// Reads a connection webhook (what Pipedream POSTs to a Connect token's `webhook_uri`):
    /// `rawBody` as received (a string, a Buffer or a Uint8Array), `headers` accepted for a signature should
    /// Pipedream document one (it does not today). Answers a `CONNECTION_SUCCESS` event with
    /// the account, or a `CONNECTION_ERROR` with its `error`, and forgets the account runs had
    /// resolved for that user, so the next run finds the new one. A body that is not a
    /// connection event throws a `PipedreamError` with `PIPEDREAM_INVALID_ARGS`.
    #[napi(
        catch_unwind,
        ts_args_type = "rawBody: string | Uint8Array, headers?: Record<string, string | string[] | undefined>",
        ts_return_type = "ConnectionEvent"
    )]
    pub fn parse_connection_webhook<'env>(
        &self,
        env: &'env Env,
        raw_body: Unknown<'env>,
        headers: Option<Unknown<'env>>,
    ) -> Result<Unknown<'env>> {
        let _ = headers;
        let body =
            super::webhooks::body_bytes(env, &raw_body, "parseConnectionWebhook", 1024 * 1024)
                .map_err(|e| super::webhooks::thrown(env, &e))?;
        match self.inner.parse_connection_webhook(&body) {
            Ok(json) => js::parse(env, &json),
            Err(e) => Err(super::webhooks::thrown(env, &e)),
        }
    }

    /// `verifyTriggerWebhook`, the same as the module function (it needs no client).
    #[napi(
        catch_unwind,
        ts_args_type = "args: VerifyTriggerWebhookArgs",
        ts_return_type = "TriggerDelivery"
    )]
    pub fn verify_trigger_webhook<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'env>,
    ) -> Result<Unknown<'env>> {
        super::webhooks::verify_trigger_webhook(env, args)
    }

    /// `triggerWebhookUrl`, the same as the module function (it needs no client).
    #[napi(
        catch_unwind,
        ts_args_type = "base: string, options: { id: string; secret: string }"
    )]
    pub fn trigger_webhook_url(
        &self,
        env: &Env,
        base: Unknown,
        options: Unknown,
    ) -> Result<String> {
        super::webhooks::trigger_webhook_url(env, base, options)
    }

    /// Forgets the answer kept for an idempotency key, so the next call with it runs again
    /// (for instance after checking a `maybe_executed` failure by hand).
    #[napi(catch_unwind)]
    pub fn forget(&self, idempotency_key: String) {
        // The shared answer (with a store) is deleted on the runtime, in the background.
        napi::bindgen_prelude::within_runtime_if_available(|| self.inner.forget(&idempotency_key));
    }

    /// This client's traffic so far: requests by endpoint class and status, cache hits /
    /// misses / stale serves / entries, retries, rate-limit waits, replays, errors by code,
    /// request latency percentiles. Numbers and names only.
    #[napi(catch_unwind, ts_return_type = "ClientStats")]
    pub fn get_stats<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js::parse(env, &self.inner.stats_json())
    }

    /// The figures of `getStats()` in the Prometheus text exposition format, for a `/metrics`
    /// endpoint.
    #[napi(catch_unwind)]
    pub fn metrics(&self) -> String {
        self.inner.metrics()
    }

    /// For `index.js` only: its per-call paths as functions bound to this client,
    /// `{ cachedAnswer, executeJson }` (see `bound.rs`).
    #[napi(catch_unwind, js_name = "__bound", skip_typescript)]
    pub fn bound<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        bound::functions(env, &self.inner)
    }

    /// Drops every cached discovery answer of this client. With `store.redis`, the entries shared
    /// in Redis before now are not used again by any instance.
    #[napi(catch_unwind)]
    pub fn clear_cache(&self) {
        // The shared entries' clear is marked on the runtime, in the background.
        napi::bindgen_prelude::within_runtime_if_available(|| self.inner.clear_cache());
    }
}

/// For `index.js`'s `errorCodes`: every code a failed call can carry.
#[napi(catch_unwind, js_name = "__errorCodes", skip_typescript)]
pub fn error_codes() -> Vec<&'static str> {
    crate::engine::error::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| *c != "ABORT_ERR")
        .chain(["PIPEDREAM_UNKNOWN_TOOL"])
        .collect()
}

/// For `index.js`'s batch reading: the bounds the native walk holds each value to, so that
/// JS hands over as JSON text only what the walk would also have taken.
#[napi(catch_unwind, js_name = "__walkLimits", skip_typescript)]
pub fn walk_limits() -> HashMap<&'static str, u32> {
    HashMap::from([
        ("depth", json::MAX_DEPTH as u32),
        ("values", json::MAX_VALUES as u32),
        ("bytes", json::MAX_BYTES as u32),
        ("batchItems", execute::MAX_BATCH_ITEMS),
    ])
}

/// The variables `index.js` reads from `process.env` for `new PipedreamClient`'s `vars`.
#[napi(catch_unwind, js_name = "__envVars", skip_typescript)]
pub fn env_vars() -> Vec<&'static str> {
    ENV_VARS.to_vec()
}

/// For `index.js`'s module functions when the environment does not configure a client: the
/// promise `call` (a method or tool name) would give, failing with the configuration error, in
/// that call's own shape: an answer for discovery calls and tools, a rejected `PipedreamError`
/// for the others.
#[napi(catch_unwind, js_name = "__configFailure", skip_typescript)]
pub fn config_failure<'env>(
    env: &'env Env,
    call: String,
    args: Unknown<'env>,
    vars: HashMap<String, String>,
) -> Result<JsPromise<'env>> {
    let error = match Config::resolve(Default::default(), |k| vars.get(k).cloned()) {
        Err(e) => Error::InvalidConfig(e),
        Ok(_) => Error::Internal("the configuration resolved after all".into()),
    };
    let args = js::read_args(env, args).unwrap_or_default();
    match call.as_str() {
        "executePipedreamConnect" => {
            let id = execute::component_id(&args);
            execute::rejected(env, &ErrorReport::of(&id, &error))
        }
        "executeBatch"
        | "proxyRequest"
        | "deployTrigger"
        | "listDeployedTriggers"
        | "getDeployedTrigger"
        | "updateDeployedTrigger"
        | "deleteDeployedTrigger"
        | "listTriggerEvents"
        | "listTriggerWebhooks"
        | "setTriggerWebhooks"
        | "regenerateTriggerSigningKey"
        | "downloadStashedFile"
        | "listAccounts"
        | "getAccount"
        | "deleteAccount"
        | "deleteAccountsForApp"
        | "listUsers"
        | "deleteUser"
        | "createConnectToken"
        | "validateConnectToken" => execute::rejected(env, &ErrorReport::plain(&error)),
        // A discovery method, else a tool name (as `handleToolCall` got it).
        name => match Op::named(name).or_else(|| tools::op_for_tool(name)) {
            Some(op) => js::resolved(env, &op.failed(&args, &error)),
            None => js::resolved(env, &tools::unknown_tool(name)),
        },
    }
}

fn tool_op(env: &Env, name: Unknown) -> Option<Op> {
    let name = js::read_args(env, name).ok()?;
    tools::op_for_tool(name.as_str()?)
}

fn tool_call<'env>(
    env: &'env Env,
    client: Arc<Client>,
    name: Unknown<'env>,
    args: Unknown<'env>,
    options: Option<Unknown<'env>>,
    shape: Shape,
) -> Result<JsPromise<'env>> {
    match tool_op(env, name) {
        Some(op) => call_as(env, client, op, args, options, shape),
        None => {
            let name = js::read_args(env, name).unwrap_or_default();
            let name = name
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| name.to_string());
            js::resolved_as(env, &tools::unknown_tool(&name), shape)
        }
    }
}

/// A discovery call: answered at once when it can be, else on the runtime. An aborted
/// `options.signal` rejects with an `AbortError`, the only way a discovery call rejects.
fn call<'env>(
    env: &'env Env,
    client: Arc<Client>,
    op: Op,
    args: Unknown<'env>,
    options: Option<Unknown<'env>>,
) -> Result<JsPromise<'env>> {
    call_as(env, client, op, args, options, Shape::Object)
}

/// `call`, answering in `shape`.
fn call_as<'env>(
    env: &'env Env,
    client: Arc<Client>,
    op: Op,
    args: Unknown<'env>,
    options: Option<Unknown<'env>>,
    shape: Shape,
) -> Result<JsPromise<'env>> {
    let live = match signal::read(env, options.as_ref()) {
        Ok(Signal::Aborted) => {
            return execute::rejected(env, &ErrorReport::of("", &Error::Aborted));
        }
        Ok(Signal::Live(s)) => Some(s),
        Ok(Signal::None) => None,
        Err(reason) => return js::resolved_as(env, &op.unreadable(&reason), shape),
    };
    let args = match js::read_args(env, args) {
        Ok(a) => a,
        Err(reason) => return js::resolved_as(env, &op.unreadable(&reason), shape),
    };
    let request = match client.prepare(op, &args) {
        Prepared::Ready(json) => return js::resolved_as(env, &json, shape),
        Prepared::Pending(request) => request,
    };
    let (cancel, listener) = match live.map(|s| signal::listen(env, s)).transpose()? {
        None => (None, None),
        Some(Ok((cancel, listener))) => (Some(cancel), Some(listener)),
        Some(Err(reason)) => return js::resolved_as(env, &op.unreadable(&reason), shape),
    };
    handoff::spawn(
        env,
        async move {
            let answer = client.run(request, cancel.as_ref()).await;
            let answer = answer.map(|json| shape.into_text(json));
            (answer, listener)
        },
        move |env, (answer, listener)| {
            let answer = answer.map_err(|e| ErrorReport::of("", &e));
            execute::settle_as(env, answer, listener, shape)
        },
    )
}

/// The value at `path` (`store.redis.url`) in the options, `None` when an object on the way is
/// missing or not an object (napi's conversion names that one). A getter that throws is named.
fn option_at<'env>(
    env: &'env Env,
    options: &Unknown<'env>,
    path: &str,
) -> Result<Option<Unknown<'env>>> {
    let mut value = *options;
    let mut at = String::new();
    for name in path.split('.').filter(|n| !n.is_empty()) {
        if !matches!(value.get_type(), Ok(ValueType::Object)) {
            return Ok(None);
        }
        if !at.is_empty() {
            at.push('.');
        }
        at.push_str(name);
        let object = napi::bindgen_prelude::Object::from_raw(env.raw(), value.raw());
        value = object.get_named_property(name).map_err(|e| {
            invalid(
                env,
                format!(
                    "Invalid options: {}",
                    js::unreadable(env, &format!("`{at}`"), &e)
                ),
            )
        })?;
    }
    Ok(Some(value))
}

/// Options under a name this client does not know are a typo: refused with the valid names.
fn check_names(env: &Env, options: &Unknown) -> Result<()> {
    for (holder, known) in options::KNOWN_OPTIONS {
        let Some(value) = option_at(env, options, holder)? else {
            continue;
        };
        if !matches!(value.get_type(), Ok(ValueType::Object)) {
            continue;
        }
        let object = napi::bindgen_prelude::Object::from_raw(env.raw(), value.raw());
        let names = object
            .get_all_property_names(
                napi::bindgen_prelude::KeyCollectionMode::OwnOnly,
                napi::bindgen_prelude::KeyFilter::Enumerable,
                napi::bindgen_prelude::KeyConversion::NumbersToStrings,
            )
            .map_err(|e| {
                invalid(
                    env,
                    format!("Invalid options: {}", js::unreadable(env, "options", &e)),
                )
            })?;
        let count = names.get_array_length().unwrap_or(0).min(1_000);
        for i in 0..count {
            let name: Unknown = names.get_element(i)?;
            if !matches!(name.get_type(), Ok(ValueType::String)) {
                continue;
            }
            let name = unsafe { String::from_napi_value(env.raw(), name.raw()) }?;
            if !known.contains(&name.as_str()) {
                let at = if holder.is_empty() {
                    String::new()
                } else {
                    format!("{holder}.")
                };
                return Err(invalid(
                    env,
                    format!(
                        "Invalid options: unknown option `{at}{}`; the options are: {}",
                        crate::engine::error::cut(&name, 40),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The options that hold others must be objects: napi would read `store: 'redis://…'` as an
/// empty object and say nothing.
fn check_objects(env: &Env, options: &Unknown) -> Result<()> {
    for (name, shape) in options::OBJECT_OPTIONS {
        let Some(value) = option_at(env, options, name)? else {
            continue;
        };
        let object =
            matches!(value.get_type(), Ok(ValueType::Object)) && !value.is_array().unwrap_or(false);
        if !js::is_nullish(&value) && !object {
            return Err(invalid(
                env,
                format!("Invalid options: `{name}` must be an object such as {shape}"),
            ));
        }
    }
    Ok(())
}

/// The string options, checked before napi converts them: its conversion error quotes the
/// value, stringified whole (a credential, or a 100-million-item array).
fn check_strings(env: &Env, options: &Unknown) -> Result<()> {
    for name in options::STRING_OPTIONS {
        let Some(value) = option_at(env, options, name)? else {
            continue;
        };
        if !js::is_nullish(&value) && !matches!(value.get_type(), Ok(ValueType::String)) {
            return Err(invalid(
                env,
                format!("Invalid options: `{name}` must be a string"),
            ));
        }
    }
    Ok(())
}

/// napi does not check that `logger` is callable before making a threadsafe function of it.
fn check_logger(env: &Env, options: &Unknown) -> Result<()> {
    let options = napi::bindgen_prelude::Object::from_raw(env.raw(), options.raw());
    let logger: Unknown = options.get_named_property("logger").map_err(|e| {
        invalid(
            env,
            format!("Invalid options: {}", js::unreadable(env, "`logger`", &e)),
        )
    })?;
    if js::is_nullish(&logger) || matches!(logger.get_type(), Ok(ValueType::Function)) {
        return Ok(());
    }
    Err(invalid(
        env,
        "Invalid options: `logger` must be a function (event) => void, or a logger object with debug, info, warn and error methods (console, pino, winston)".into(),
    ))
}

fn invalid(env: &Env, message: String) -> napi::Error {
    js::type_error(env, "ERR_INVALID_ARG_VALUE", message)
}
