//! The shapes of arguments and results as `index.d.ts` declares them. Results are built in the
//! core and arrive as JSON (see `js.rs`), so these structs exist for the type definitions and
//! their documentation; `__test__/types.test.js` checks the runtime keys against them.
#![allow(dead_code)]

use napi::bindgen_prelude::{Either, Either6};
use napi_derive::napi;
use serde_json::Value;

/// Arguments of `searchServices`.
#[napi(object, object_from_js = false)]
pub struct SearchServicesArgs {
    /// Words to look for in app names, slugs and descriptions, e.g. `"gmail"` or `"crm"`.
    pub query: String,
    /// Most services to return, 1 to 100. Default 20.
    pub limit: Option<u32>,
}

/// One app (service) that Pipedream Connect can automate.
#[napi(object, object_from_js = false)]
pub struct Service {
    /// The app's slug: pass it to `getComponents` and use it in component ids.
    #[napi(js_name = "app_slug")]
    pub app_slug: String,
    pub name: String,
    pub description: String,
    #[napi(js_name = "logo_url")]
    pub logo_url: Option<String>,
    pub categories: Vec<String>,
    /// `oauth`, `keys` or `none`.
    #[napi(js_name = "auth_type")]
    pub auth_type: Option<String>,
}

/// The answer to `searchServices`: the services found, or (never a rejection) a failure with a
/// stable `error` code and a `message` that says what to do. Branch on `error`.
#[napi]
pub type SearchServicesResult = Either<SearchServicesFound, SearchServicesFailed>;

/// `searchServices` found its answer.
#[napi(object, object_from_js = false)]
pub struct SearchServicesFound {
    pub query: String,
    pub services: Vec<Service>,
    /// How many apps match in all (may exceed `services.length`).
    #[napi(js_name = "total_found")]
    pub total_found: u32,
    /// A sentence for the LLM: what was found and the next step.
    pub message: String,
    /// Whether the answer came from the cache.
    pub cached: bool,
    /// `true` when an expired answer is served because Pipedream could not be reached.
    pub stale: Option<bool>,
    #[napi(ts_type = "undefined")]
    pub error: Option<()>,
}

/// `searchServices` failed.
#[napi(object, object_from_js = false)]
pub struct SearchServicesFailed {
    pub query: String,
    /// Empty.
    #[napi(ts_type = "[]")]
    pub services: Vec<Service>,
    #[napi(js_name = "total_found", ts_type = "0")]
    pub total_found: u32,
    /// What went wrong and what to do.
    pub message: String,
    #[napi(ts_type = "PipedreamErrorCode")]
    pub error: String,
    /// `PIPEDREAM_RATE_LIMITED`: how long to wait before trying again.
    #[napi(js_name = "retry_after_ms")]
    pub retry_after_ms: Option<f64>,
}

/// Arguments of `getComponents`.
#[napi(object, object_from_js = false)]
pub struct GetComponentsArgs {
    /// The app, from `searchServices`, e.g. `"gmail"`.
    #[napi(js_name = "app_slug")]
    pub app_slug: String,
    /// `action` (default) or `trigger`.
    #[napi(js_name = "type", ts_type = "'action' | 'trigger'")]
    pub kind: Option<String>,
    /// Words describing the operation, matched in names, descriptions and keys.
    pub query: Option<String>,
    /// Most components to return, 1 to 100. Default 50.
    pub limit: Option<u32>,
}

/// A choice of a prop: show `label`, send `value`.
#[napi(object, object_from_js = false)]
pub struct OptionItem {
    pub label: String,
    pub value: Value,
}

/// A parameter in compact form.
#[napi(object, object_from_js = false)]
pub struct Parameter {
    pub name: String,
    /// The Pipedream prop type: `string`, `string[]`, `integer`, `boolean`, `object`, `any`, …
    #[napi(js_name = "type")]
    pub kind: String,
    pub label: Option<String>,
    /// Trimmed to a short sentence.
    pub description: Option<String>,
    /// Must be sent: not optional and no default.
    pub required: bool,
    pub default: Option<Value>,
    /// Static choices (at most 8 listed).
    pub options: Option<Vec<OptionItem>>,
    /// How many static choices exist, when more than are listed.
    #[napi(js_name = "options_total")]
    pub options_total: Option<u32>,
    /// Choices come from `configureProp`.
    #[napi(js_name = "remote_options")]
    pub remote_options: Option<bool>,
}

/// One action or trigger in `getComponents`.
#[napi(object, object_from_js = false)]
pub struct ComponentSummary {
    /// The key to put in a `pipedream_connect` node's `component_id`.
    #[napi(js_name = "component_id")]
    pub component_id: String,
    pub name: String,
    /// Trimmed, without the documentation link.
    pub description: String,
    pub version: String,
    /// What `params` takes, the app prop left out.
    pub parameters: Vec<Parameter>,
    /// Whether a connected account of `app` is needed.
    #[napi(js_name = "auth_required")]
    pub auth_required: bool,
    pub app: String,
}

/// The answer to `getComponents`. Never rejects; an unknown app is `PIPEDREAM_NOT_FOUND`.
#[napi]
pub type GetComponentsResult = Either<GetComponentsFound, GetComponentsFailed>;

/// `getComponents` found the app's components.
#[napi(object, object_from_js = false)]
pub struct GetComponentsFound {
    #[napi(js_name = "app_slug")]
    pub app_slug: String,
    /// The app's display name.
    #[napi(js_name = "service_name")]
    pub service_name: String,
    pub components: Vec<ComponentSummary>,
    /// How many components match, before `limit`.
    #[napi(js_name = "total_found")]
    pub total_found: u32,
    pub message: String,
    pub cached: bool,
    pub stale: Option<bool>,
    #[napi(ts_type = "undefined")]
    pub error: Option<()>,
}

