//! Value exports: `toolDefinitions`, `nodeSchema` and `directorPrompt`, built once per JS
//! environment from the core.

use napi::bindgen_prelude::{Env, JsValue, Result, ToNapiValue, sys};
use napi_derive::napi;

use super::js;
use crate::engine::director::prompt as director;
use crate::engine::director::tools::definitions as tools;

/// Stands for the definitions list; becomes the JS array when the module registers.
pub struct ToolDefinitions;

impl ToNapiValue for ToolDefinitions {
    unsafe fn to_napi_value(env: sys::napi_env, _: Self) -> Result<sys::napi_value> {
        let env = Env::from_raw(env);
        let value = js::parse(&env, &tools::definitions().to_string())?;
        Ok(value.raw())
    }
}

/// The discovery tools as function-tool definitions (`type: 'function'`, `strict: true`) for
/// an LLM's `tools` list; answer their calls with `handleToolCall(name, args)`.
// napi-rs registers a const under its Rust name, so the name is the JS one.
#[allow(non_upper_case_globals)]
#[napi]
pub const toolDefinitions: ToolDefinitions = ToolDefinitions;

/// Stands for the node schema; becomes a JS object when the module registers.
pub struct NodeSchema;

impl ToNapiValue for NodeSchema {
    unsafe fn to_napi_value(env: sys::napi_env, _: Self) -> Result<sys::napi_value> {
        let env = Env::from_raw(env);
        let value = js::parse(&env, &director::node_schema().to_string())?;
        Ok(value.raw())
    }
}

/// The JSON Schema (draft 2020-12) of a `pipedream_connect` workflow node: the integration
/// plan's, with `version` and `auth_config.account_id` / `external_user_id`. For Director's
/// node definitions and for checking nodes an LLM wrote.
#[allow(non_upper_case_globals)]
#[napi]
pub const nodeSchema: NodeSchema = NodeSchema;

/// The "API Automation Capabilities" section for Director's system prompt: how to discover
/// (search, components, schema, remote options), when to prefer API over browser, and how
/// accounts are chosen.
#[allow(non_upper_case_globals)]
#[napi]
pub const directorPrompt: &str = director::PROMPT;
