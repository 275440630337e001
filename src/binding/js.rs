//! Moving results and errors across the Node-API boundary.

use std::borrow::Cow;
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;

use napi::bindgen_prelude::{
    Env, FromNapiValue, JsObjectValue, JsTypeError, JsValue, Object, PromiseRaw, Result, Unknown,
    ValueType,
};
use napi::{JsString, sys};

use crate::engine::json::readable;

/// A promise for a core result that is already known (a cache hit, a checked-argument error):
/// no trip through the async runtime, which costs tens of microseconds per call.
pub fn resolved<'env>(env: &'env Env, json: &str) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    resolved_as(env, json, Shape::Object)
}

/// `resolved`, in `shape`.
pub fn resolved_as<'env>(
    env: &'env Env,
    json: &str,
    shape: Shape,
) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    let value = shape.value(env, &shape.text(json))?;
    PromiseRaw::resolve(env, value)
}

/// What a discovery answer becomes in JS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The answer as an object (`JSON.parse` of its text).
    Object,
    /// The answer's JSON text as an LLM reads it (`json::readable`), for a tool result's
    /// content: no object is built to be serialized again.
    Text,
}

impl Shape {
    /// The core's text of an answer as this shape hands it over; off the JS thread when the
    /// answer came from the runtime.
    pub fn text(self, json: &str) -> Cow<'_, str> {
        match self {
            Shape::Object => Cow::Borrowed(json),
            Shape::Text => readable(json),
        }
    }

    /// `text`, of an answer owned.
    pub fn into_text(self, json: String) -> String {
        let made = match self.text(&json) {
            Cow::Owned(text) => Some(text),
            Cow::Borrowed(_) => None,
        };
        made.unwrap_or(json)
    }

    /// `text`'s result as a JS value.
    pub fn value<'env>(self, env: &'env Env, json: &str) -> Result<Unknown<'env>> {
        match self {
            Shape::Object => parse(env, json),
            Shape::Text => Ok(text(env, json)?.to_unknown()),
        }
    }
}

/// `JSON.parse` builds the JS object far faster than setting properties one Node-API call at a
/// time.
pub fn parse<'env>(env: &'env Env, json: &str) -> Result<Unknown<'env>> {
    let text = text(env, json)?;
    let mut this = ptr::null_mut();
    let mut value = ptr::null_mut();
    // SAFETY: Node-API calls on the JS thread of `env`, with handles of this scope.
    unsafe {
        napi::check_status!(sys::napi_get_undefined(env.raw(), &mut this))?;
        let args = [text.raw()];
        napi::check_status!(sys::napi_call_function(
            env.raw(),
            this,
            json_parse(env)?,
            1,
            args.as_ptr(),
            &mut value,
        ))?;
        Unknown::from_napi_value(env.raw(), value)
    }
}

thread_local! {
    /// This thread's env and its `JSON.parse`, held by a reference: looking it up by name was
    /// two property reads for every answer. An env cleanup hook forgets it, so no later env on
    /// this thread can be handed another env's reference.
    static JSON_PARSE: Cell<Option<(sys::napi_env, sys::napi_ref)>> = const { Cell::new(None) };
}

fn json_parse(env: &Env) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    if let Some((owner, reference)) = JSON_PARSE.get()
        && owner == env.raw()
    {
        // SAFETY: the reference belongs to this live env (its cleanup hook has not run).
        napi::check_status!(unsafe {
            sys::napi_get_reference_value(env.raw(), reference, &mut value)
        })?;
        if !value.is_null() {
            return Ok(value);
        }
    }
    let json: Object = env.get_global()?.get_named_property("JSON")?;
    let parse: Unknown = json.get_named_property("parse")?;
    let mut reference = ptr::null_mut();
    // SAFETY: Node-API calls on the JS thread of `env`; the hook's argument is the reference
    // itself, compared, never dereferenced.
    unsafe {
        napi::check_status!(sys::napi_create_reference(
            env.raw(),
            parse.raw(),
            1,
            &mut reference
        ))?;
        sys::napi_add_env_cleanup_hook(env.raw(), Some(forget_json_parse), reference.cast());
    }
    JSON_PARSE.set(Some((env.raw(), reference)));
    Ok(parse.raw())
}

