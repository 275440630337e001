//! `index.js`'s per-call paths as functions bound to one client.
//!
//! napi-rs books every call of a class method's borrow of `this`: a scope allocated, a global
//! lock taken twice, a map entry made and dropped and the class checked in a registry. On a
//! cache hit that was over two fifths of the native call (about 3,300 of 7,600 instructions
//! under callgrind), and an execute pays it on the JS thread too. A function made by
//! `create_function_from_closure` holds the client itself, so its calls skip that
//! bookkeeping; `index.js` makes the functions once per client.

use std::sync::Arc;

use napi::JsString;
use napi::bindgen_prelude::{
    Env, FromNapiValue, FunctionCallContext, JsValue, Object, Result, ToNapiValue, Unknown,
    ValueType,
};

use super::execute;
use super::js::{self, Shape};
use super::json;
use crate::engine::client::Client;
use crate::engine::director::tools::Op;
use crate::engine::director::tools::definitions as tools;

/// `{ cachedAnswer, executeJson }`, bound to `client`.
pub fn functions<'env>(env: &'env Env, client: &Arc<Client>) -> Result<Object<'env>> {
    let mut bound = Object::new(env)?;
    let held = client.clone();
    let probe = env
        .create_function_from_closure::<(), Option<Raw>, _>("cachedAnswer", move |ctx| {
            cached_answer(&ctx, &held)
        })?;
    bound.set("cachedAnswer", probe)?;
    let held = client.clone();
    let execute = env.create_function_from_closure::<(), Raw, _>("executeJson", move |ctx| {
        execute_json(&ctx, &held)
    })?;
    bound.set("executeJson", execute)?;
    Ok(bound)
}

/// `cachedAnswer(op, argsJson, text?)`: a fresh cache hit for `op` (a method or tool name) and
/// its arguments as JSON text, or `null`. A synchronous call, so a hit skips the async path.
/// A first or second argument that is not a string is no hit (the async path answers it); a
/// third that is `true` asks for the answer's text as `handleToolCallText` answers it,
/// anything else for its JSON.
fn cached_answer(ctx: &FunctionCallContext, client: &Client) -> Result<Option<Raw>> {
    let string = |i: usize| -> Result<Option<Unknown>> {
        match arg(ctx, i)? {
            Some(value) if value.get_type()? == ValueType::String => Ok(Some(value)),
            _ => Ok(None),
        }
    };
    let (Some(op), Some(args)) = (string(0)?, string(1)?) else {
        return Ok(None);
    };
    let text = ctx.length() > 2 && ctx.get::<bool>(2).unwrap_or(false);
    let shape = if text { Shape::Text } else { Shape::Object };
    let answer = hit(ctx.env, client, op, args, shape)?;
    Ok(answer.map(|text| Raw(text.raw())))
}

/// A hit is the whole cost of its call, so its two strings are read without allocating when
/// short (see `json::short_string`), as most are.
fn hit<'env>(
    env: &'env Env,
    client: &Client,
    op: Unknown<'env>,
    args: Unknown<'env>,
    shape: Shape,
) -> Result<Option<JsString<'env>>> {
    let (mut op_buf, mut args_buf) = ([0; json::SHORT], [0; json::SHORT]);
    let Some(op) = json::short_string(env, op, &mut op_buf)? else {
        return Ok(None);
    };
    let Some(op) = Op::named(&op).or_else(|| tools::op_for_tool(&op)) else {
        return Ok(None);
    };
    let args = match json::short_string(env, args, &mut args_buf)? {
        Some(short) => short,
        // SAFETY: a value of this call, on its JS thread.
        None => unsafe { String::from_napi_value(env.raw(), args.raw())? }.into(),
    };
    client
        .cached_answer(op, &args)
        .map(|json| js::text(env, &shape.text(&json)))
        .transpose()
}

/// `executeJson(node, context?)`: `executePipedreamConnect` with the config and context read by
/// JS, as the JSON text `{ config, context? }`; `context` is the caller's, for its `signal`.
fn execute_json(ctx: &FunctionCallContext, client: &Arc<Client>) -> Result<Raw> {
    let node = ctx.get::<String>(0)?;
    let context = arg(ctx, 1)?;
    let promise = execute::execute_json(ctx.env, client.clone(), node, context)?;
    Ok(Raw(promise.raw()))
}

/// The call's argument `i`, or `None` when it was not passed.
fn arg<'a>(ctx: &FunctionCallContext<'a>, i: usize) -> Result<Option<Unknown<'a>>> {
    (i < ctx.length())
        .then(|| ctx.get::<Unknown>(i))
        .transpose()
}

/// A JS value made in a callback, handed back as it is.
struct Raw(napi::sys::napi_value);

impl ToNapiValue for Raw {
    unsafe fn to_napi_value(_: napi::sys::napi_env, value: Self) -> Result<napi::sys::napi_value> {
        Ok(value.0)
    }
}
