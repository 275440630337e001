//! JS values → JSON, for arguments. napi's serde conversion recurses without a bound and
//! crashes the process on a circular object, and it quietly accepts values JSON cannot hold.
//! This walk is bounded in depth, in values and in bytes, checked before anything is
//! allocated (a sparse array's `length` can be 2^32-1), and names the path of the first value
//! it cannot take.

use std::borrow::Cow;
use std::ptr;

use napi::bindgen_prelude::{
    Env, FromNapiValue, Function, JsObjectValue, JsValue, KeyCollectionMode, KeyConversion,
    KeyFilter, Object, Unknown, ValueType,
};
use napi::sys;
use serde_json::{Map, Number, Value};

/// Deeper than this is refused; it also stops a circular reference.
pub const MAX_DEPTH: usize = 64;

/// Most values (array items, object properties, scalars) one argument may hold.
pub const MAX_VALUES: usize = 1_000_000;
/// Most bytes of text (strings and keys, UTF-8) one argument may hold.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// What is left of an argument's allowance as the walk goes.
struct Budget {
    values: usize,
    bytes: usize,
}

impl Budget {
    /// One argument's whole allowance.
    fn full() -> Self {
        Self {
            values: MAX_VALUES,
            bytes: MAX_BYTES,
        }
    }

    fn take_values(&mut self, n: usize, path: &str) -> Result<(), String> {
        self.values = self.values.checked_sub(n).ok_or_else(|| {
            format!("{path} holds more than {MAX_VALUES} values in all; send less at once")
        })?;
        Ok(())
    }

    fn take_bytes(&mut self, n: usize, path: &str) -> Result<(), String> {
        self.bytes = self.bytes.checked_sub(n).ok_or_else(|| {
            format!("{path} holds more than {MAX_BYTES} bytes of text in all; send less at once")
        })?;
        Ok(())
    }
}

/// Converts `value`; `path` names it in errors (`args`, `args.params.items[2]`).
pub fn to_json(env: &Env, value: Unknown, path: &str) -> Result<Value, String> {
    let mut budget = Budget::full();
    walk(env, value, &mut path.to_owned(), 0, &mut budget)
}

/// Options as `to_json` reads them, without their `skip` field, which the caller reads by other
/// means: a batch's `signal` is an AbortSignal, no JSON, and a duck-typed one (its methods own
/// properties) was refused as holding functions.
pub fn options_without(env: &Env, value: Unknown, path: &str, skip: &str) -> Result<Value, String> {
    let mut budget = Budget::full();
    walk_except(env, value, &mut path.to_owned(), 0, &mut budget, Some(skip))
}

fn walk(
    env: &Env,
    value: Unknown,
    path: &mut String,
    depth: usize,
    budget: &mut Budget,
) -> Result<Value, String> {
    walk_except(env, value, path, depth, budget, None)
}

/// `walk`, leaving out the `skip` field if `value` is a plain object (not of what it holds).
fn walk_except(
    env: &Env,
    value: Unknown,
    path: &mut String,
    depth: usize,
    budget: &mut Budget,
    skip: Option<&str>,
) -> Result<Value, String> {
    let napi_err = |e: napi::Error| super::js::unreadable(env, path, &e);
    let kind = value.get_type().map_err(napi_err)?;
    match kind {
        ValueType::Undefined | ValueType::Null => Ok(Value::Null),
        ValueType::Boolean => Ok(Value::Bool(read(env, value).map_err(napi_err)?)),
        ValueType::String => Ok(Value::String(string(env, value, path, budget)?)),
        ValueType::Number => {
            let n: f64 = read(env, value).map_err(napi_err)?;
            number(n).ok_or_else(|| format!("{path} is {n}, which JSON cannot represent"))
        }
        ValueType::Object => {
            if depth >= MAX_DEPTH {
                return Err(format!(
                    "{path} is nested deeper than {MAX_DEPTH} levels (or refers back to itself)"
                ));
            }
            if value.is_array().map_err(napi_err)? {
                array(env, value, path, depth, budget)
            } else if value.is_date().map_err(napi_err)? {
                date(value).map_err(|e| {
                    super::js::unreadable(env, path, &e);
                    format!("{path} is an invalid Date")
                })
            } else if value.is_typedarray().map_err(napi_err)?
                || value.is_arraybuffer().map_err(napi_err)?
                || value.is_dataview().map_err(napi_err)?
                || value.is_buffer().map_err(napi_err)?
            {
                // Listing a binary buffer's keys makes one per byte; refused before that.
                Err(format!(
                    "{path} is binary data (a Buffer or typed array); send it as text, e.g. base64"
                ))
            } else {
                object(env, value, path, depth, budget, skip)
            }
        }
        ValueType::Function => Err(format!(
            "{path} is a function; only JSON values can be sent"
        )),
        ValueType::Symbol => Err(format!("{path} is a symbol; only JSON values can be sent")),
        ValueType::BigInt => Err(format!(
            "{path} is a BigInt; send it as a number or a string"
        )),
        other => Err(format!(
            "{path} is a {other:?} value; only JSON values can be sent"
        )),
    }
}