/// `getComponents` failed.
#[napi(object, object_from_js = false)]
pub struct GetComponentsFailed {
    #[napi(js_name = "app_slug")]
    pub app_slug: String,
    #[napi(js_name = "service_name", ts_type = "null")]
    pub service_name: Value,
    #[napi(ts_type = "[]")]
    pub components: Vec<ComponentSummary>,
    #[napi(js_name = "total_found", ts_type = "0")]
    pub total_found: u32,
    pub message: String,
    #[napi(ts_type = "PipedreamErrorCode")]
    pub error: String,
    /// `PIPEDREAM_RATE_LIMITED`: how long to wait before trying again.
    #[napi(js_name = "retry_after_ms")]
    pub retry_after_ms: Option<f64>,
}

/// Arguments of `getComponent`.
#[napi(object, object_from_js = false)]
pub struct GetComponentArgs {
    /// E.g. `"gmail-send-email"`.
    #[napi(js_name = "component_id")]
    pub component_id: String,
    /// A specific version; default the latest.
    pub version: Option<String>,
}

/// The answer to `getComponent`.
#[napi]
pub type GetComponentResult = Either<ComponentDefinition, GetComponentFailed>;

/// One component's full definition.
#[napi(object, object_from_js = false)]
pub struct ComponentDefinition {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    /// `action` or `trigger`.
    #[napi(js_name = "component_type", ts_type = "'action' | 'trigger' | null")]
    pub component_type: Value,
    /// The app whose account it runs with, if any.
    #[napi(ts_type = "string | null")]
    pub app: Value,
    #[napi(js_name = "auth_required")]
    pub auth_required: bool,
    /// `readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`, `title`, when the
    /// API gives them.
    #[napi(ts_type = "Record<string, unknown> | null")]
    pub annotations: Value,
    pub parameters: Vec<Parameter>,
    /// JSON Schema (draft 2020-12) of `params`. `x-remote-options: true` marks props whose
    /// values come from `configureProp`; `x-reload-props: true` props add more props once set.
    #[napi(js_name = "input_schema", ts_type = "Record<string, unknown>")]
    pub input_schema: Value,
    /// The definition's props exactly as the API sent them (camelCase keys).
    #[napi(
        js_name = "configurable_props",
        ts_type = "Array<Record<string, unknown>> | null"
    )]
    pub configurable_props: Value,
    pub message: String,
    pub cached: bool,
    pub stale: Option<bool>,
    #[napi(ts_type = "undefined")]
    pub error: Option<()>,
}

/// `getComponent` failed.
#[napi(object, object_from_js = false)]
pub struct GetComponentFailed {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    pub message: String,
    #[napi(ts_type = "PipedreamErrorCode")]
    pub error: String,
    /// `PIPEDREAM_RATE_LIMITED`: how long to wait before trying again.
    #[napi(js_name = "retry_after_ms")]
    pub retry_after_ms: Option<f64>,
}

/// Arguments of `configureProp`.
#[napi(object, object_from_js = false)]
pub struct ConfigurePropArgs {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    /// The prop whose values to list (one marked `x-remote-options`).
    #[napi(js_name = "prop_name")]
    pub prop_name: String,
    /// Params already chosen, which some lists depend on (an object, or JSON text of one).
    #[napi(ts_type = "Record<string, unknown> | string")]
    pub params: Option<Value>,
    /// The user whose account lists the values; default the client's `externalUserId`.
    #[napi(js_name = "external_user_id")]
    pub external_user_id: Option<String>,
    /// A specific connected account (`apn_…`); default the user's only account for the app.
    #[napi(js_name = "account_id")]
    pub account_id: Option<String>,
    /// Text to filter the values by.
    pub query: Option<String>,
    /// 0-based page, from `next_page`.
    pub page: Option<u32>,
    /// From a `reloadProps` answer. Optional: a prop that exists only after a reload is found
    /// by reloading with `params` first.
    #[napi(js_name = "dynamic_props_id")]
    pub dynamic_props_id: Option<String>,
}

/// The answer to `configureProp`.
#[napi]
pub type ConfigurePropResult = Either<ConfigurePropFound, ConfigurePropFailed>;

/// A page of a prop's values.
#[napi(object, object_from_js = false)]
pub struct ConfigurePropFound {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    #[napi(js_name = "prop_name")]
    pub prop_name: String,
    pub options: Vec<OptionItem>,
    /// Pass as `page` for more; null on the last page.
    #[napi(js_name = "next_page", ts_type = "number | null")]
    pub next_page: Value,
    /// Problems Pipedream reported while listing.
    pub errors: Vec<String>,
    pub message: String,
    pub cached: bool,
    /// The reload whose props were configured, when the prop came from one.
    #[napi(js_name = "dynamic_props_id")]
    pub dynamic_props_id: Option<String>,
    #[napi(ts_type = "undefined")]
    pub error: Option<()>,
}

/// `configureProp` failed.
#[napi(object, object_from_js = false)]
pub struct ConfigurePropFailed {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    #[napi(js_name = "prop_name")]
    pub prop_name: String,
    #[napi(ts_type = "[]")]
    pub options: Vec<OptionItem>,
    #[napi(js_name = "next_page", ts_type = "null")]
    pub next_page: Value,
    #[napi(ts_type = "[]")]
    pub errors: Vec<String>,
    pub message: String,
    #[napi(ts_type = "PipedreamErrorCode")]
    pub error: String,
    /// `PIPEDREAM_ACCOUNT_MISSING` / `_AMBIGUOUS`: the app whose account is missing or unclear.
    pub app: Option<String>,
    /// `PIPEDREAM_ACCOUNT_MISSING`: the Connect Link the user can open.
    #[napi(js_name = "connect_link_url", ts_type = "string | null")]
    pub connect_link_url: Option<Value>,
    /// `PIPEDREAM_ACCOUNT_AMBIGUOUS`: the accounts to choose from.
    #[napi(ts_type = "Array<{ id: string; name: string | null; healthy: boolean }>")]
    pub accounts: Option<Value>,
    /// `PIPEDREAM_RATE_LIMITED`: how long to wait before trying again.
    #[napi(js_name = "retry_after_ms")]
    pub retry_after_ms: Option<f64>,
}

