//! Value exports: `toolDefinitions`, `nodeSchema` and `directorPrompt`, built once per JS
//! environment from the core.

use napi::bindgen_prelude::{Env, JsValue, Result, ToNapiValue, Unknown, sys};
use napi_derive::napi;

use super::js;
use crate::engine::director::prompt as director;
use crate::engine::director::tools::definitions as tools;

/// The discovery tools for an LLM's `tools` list, in `format`: `'openai'` (default; function
/// tools, `type: 'function'`, `strict: true`, as the integration plan has them),
/// `'anthropic'` (`{ name, description, input_schema }`) or `'mcp'` (`{ name, description,
/// inputSchema, annotations }`, as MCP's `tools/list` answers). A fresh array each call; answer
/// the calls with `handleToolCall(name, args)`. An unknown format throws a `TypeError`
/// (`ERR_INVALID_ARG_VALUE`).
#[napi(
    catch_unwind,
    js_name = "toolDefinitions",
    ts_generic_types = "F extends 'openai' | 'anthropic' | 'mcp' = 'openai'",
    ts_args_type = "options?: { format?: F }",
    ts_return_type = "Array<{ openai: ToolDefinition; anthropic: AnthropicTool; mcp: McpTool }[F]>"
)]
pub fn tool_definitions<'env>(
    env: &'env Env,
    options: Option<Unknown<'env>>,
) -> Result<Unknown<'env>> {
    let options = options
        .filter(|o| !js::is_nullish(o))
        .map(|o| js::read_args(env, o))
        .transpose()
        .map_err(|reason| {
            js::type_error(
                env,
                "ERR_INVALID_ARG_VALUE",
                format!("toolDefinitions(options): {reason}"),
            )
        })?
        .unwrap_or_default();
    let name = match options.get("format") {
        None | Some(serde_json::Value::Null) => Some("openai"),
        Some(format) => format.as_str(),
    };
    let format = name.and_then(tools::Format::named).ok_or_else(|| {
        js::type_error(
            env,
            "ERR_INVALID_ARG_VALUE",
            "toolDefinitions({ format }): format must be 'openai', 'anthropic' or 'mcp'".into(),
        )
    })?;
    js::parse(env, &tools::definitions_in(format).to_string())
}

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