/// What built-in `value` is, when it says so (`Symbol.toStringTag`: a `Map`, `Set`,
/// `URLSearchParams`, `FormData`, an iterator, a `Promise`), cut to 40 characters. Plain objects
/// and class instances say nothing. Asked only of objects without keys of their own: JSON
/// writes those built-ins as `{}`, so a filter passed as a `Map` or `URLSearchParams`
/// (`listAccounts(new Map([["external_user_id", id]]))`) was dropped without a word and the call
/// listed every user's accounts. The tag, not `instanceof`, which would miss a Map from another
/// realm (a `vm` context, Jest's sandbox).
fn built_in(env: &Env, value: &Unknown) -> napi::Result<Option<String>> {
    let symbol: Function = env.get_global()?.get_named_property("Symbol")?;
    let key: Unknown = symbol.get_named_property("toStringTag")?;
    let mut tag = ptr::null_mut();
    // SAFETY: Node-API calls on the JS thread of `env`, with values of this env.
    napi::check_status!(unsafe {
        sys::napi_get_property(env.raw(), value.raw(), key.raw(), &mut tag)
    })?;
    // SAFETY: `tag` was just returned by Node-API for this env.
    let tag = unsafe { Unknown::from_raw_unchecked(env.raw(), tag) };
    if tag.get_type()? != ValueType::String {
        return Ok(None);
    }
    let mut buf = [0; SHORT];
    let mut kind = String::new();
    match short_string(env, tag, &mut buf)? {
        Some(short) => push_named(&mut kind, &short),
        None => kind.push_str("built-in object"),
    }
    Ok(Some(kind))
}

/// `name` into a message, by its first 40 characters when it is longer.
fn push_named(out: &mut String, name: &str) {
    match name.char_indices().nth(40) {
        Some((cut, _)) => {
            out.push_str(&name[..cut]);
            out.push('…');
        }
        None => out.push_str(name),
    }
}

/// Strings up to this many bytes are copied out of V8 in one call, without measuring first.
pub const SHORT: usize = 256;

/// A string, its length charged to the budget before more than `SHORT` bytes are copied out
/// of V8.
fn string(env: &Env, value: Unknown, path: &str, budget: &mut Budget) -> Result<String, String> {
    let napi_err = |e: napi::Error| super::js::unreadable(env, path, &e);
    let mut buf = [0; SHORT];
    if let Some(short) = short_string(env, value, &mut buf).map_err(napi_err)? {
        budget.take_bytes(short.len(), path)?;
        return Ok(short.into_owned());
    }
    let mut len = 0;
    // SAFETY: a null buffer asks Node-API for the length only.
    napi::check_status!(unsafe {
        sys::napi_get_value_string_utf8(env.raw(), value.raw(), ptr::null_mut(), 0, &mut len)
    })
    .map_err(napi_err)?;
    budget.take_bytes(len, path)?;
    let mut buf = vec![0u8; len + 1];
    let copied = utf8(env, value, &mut buf).map_err(napi_err)?;
    buf.truncate(copied);
    Ok(String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The JS string `value` copied into `buf` by one Node-API call, or `None` when it may be
/// longer than `buf` holds. Most arguments, keys and names are short: measuring first and then
/// reading was three calls and a zeroed buffer for each.
pub fn short_string<'b>(
    env: &Env,
    value: Unknown,
    buf: &'b mut [u8; SHORT],
) -> napi::Result<Option<Cow<'b, str>>> {
    let copied = utf8(env, value, buf)?;
    // V8 keeps a byte for the NUL and stops before a character that does not fit (4 bytes at
    // most), so fewer than SHORT - 4 bytes copied is the whole string.
    if copied >= SHORT - 4 {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&buf[..copied])))
}