/// Arguments of `reloadProps`.
#[napi(object, object_from_js = false)]
pub struct ReloadPropsArgs {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    /// Params chosen so far, including the prop that triggers the reload.
    #[napi(ts_type = "Record<string, unknown> | string")]
    pub params: Option<Value>,
    #[napi(js_name = "external_user_id")]
    pub external_user_id: Option<String>,
    #[napi(js_name = "account_id")]
    pub account_id: Option<String>,
    /// The id an earlier reload of this component returned: a reload after the first names it.
    #[napi(js_name = "dynamic_props_id")]
    pub dynamic_props_id: Option<String>,
}

/// The answer to `reloadProps`.
#[napi]
pub type ReloadPropsResult = Either<ReloadPropsDone, ReloadPropsFailed>;

/// The props after a reload. A reload that failed in the component lists its `errors` here and
/// has no `dynamic_props_id`.
#[napi(object, object_from_js = false)]
pub struct ReloadPropsDone {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    /// Run with this to use the reloaded props.
    #[napi(js_name = "dynamic_props_id", ts_type = "string | null")]
    pub dynamic_props_id: Value,
    pub parameters: Vec<Parameter>,
    #[napi(js_name = "input_schema", ts_type = "Record<string, unknown>")]
    pub input_schema: Value,
    #[napi(
        js_name = "configurable_props",
        ts_type = "Array<Record<string, unknown>>"
    )]
    pub configurable_props: Value,
    pub errors: Vec<String>,
    pub message: String,
    #[napi(ts_type = "undefined")]
    pub error: Option<()>,
}

/// `reloadProps` failed.
#[napi(object, object_from_js = false)]
pub struct ReloadPropsFailed {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    #[napi(js_name = "dynamic_props_id", ts_type = "null")]
    pub dynamic_props_id: Value,
    #[napi(ts_type = "[]")]
    pub errors: Vec<String>,
    pub message: String,
    #[napi(ts_type = "PipedreamErrorCode")]
    pub error: String,
    /// `PIPEDREAM_ACCOUNT_MISSING` / `_AMBIGUOUS`: the app whose account is missing or unclear.
    pub app: Option<String>,
    /// `PIPEDREAM_ACCOUNT_MISSING`: the Connect Link the user can open.
    #[napi(js_name = "connect_link_url", ts_type = "string | null")]
    pub connect_link_url: Option<Value>,
    /// `PIPEDREAM_ACCOUNT_AMBIGUOUS`: the accounts to choose from.
    #[napi(ts_type = "Array<{ id: string; name: string | null; healthy: boolean }>")]
    pub accounts: Option<Value>,
    /// `PIPEDREAM_RATE_LIMITED`: how long to wait before trying again.
    #[napi(js_name = "retry_after_ms")]
    pub retry_after_ms: Option<f64>,
}

/// The answer to a tool name `handleToolCall` does not know.
#[napi(object, object_from_js = false)]
pub struct UnknownToolResult {
    #[napi(ts_type = "'PIPEDREAM_UNKNOWN_TOOL'")]
    pub error: String,
    /// Names the known tools.
    pub message: String,
}

/// `pipedream_proxy_request` failed: refused, the app answered an error status, or the request
/// could not be sent.
#[napi(object, object_from_js = false)]
pub struct ProxyToolFailed {
    #[napi(js_name = "app_slug")]
    pub app_slug: String,
    pub method: String,
    pub url: String,
    /// The app's HTTP status, when it answered one.
    #[napi(ts_type = "number | null")]
    pub status: Option<u32>,
    #[napi(ts_type = "null")]
    pub body: Value,
    pub message: String,
    #[napi(ts_type = "PipedreamErrorCode")]
    pub error: String,
    pub app: Option<String>,
    #[napi(js_name = "connect_link_url", ts_type = "string | null")]
    pub connect_link_url: Option<Value>,
    #[napi(ts_type = "Array<{ id: string; name: string | null; healthy: boolean }>")]
    pub accounts: Option<Value>,
    #[napi(js_name = "retry_after_ms")]
    pub retry_after_ms: Option<f64>,
    /// `true` when a request other than GET or HEAD failed after its bytes may have reached
    /// the app (a 5xx, a timeout, a reset, the deadline): it may have acted, and was not
    /// re-sent. Check in the app before sending it again.
    #[napi(js_name = "maybe_executed", ts_type = "true")]
    pub maybe_executed: Option<bool>,
}

/// What `pipedream_proxy_request` answers: the app's answer (as `proxyRequest` resolves, without
/// `meta`, and cut at 32 KB), or why not.
#[napi]
pub type ProxyToolResult = Either<ProxyToolAnswer, ProxyToolFailed>;

/// The app's answer to `pipedream_proxy_request`.
#[napi(object, object_from_js = false)]
pub struct ProxyToolAnswer {
    pub status: u32,
    #[napi(ts_type = "Record<string, string>")]
    pub headers: Value,
    pub body: Value,
    #[napi(js_name = "body_encoding", ts_type = "'json' | 'text' | 'base64'")]
    pub body_encoding: String,
    pub truncated: bool,
    pub url: String,
    #[napi(js_name = "account_id")]
    pub account_id: String,
    /// What was sent and what the app answered, in a line.
    pub message: String,
    #[napi(ts_type = "undefined")]
    pub error: Option<()>,
}

/// What `handleToolCall` resolves to: the answer of the tool that was called.
#[napi]
pub type ToolResult = Either6<
    SearchServicesResult,
    GetComponentsResult,
    GetComponentResult,
    ConfigurePropResult,
    ProxyToolResult,
    UnknownToolResult,
>;

/// A function-tool definition in the integration plan's format.
#[napi(object, object_from_js = false)]
pub struct ToolDefinition {
    #[napi(js_name = "type", ts_type = "'function'")]
    pub kind: String,
    pub function: ToolFunction,
}

