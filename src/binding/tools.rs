//! `toolDefinitions`: a value export, built once per JS environment from the core's
//! definitions.

use napi::bindgen_prelude::{Env, JsValue, Result, ToNapiValue, sys};
use napi_derive::napi;

use super::js;
use crate::engine::tools;

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