/// Copies the string `value` into `buf` as UTF-8, NUL-terminated, cut at a character that
/// does not fit; the bytes copied (the NUL not counted).
fn utf8(env: &Env, value: Unknown, buf: &mut [u8]) -> napi::Result<usize> {
    let mut copied = 0;
    // SAFETY: Node-API writes at most `buf.len()` bytes into `buf`.
    napi::check_status!(unsafe {
        sys::napi_get_value_string_utf8(
            env.raw(),
            value.raw(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut copied,
        )
    })?;
    Ok(copied.min(buf.len().saturating_sub(1)))
}

fn read<T: FromNapiValue>(env: &Env, value: Unknown) -> napi::Result<T> {
    unsafe { T::from_napi_value(env.raw(), value.raw()) }
}

/// Whole numbers become JSON integers (as in `JSON.stringify`), so `5` is not read as `5.0`.
fn number(n: f64) -> Option<Value> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Some(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Value::Number)
}

fn array(
    env: &Env,
    value: Unknown,
    path: &mut String,
    depth: usize,
    budget: &mut Budget,
) -> Result<Value, String> {
    let arr = Object::from_raw(env.raw(), value.raw());
    let len = arr
        .get_array_length()
        .map_err(|e| super::js::unreadable(env, path, &e))?;
    // Charged before the allocation: `length` says nothing about how many items exist.
    budget.take_values(len as usize, path)?;
    let mut out = Vec::with_capacity(len as usize);
    let base = path.len();
    for i in 0..len {
        path.push_str(&format!("[{i}]"));
        let item: Unknown = arr
            .get_element(i)
            .map_err(|e| super::js::unreadable(env, path, &e))?;
        out.push(walk(env, item, path, depth + 1, budget)?);
        path.truncate(base);
    }
    Ok(Value::Array(out))
}

fn object(
    env: &Env,
    value: Unknown,
    path: &mut String,
    depth: usize,
    budget: &mut Budget,
    skip: Option<&str>,
) -> Result<Value, String> {
    let obj = Object::from_raw(env.raw(), value.raw());
    let fail = |e: napi::Error, path: &str| super::js::unreadable(env, path, &e);
    let keys = obj
        .get_all_property_names(
            KeyCollectionMode::OwnOnly,
            KeyFilter::Enumerable,
            KeyConversion::NumbersToStrings,
        )
        .map_err(|e| fail(e, path))?;
    let len = keys.get_array_length().map_err(|e| fail(e, path))?;
    // Only what has no keys of its own can be a built-in JSON would empty: others pay nothing.
    if len == 0
        && let Some(kind) = built_in(env, &value).map_err(|e| fail(e, path))?
    {
        return Err(format!(
            "{path} is a {kind}, which JSON would send as {{}}; pass a plain object or array \
             (Object.fromEntries(map), [...set])"
        ));
    }
    budget.take_values(len as usize, path)?;
    let mut out = Map::new();
    let base = path.len();
    for i in 0..len {
        let js_key: Unknown = keys.get_element(i).map_err(|e| fail(e, path))?;
        // Symbol keys are invisible to JSON.stringify; skip them the same way.
        if !matches!(js_key.get_type(), Ok(ValueType::String)) {
            continue;
        }
        let key = string(env, js_key, path, budget)?;
        if skip == Some(key.as_str()) {
            continue;
        }
        path.push('.');
        // Paths go into error messages: a long key is named by its start.
        push_named(path, &key);
        // By the key V8 listed: naming it by its text would make V8 look the name up again.
        let item: Unknown = obj.get_property(js_key).map_err(|e| fail(e, path))?;
        // As in JSON.stringify, an undefined property is simply absent.
        if !matches!(item.get_type(), Ok(ValueType::Undefined)) {
            out.insert(key, walk(env, item, path, depth + 1, budget)?);
        }
        path.truncate(base);
    }
    Ok(Value::Object(out))
}

/// Dates travel as ISO strings, as `JSON.stringify` sends them.
fn date(value: Unknown) -> napi::Result<Value> {
    let obj = Object::from_raw(value.value().env, value.raw());
    let to_iso: Function<(), String> = obj.get_named_property("toISOString")?;
    Ok(Value::String(to_iso.apply(obj, ())?))
}