#[napi(object, object_from_js = false)]
pub struct ToolFunction {
    /// `pipedream_search_services`, `pipedream_get_components`, `pipedream_get_component` or
    /// `pipedream_configure_prop`.
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments (strict: every property listed in `required`, optional
    /// ones nullable).
    #[napi(ts_type = "Record<string, unknown>")]
    pub parameters: Value,
    pub strict: bool,
}

/// A discovery tool in Anthropic's format (`toolDefinitions({ format: 'anthropic' })`).
#[napi(object, object_from_js = false)]
pub struct AnthropicTool {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    #[napi(js_name = "input_schema", ts_type = "Record<string, unknown>")]
    pub input_schema: Value,
}

/// A discovery tool as MCP's `tools/list` answers it (`toolDefinitions({ format: 'mcp' })`).
#[napi(object, object_from_js = false)]
pub struct McpTool {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    #[napi(js_name = "inputSchema", ts_type = "Record<string, unknown>")]
    pub input_schema: Value,
    /// The discovery tools only read; `pipedream_proxy_request` may write to the user's
    /// account.
    #[napi(
        ts_type = "{ readOnlyHint: true; openWorldHint: true } | { readOnlyHint: false; destructiveHint: true; openWorldHint: true }"
    )]
    pub annotations: Value,
}

/// A `pipedream_connect` node's config, as the integration plan defines it: a prebuilt action
/// (`component_id`) or, where no action does what is needed, a request to the app's own API
/// through Connect's proxy (`proxy`). Exactly one of the two.
#[napi(object, object_from_js = false)]
pub struct ExecuteConfig {
    /// E.g. `"gmail-search-emails"`.
    #[napi(js_name = "component_id")]
    pub component_id: Option<String>,
    /// In place of `component_id`: `{ method, url, app?, headers?, body?, max_bytes? }`, sent as
    /// `proxyRequest` sends it. The app's answer body is the node's `result` (what `store` and
    /// `create_records` read); its status and headers are in `exports`.
    pub proxy: Option<ProxyCall>,
    /// A specific version; default the latest.
    pub version: Option<String>,
    #[napi(js_name = "auth_config")]
    pub auth_config: Option<AuthConfig>,
    /// The action's parameters (see `getComponent`'s `input_schema`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub params: Option<Value>,
    /// Result paths to variable names: `{ "emails": "foundEmails", "messages.0.id": "firstId",
    /// "$summary": "summaryText", "$": "everything" }`.
    #[napi(ts_type = "Record<string, string>")]
    pub store: Option<Value>,
    /// Make records from the result: a type (`"email"` → `email_001`, …), or
    /// `{ type, from?, id_pattern? }` (`from`: path of the array; `id_pattern`: `{index}` → 001,
    /// `{field}` → that field of the item).
    #[napi(
        js_name = "create_records",
        ts_type = "string | { type: string; from?: string; id_pattern?: string }"
    )]
    pub create_records: Option<Value>,
    /// Store the result on `context.currentRecord` instead (iterations only).
    #[napi(js_name = "store_to_record")]
    pub store_to_record: Option<bool>,
    /// The record field for `store_to_record`; default the node alias.
    #[napi(js_name = "as")]
    pub as_field: Option<String>,
    /// For actions that write files (a `dir` prop with `sync`): `true` keeps them in a new
    /// File Stash, a `stash_id` from an earlier run reuses that one. The answer then has
    /// `stash_id` and `files` with presigned download URLs.
    #[napi(ts_type = "boolean | string")]
    pub stash: Option<Value>,
}

/// A request to an app's API through Connect's proxy.
#[napi(object, object_from_js = false)]
pub struct ProxyCall {
    #[napi(ts_type = "'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'")]
    pub method: String,
    /// An absolute https URL within the app's allowed domains, or a path (`/api/users.list`)
    /// relative to the app's API base.
    pub url: String,
    /// The app's slug (`"slack"`); may be left out when an `account_id` is given.
    pub app: Option<String>,
    /// Headers for the app. `authorization`, API-key and cookie headers are refused: the
    /// connected account's credentials are put in by Pipedream.
    #[napi(ts_type = "Record<string, string>")]
    pub headers: Option<Value>,
    /// A JSON value (sent as `application/json`) or a string (sent as it is, with the
    /// `content-type` header given, else `text/plain`).
    #[napi(ts_type = "unknown")]
    pub body: Option<Value>,
    /// Most bytes of the answer kept (default 1048576); a longer body is cut and `truncated`.
    #[napi(js_name = "max_bytes")]
    pub max_bytes: Option<u32>,
}

/// `proxyRequest`'s request: a proxy call, whose account and token.
#[napi(object, object_from_js = false)]
pub struct ProxyRequest {
    #[napi(ts_type = "'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'")]
    pub method: String,
    /// An absolute https URL within the app's allowed domains, or a path relative to the app's
    /// API base.
    pub url: String,
    /// The app's slug; may be left out when `account_id` is given.
    pub app: Option<String>,
    /// The connected account (`apn_…`); default the user's one account for `app`.
    #[napi(js_name = "account_id")]
    pub account_id: Option<String>,
    /// The Director user; default the client's `externalUserId`.
    #[napi(js_name = "external_user_id")]
    pub external_user_id: Option<String>,
    /// A Pipedream access token for this call; default the client's.
    pub token: Option<String>,
    #[napi(ts_type = "Record<string, string>")]
    pub headers: Option<Value>,
    #[napi(ts_type = "unknown")]
    pub body: Option<Value>,
    #[napi(js_name = "max_bytes")]
    pub max_bytes: Option<u32>,
}

/// Options of the calls that change something in the user's account or the project
/// (`proxyRequest`, `deployTrigger`).
#[napi(object, object_from_js = false)]
pub struct WriteOptions {
    /// Aborting rejects at once with an `AbortError`; a write that may have been sent is
    /// `maybe_executed`.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Value>,
    /// As for nodes: calls with the same key share one request and later ones replay its
    /// answer (`meta.replayed`).
    pub idempotency_key: Option<String>,
}

/// What the app answered through the proxy (a 2xx; other statuses reject).
#[napi(object, object_from_js = false)]
pub struct ProxyResponse {
    pub status: u32,
    /// The app's response headers, lower-case (without cookies).
    #[napi(ts_type = "Record<string, string>")]
    pub headers: Value,
    /// Parsed JSON when the app answered JSON, else text, else base64 of the bytes.
    pub body: Value,
    #[napi(js_name = "body_encoding", ts_type = "'json' | 'text' | 'base64'")]
    pub body_encoding: String,
    /// The body was longer than `max_bytes` and was cut there.
    pub truncated: bool,
    /// The URL the request went to.
    pub url: String,
    #[napi(js_name = "account_id")]
    pub account_id: String,
    pub meta: ExecuteMeta,
}