/// The env is going away: its references go with it.
unsafe extern "C" fn forget_json_parse(reference: *mut c_void) {
    let _ = JSON_PARSE.try_with(|cached| {
        if matches!(cached.get(), Some((_, r)) if r.cast() == reference) {
            cached.set(None);
        }
    });
}

/// A JS string of `s`. ASCII, which the core's JSON always is, becomes a one-byte string by a
/// plain copy; anything else (an answer's readable text) is handed over as UTF-16, which V8
/// copies: it decodes UTF-8 about a character at a time, 20 µs for github's 22.7 KB list with
/// three characters beyond ASCII, where widening it here and the copy take a few.
pub fn text<'env>(env: &'env Env, s: &str) -> Result<JsString<'env>> {
    if s.is_ascii() {
        env.create_string_latin1(s.as_bytes())
    } else {
        env.create_string_utf16(utf16(s))
    }
}

/// `s` in UTF-16: ASCII a block at a time (a check and a widening the compiler runs many bytes
/// at once), any other character by itself.
fn utf16(s: &str) -> Vec<u16> {
    const BLOCK: usize = 64;
    let bytes = s.as_bytes();
    // No character takes more UTF-16 units than UTF-8 bytes. Not zeroed: a zeroed large
    // allocation cost ten times the widening (the allocator's fresh pages, faulted in).
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if let Some(block) = bytes.get(at..at + BLOCK)
            && block.is_ascii()
        {
            out.extend(block.iter().map(|&b| u16::from(b)));
            at += BLOCK;
            continue;
        }
        // `at` is on a character's boundary: blocks are whole ASCII bytes, characters whole.
        let Some(c) = s.get(at..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        out.extend_from_slice(c.encode_utf16(&mut [0; 2]));
        at += c.len_utf8();
    }
    out
}

/// The arguments object as JSON, or why it cannot be sent.
pub fn read_args(env: &Env, args: Unknown) -> std::result::Result<serde_json::Value, String> {
    super::json::to_json(env, args, "args")
}

/// A failure to read a JS value, as a message naming `path`. A getter, a proxy trap or a
/// `toISOString` that threw leaves its exception pending; it is cleared here, so the call
/// answers with its own coded error instead of rethrowing whatever the caller's value threw.
/// The exception itself is not quoted: it may be anything, of any size.
pub fn unreadable(env: &Env, path: &str, e: &napi::Error) -> String {
    if clear_pending_exception(env) {
        format!("{path} could not be read: reading it threw")
    } else {
        format!("{path} could not be read: {}", e.reason)
    }
}

/// Clears an exception a JS callback left pending; whether there was one.
pub fn clear_pending_exception(env: &Env) -> bool {
    take_pending_exception(env).is_some()
}

/// Takes an exception JS left pending (a callback, or `JSON.parse` of a text that is no JSON),
/// so that Node-API calls work again; the thrown value.
pub fn take_pending_exception(env: &Env) -> Option<sys::napi_value> {
    let mut pending = false;
    let mut exception = ptr::null_mut();
    // SAFETY: plain Node-API calls on the current env.
    unsafe {
        sys::napi_is_exception_pending(env.raw(), &mut pending);
        if pending {
            sys::napi_get_and_clear_last_exception(env.raw(), &mut exception);
        }
    }
    (pending && !exception.is_null()).then_some(exception)
}

/// A `TypeError` with a `code`, for misuse that should fail loudly at the call site.
pub fn type_error(env: &Env, code: &str, message: String) -> napi::Error {
    let error = JsTypeError::from(napi::Error::new(code, message));
    napi::Error::from(error.into_unknown(*env))
}

pub fn is_nullish(value: &Unknown) -> bool {
    matches!(value.get_type(), Ok(ValueType::Undefined | ValueType::Null))
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn utf16_is_the_standard_encoding(s in "(\\PC|[a-z ]{1,80}|[é…😀\u{7f}\u{80}]){0,60}") {
            let ours = super::utf16(&s);
            proptest::prop_assert_eq!(ours, s.encode_utf16().collect::<Vec<u16>>());
        }
    }
}