/// `deployTrigger`'s request: a trigger, its params and whose account, as for a node.
#[napi(object, object_from_js = false)]
pub struct DeployTriggerRequest {
    /// A trigger's key, e.g. `"gmail-new-email-received"` (getComponents with type "trigger").
    #[napi(js_name = "component_id")]
    pub component_id: String,
    pub version: Option<String>,
    /// The trigger's parameters, as its `input_schema` describes.
    #[napi(ts_type = "Record<string, unknown>")]
    pub params: Option<Value>,
    #[napi(js_name = "external_user_id")]
    pub external_user_id: Option<String>,
    #[napi(js_name = "account_id")]
    pub account_id: Option<String>,
    /// Where Pipedream POSTs the events (`triggerWebhookUrl` makes one).
    #[napi(js_name = "webhook_url")]
    pub webhook_url: Option<String>,
    /// Default true: many triggers emit recent events when deployed.
    #[napi(js_name = "emit_on_deploy")]
    pub emit_on_deploy: Option<bool>,
    /// A Pipedream access token for this call; default the client's.
    pub token: Option<String>,
}

/// A deployed trigger.
#[napi(object, object_from_js = false)]
pub struct DeployedTrigger {
    /// `dc_…`.
    pub id: String,
    /// The trigger's key.
    #[napi(js_name = "component_id", ts_type = "string | null")]
    pub component_id: Option<String>,
    #[napi(ts_type = "string | null")]
    pub name: Option<String>,
    /// False while paused.
    pub active: bool,
    /// As Pipedream holds them (with the account's `authProvisionId` and what it filled in).
    #[napi(js_name = "configured_props", ts_type = "Record<string, unknown>")]
    pub configured_props: Value,
    #[napi(js_name = "created_at_ms", ts_type = "number | null")]
    pub created_at_ms: Option<f64>,
    #[napi(js_name = "updated_at_ms", ts_type = "number | null")]
    pub updated_at_ms: Option<f64>,
}

/// What `deployTrigger` resolves to.
#[napi(object, object_from_js = false)]
pub struct DeployedTriggerResult {
    pub id: String,
    #[napi(js_name = "component_id", ts_type = "string | null")]
    pub component_id: Option<String>,
    #[napi(ts_type = "string | null")]
    pub name: Option<String>,
    pub active: bool,
    #[napi(js_name = "configured_props", ts_type = "Record<string, unknown>")]
    pub configured_props: Value,
    #[napi(js_name = "created_at_ms", ts_type = "number | null")]
    pub created_at_ms: Option<f64>,
    #[napi(js_name = "updated_at_ms", ts_type = "number | null")]
    pub updated_at_ms: Option<f64>,
    /// The key deliveries are signed with: only with a `webhook_url`, and only for OAuth
    /// clients. A secret: keep it with Director's secrets.
    #[napi(js_name = "webhook_signing_key")]
    pub webhook_signing_key: Option<String>,
    pub meta: ExecuteMeta,
}

/// An event a deployed trigger emitted.
#[napi(object, object_from_js = false)]
pub struct TriggerEvent {
    #[napi(ts_type = "string | null")]
    pub id: Option<String>,
    #[napi(js_name = "ts_ms", ts_type = "number | null")]
    pub ts_ms: Option<f64>,
    #[napi(ts_type = "string | null")]
    pub summary: Option<String>,
    pub payload: Value,
}

/// Where a deployed trigger delivers its events.
#[napi(object, object_from_js = false)]
pub struct TriggerWebhooks {
    #[napi(js_name = "webhook_urls")]
    pub webhook_urls: Vec<String>,
    /// `{ id, url, signing_key_set, signing_key? }` each (`signing_key` for OAuth clients).
    #[napi(
        ts_type = "Array<{ id: string; url: string; signing_key_set: boolean; signing_key?: string }> | null"
    )]
    pub webhooks: Option<Value>,
}

/// A trigger webhook with its new signing key.
#[napi(object, object_from_js = false)]
pub struct TriggerWebhookKey {
    pub id: String,
    pub url: String,
    #[napi(js_name = "signing_key")]
    pub signing_key: String,
    #[napi(js_name = "signing_key_set")]
    pub signing_key_set: Option<bool>,
}

/// `verifyTriggerWebhook`'s argument.
#[napi(object, object_from_js = false)]
pub struct VerifyTriggerWebhookArgs {
    /// The body as received, before any parsing.
    #[napi(js_name = "rawBody", ts_type = "string | Uint8Array")]
    pub raw_body: Value,
    /// The request's headers: Node's `req.headers`, or a WHATWG `Headers` (`fetch`, a Next.js
    /// route handler's `request.headers`).
    #[napi(
        ts_type = "Record<string, string | string[] | undefined> | { forEach(callback: (value: string, name: string) => void): void }"
    )]
    pub headers: Value,
    /// The webhook's signing key (`webhook_signing_key`).
    #[napi(js_name = "signingKey")]
    pub signing_key: String,
    /// How far the signature's time may be from now. Default 300000 (5 minutes), at most
    /// 1800000.
    #[napi(js_name = "toleranceMs")]
    pub tolerance_ms: Option<u32>,
    /// The request's path (`req.url`), to check the token of `triggerWebhookUrl`.
    pub path: Option<String>,
    /// The secret `triggerWebhookUrl` was given.
    #[napi(js_name = "pathSecret")]
    pub path_secret: Option<String>,
    /// Default true: a second delivery of an event throws `PIPEDREAM_WEBHOOK_REPLAY`.
    pub dedupe: Option<bool>,
}

/// A verified trigger delivery.
#[napi(object, object_from_js = false)]
pub struct TriggerDelivery {
    /// The event's id (`sha256:…` of the body when it carries none): the same for every
    /// retry of one delivery, so it makes a good `idempotencyKey`.
    pub id: String,
    /// The `id` given to `triggerWebhookUrl`, when `path` was checked.
    #[napi(js_name = "route_id", ts_type = "string | null")]
    pub route_id: Option<String>,
    /// The event as the trigger emitted it.
    pub payload: Value,
    #[napi(js_name = "signed_at_ms")]
    pub signed_at_ms: f64,
}

/// Which Pipedream token and which connected account a node uses.
#[napi(object, object_from_js = false)]
pub struct AuthConfig {
    /// A Pipedream access token for this node (first in the token chain).
    pub token: Option<String>,
    /// The Director user whose connected accounts are used.
    #[napi(js_name = "external_user_id")]
    pub external_user_id: Option<String>,
    /// A connected account (`apn_…`) to run with.
    #[napi(js_name = "account_id")]
    pub account_id: Option<String>,
    /// `{ authProvisionId: 'apn_…' }`: the plan's form of `account_id`.
    #[napi(
        js_name = "service_auth",
        ts_type = "{ authProvisionId?: string } & Record<string, unknown>"
    )]
    pub service_auth: Option<Value>,
}

/// Where a node runs.
#[napi(object, object_from_js = false)]
pub struct ExecuteContext {
    pub workflow_id: Option<String>,
    /// The node's alias (the default field for `store_to_record`).
    pub alias: Option<String>,
    /// Workflow variables; `pipedream_token` is second in the token chain.
    #[napi(ts_type = "Record<string, unknown>")]
    pub variables: Option<Value>,
    /// The record of the current iteration (`{ id, type, fields }`).
    #[napi(ts_type = "{ id: string } & Record<string, unknown>")]
    pub current_record: Option<Value>,
    /// The Director user, when `auth_config.external_user_id` does not say.
    pub external_user_id: Option<String>,
    /// Aborting rejects at once with an `AbortError` and drops the in-flight request.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Value>,
    /// Calls with the same key within `idempotency.ttlMs` share one run: later ones get its
    /// answer with `meta.replayed: true`. Failures are not kept, except `maybe_executed` ones.
    pub idempotency_key: Option<String>,
}

/// A record made by `create_records`.
#[napi(object, object_from_js = false)]
pub struct WorkflowRecord {
    pub id: String,
    #[napi(js_name = "type")]
    pub kind: String,
    #[napi(ts_type = "Record<string, unknown>")]
    pub fields: Value,
}

/// The update `store_to_record` asks Director to apply.
#[napi(object, object_from_js = false)]
pub struct RecordUpdate {
    #[napi(js_name = "record_id")]
    pub record_id: String,
    pub field: String,
    pub value: Value,
}

/// How a run went.
#[napi(object, object_from_js = false)]
pub struct ExecuteMeta {
    /// Requests sent for the run (more than 1 only when it certainly had not run before).
    pub attempts: u32,
    /// Time spent waiting for the rate limiter or a server-requested pause.
    #[napi(js_name = "rate_limit_wait_ms")]
    pub rate_limit_wait_ms: u32,
    #[napi(js_name = "duration_ms")]
    pub duration_ms: u32,
    /// Which layer supplied the Pipedream token (never the token itself).
    #[napi(
        js_name = "token_source",
        ts_type = "'auth_config' | 'workflow_variable' | 'env' | 'oauth'"
    )]
    pub token_source: String,
    /// The connected account used, when the action needs one.
    #[napi(js_name = "account_id")]
    pub account_id: Option<String>,
    /// Set when the props were reloaded before the run.
    #[napi(js_name = "dynamic_props_id")]
    pub dynamic_props_id: Option<String>,
    /// True when this answer is the stored one of an earlier call with the same
    /// `idempotencyKey`.
    pub replayed: bool,
    /// Things that did not stop the run but may matter (a `store` path that was missing, …).
    pub warnings: Vec<String>,
}

/// What `executePipedreamConnect` resolves to.
#[napi(object, object_from_js = false)]
pub struct ExecuteResult {
    #[napi(js_name = "component_id")]
    pub component_id: String,
    /// The action's return value.
    pub result: Value,
    /// `exports.$summary`, or null.
    pub summary: Option<String>,
    #[napi(ts_type = "Record<string, unknown>")]
    pub exports: Value,
    /// Variables from `store`.
    #[napi(ts_type = "Record<string, unknown>")]
    pub stored: Value,
    pub records: Vec<WorkflowRecord>,
    #[napi(js_name = "record_update")]
    pub record_update: Option<RecordUpdate>,
    /// With `stash`: the File Stash the run used (null if the API named none).
    #[napi(js_name = "stash_id", ts_type = "string | null")]
    pub stash_id: Option<String>,
    /// With `stash`: the files the action wrote.
    pub files: Option<Vec<StashedFileRef>>,
    pub meta: ExecuteMeta,
}

/// A file a run left in File Stash.
#[napi(object, object_from_js = false)]
pub struct StashedFileRef {
    /// Where the action wrote it (`/tmp/…`).
    #[napi(ts_type = "string | null")]
    pub path: Option<String>,
    /// For `downloadStashedFile`, within 24 hours.
    #[napi(js_name = "s3_key", ts_type = "string | null")]
    pub s3_key: Option<String>,
    /// A presigned GET URL, valid 30 minutes from the run.
    #[napi(ts_type = "string | null")]
    pub url: Option<String>,
    #[napi(js_name = "url_expires_at_ms")]
    pub url_expires_at_ms: f64,
}

/// What `downloadStashedFile` resolves to: the file's bytes, or, when the API answered with a
/// redirect to a presigned URL (its OpenAPI documents both), that URL and no bytes.
#[napi(object, object_from_js = false)]
pub struct StashedFile {
    #[napi(js_name = "s3_key")]
    pub s3_key: String,
    #[napi(js_name = "content_type", ts_type = "string | null")]
    pub content_type: Option<String>,
    /// Bytes in `data`; null with `url`.
    #[napi(ts_type = "number | null")]
    pub size: Option<u32>,
    /// The whole file; null when the API gave `url` instead.
    #[napi(ts_type = "Buffer | null")]
    pub data: Value,
    /// The presigned GET URL the API redirected to (https; no credentials needed), for the
    /// caller to fetch: this client sends nothing past `baseUrl`. Null with `data`.
    #[napi(ts_type = "string | null")]
    pub url: Option<String>,
    /// When `url` stops working (30 minutes from the answer), in ms since the epoch.
    #[napi(js_name = "url_expires_at_ms", ts_type = "number | null")]
    pub url_expires_at_ms: Option<f64>,
}

/// One node of a batch.
#[napi(object, object_from_js = false)]
pub struct BatchItem {
    pub config: ExecuteConfig,
    pub context: Option<ExecuteContext>,
}

#[napi(object, object_from_js = false)]
pub struct BatchOptions {
    /// Most items in flight at once, 1 to 100. Default 5.
    pub concurrency: Option<u32>,
    /// Aborting rejects every item not yet finished with an `AbortError`.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Value>,
}

/// A logger object: console, pino, winston or anything with these methods.
#[napi(object, object_from_js = false)]
pub struct LoggerObject {
    #[napi(ts_type = "(...args: any[]) => unknown")]
    pub debug: Option<Value>,
    #[napi(ts_type = "(...args: any[]) => unknown")]
    pub info: Option<Value>,
    #[napi(ts_type = "(...args: any[]) => unknown")]
    pub warn: Option<Value>,
    #[napi(ts_type = "(...args: any[]) => unknown")]
    pub error: Option<Value>,
}

/// What the `logger` option receives. Names, codes and timings only: never a credential, never
/// a param value, never a query text.
#[napi(object, object_from_js = false)]
pub struct LogEvent {
    #[napi(
        js_name = "type",
        ts_type = "'discovery' | 'execution' | 'auth' | 'retry' | 'store'"
    )]
    pub kind: String,
    /// How much it matters, for `logLevel` and logger objects.
    #[napi(ts_type = "'debug' | 'info' | 'warn' | 'error'")]
    pub level: String,
    /// `ok` or a `PIPEDREAM_*` code; for `store` events `unavailable` (the shared store did
    /// not answer: limits are kept locally, a warning) or `ok` (it answers again, info).
    pub outcome: String,
    #[napi(js_name = "duration_ms")]
    pub duration_ms: u32,
    /// Milliseconds since the epoch.
    pub ts: f64,
    /// Discovery: `searchServices`, `getComponents`, …
    pub op: Option<String>,
    #[napi(js_name = "app_slug")]
    pub app_slug: Option<String>,
    #[napi(js_name = "component_id")]
    pub component_id: Option<String>,
    #[napi(js_name = "prop_name")]
    pub prop_name: Option<String>,
    /// Discovery: whether a cache answered (null while it is not known).
    #[napi(ts_type = "boolean | null")]
    pub cached: Option<bool>,
    /// Execution: the names of the params sent.
    pub params: Option<Vec<String>>,
    /// Execution: the run requests sent (null when it failed before).
    #[napi(ts_type = "number | null")]
    pub attempts: Option<u32>,
    #[napi(js_name = "token_source", ts_type = "string | null")]
    pub token_source: Option<String>,
    #[napi(js_name = "workflow_id", ts_type = "string | null")]
    pub workflow_id: Option<String>,
    #[napi(ts_type = "string | null")]
    pub alias: Option<String>,
    /// Auth: `oauth_client_credentials`.
    pub method: Option<String>,
    /// Execution of a proxy request: its method and the origin it went to, or the app's slug for
    /// a relative URL (never the path).
    #[napi(ts_type = "{ method: string; origin: string }")]
    pub proxy: Option<Value>,
    /// Store: the shared store's kind, `redis`. Never its URL.
    pub backend: Option<String>,
    /// Store: why it did not answer: `timeout`, `unreachable`, `authentication failed` or
    /// `error`.
    pub reason: Option<String>,
    /// Retry: the endpoint class of the request (`read`, `execute`, `accounts`, `tokens`,
    /// `proxy`, or `oauth` for the OAuth token request).
    pub class: Option<String>,
    /// Retry: which attempt failed (1 for the first).
    pub attempt: Option<u32>,
    /// Retry: how long until the next attempt.
    #[napi(js_name = "delay_ms")]
    pub delay_ms: Option<f64>,
}

/// Options of every discovery call.
#[napi(object, object_from_js = false)]
pub struct CallOptions {
    /// Aborting rejects the call at once with an `AbortError` (`code: 'ABORT_ERR'`) and drops
    /// its in-flight request.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Value>,
}

/// What `getStats()` returns.
#[napi(object, object_from_js = false)]
pub struct ClientStats {
    /// Requests by endpoint class (`read`, `execute`, `accounts`, `tokens`, `proxy`; `oauth` for
    /// the OAuth token requests) and HTTP status
    /// (`0`: no answer came back).
    #[napi(ts_type = "Record<string, Record<string, number>>")]
    pub requests: Value,
    #[napi(ts_type = "{ hits: number; misses: number; stale: number; entries: number }")]
    pub cache: Value,
    /// Requests sent again after a failure.
    pub retries: f64,
    /// Requests that waited for the rate limiter or a server pause, and the time spent.
    #[napi(js_name = "rate_limit", ts_type = "{ waits: number; wait_ms: number }")]
    pub rate_limit: Value,
    /// Executions answered from an idempotency key.
    pub replays: f64,
    /// Failed API requests (after retries) and failed calls that never reached the API, by code.
    #[napi(ts_type = "Record<string, number>")]
    pub errors: Value,
    /// Over the most recent 10,000 requests.
    #[napi(
        js_name = "latency_ms",
        ts_type = "{ p50: number; p95: number; p99: number; samples: number }"
    )]
    pub latency_ms: Value,
    /// Where state shared by several instances lives: `backend` `redis` with `store.redis`,
    /// else `local`; whether it answers; how often it stopped answering (`fallbacks`) and how
    /// many operations were served locally meanwhile (`fallback_calls`); discovery reads
    /// answered from its cache (`cache_hits`) and answers this client shared there
    /// (`cache_fills`).
    #[napi(
        ts_type = "{ backend: 'local' | 'redis'; healthy: boolean; fallbacks: number; fallback_calls: number; cache_hits: number; cache_fills: number }"
    )]
    pub store: Value,
}

/// A JSON Schema document.
#[napi]
pub type NodeSchema = serde_json::Map<String, Value>;

/// Arguments of `listAccounts`: whose accounts and for which app; both optional.
#[napi(object, object_from_js = false)]
pub struct ListAccountsArgs {
    /// Only this external user's accounts.
    #[napi(js_name = "external_user_id")]
    pub external_user_id: Option<String>,
    /// Only accounts of this app (its slug, e.g. `"slack"`).
    pub app: Option<String>,
    /// Include each account's credentials. Default false.
    #[napi(js_name = "include_credentials")]
    pub include_credentials: Option<bool>,
}

/// Options of `getAccount`.
#[napi(object, object_from_js = false)]
pub struct AccountOptions {
    /// Include the account's credentials (OAuth tokens, API keys). Default false.
    #[napi(js_name = "include_credentials")]
    pub include_credentials: Option<bool>,
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Value>,
}

/// Arguments of `listUsers`.
#[napi(object, object_from_js = false)]
pub struct ListUsersArgs {
    /// Only users whose external id holds this text.
    pub q: Option<String>,
}

/// An external user as the API describes one.
#[napi(object, object_from_js = false)]
pub struct ExternalUser {
    /// Pipedream's id for the user (`exu_…`).
    pub id: String,
    /// The id Director gave the user.
    #[napi(js_name = "external_id")]
    pub external_id: String,
    #[napi(js_name = "created_at")]
    pub created_at: Option<String>,
    #[napi(js_name = "updated_at")]
    pub updated_at: Option<String>,
}

/// Arguments of `createConnectToken`.
#[napi(object, object_from_js = false)]
pub struct CreateConnectTokenArgs {
    /// The Director user who will connect an account.
    #[napi(js_name = "external_user_id")]
    pub external_user_id: String,
    /// The app the Connect Link opens on (its slug).
    pub app: Option<String>,
    #[napi(js_name = "success_redirect_uri")]
    pub success_redirect_uri: Option<String>,
    #[napi(js_name = "error_redirect_uri")]
    pub error_redirect_uri: Option<String>,
    /// Where Pipedream POSTs the connection webhook (see `parseConnectionWebhook`).
    #[napi(js_name = "webhook_uri")]
    pub webhook_uri: Option<String>,
    /// Origins allowed to use the token from a browser.
    #[napi(js_name = "allowed_origins")]
    pub allowed_origins: Option<Vec<String>>,
    /// Seconds, 1 to 14400 (the API's default is 4 hours).
    #[napi(js_name = "expires_in")]
    pub expires_in: Option<u32>,
}

/// What `parseConnectionWebhook` answers: the user connected an account, or failed to.
#[napi]
pub type ConnectionEvent = Either<ConnectionSuccess, ConnectionFailure>;

/// A user finished connecting an account.
#[napi(object, object_from_js = false)]
pub struct ConnectionSuccess {
    #[napi(ts_type = "'CONNECTION_SUCCESS'")]
    pub event: String,
    #[napi(js_name = "connect_token", ts_type = "string | null")]
    pub connect_token: Value,
    #[napi(ts_type = "string | null")]
    pub environment: Value,
    #[napi(js_name = "connect_session_id", ts_type = "string | number | null")]
    pub connect_session_id: Value,
    pub account: ConnectionAccount,
}

/// The account a connection event names (never its credentials).
#[napi(object, object_from_js = false)]
pub struct ConnectionAccount {
    pub id: String,
    #[napi(ts_type = "string | null")]
    pub name: Value,
    #[napi(js_name = "external_user_id")]
    pub external_user_id: String,
    /// The app's slug.
    #[napi(ts_type = "string | null")]
    pub app: Value,
    #[napi(ts_type = "boolean | null")]
    pub healthy: Value,
    #[napi(ts_type = "boolean | null")]
    pub dead: Value,
    #[napi(js_name = "created_at", ts_type = "string | null")]
    pub created_at: Value,
    #[napi(js_name = "updated_at", ts_type = "string | null")]
    pub updated_at: Value,
}

/// A user's attempt to connect an account failed.
#[napi(object, object_from_js = false)]
pub struct ConnectionFailure {
    #[napi(ts_type = "'CONNECTION_ERROR'")]
    pub event: String,
    #[napi(js_name = "connect_token", ts_type = "string | null")]
    pub connect_token: Value,
    #[napi(ts_type = "string | null")]
    pub environment: Value,
    #[napi(js_name = "connect_session_id", ts_type = "string | number | null")]
    pub connect_session_id: Value,
    /// Why it failed (the webhook's `error` text).
    pub reason: String,
}

/// A Connect token.
#[napi(object, object_from_js = false)]
pub struct ConnectToken {
    /// `ctok_…`: give it to Pipedream's frontend SDK, or open `connect_link_url`.
    pub token: String,
    #[napi(js_name = "expires_at")]
    pub expires_at: String,
    /// The Connect Link, opening on the app when one was named.
    #[napi(js_name = "connect_link_url")]
    pub connect_link_url: String,
}

/// Options of `validateConnectToken`.
#[napi(object, object_from_js = false)]
pub struct ValidateConnectTokenOptions {
    pub app: Option<String>,
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Value>,
}

/// A connected account as `listAccounts` and `getAccount` answer it.
#[napi(object, object_from_js = false)]
pub struct ConnectedAccount {
    /// `apn_…`: pass it as `auth_config.account_id` to run with this account.
    pub id: String,
    /// Null when the account has none (the API sends null), as are the fields below when the
    /// API leaves them out.
    #[napi(ts_type = "string | null")]
    pub name: Option<String>,
    /// The app's slug.
    #[napi(ts_type = "string | null")]
    pub app: Option<String>,
    #[napi(ts_type = "boolean | null")]
    pub healthy: Option<bool>,
    #[napi(ts_type = "boolean | null")]
    pub dead: Option<bool>,
    #[napi(js_name = "created_at", ts_type = "string | null")]
    pub created_at: Option<String>,
    #[napi(js_name = "updated_at", ts_type = "string | null")]
    pub updated_at: Option<String>,
    /// Only when asked for (`include_credentials: true`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub credentials: Option<Value>,
}
