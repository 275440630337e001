//! Bridging a JS `AbortSignal` to the core's `CancellationToken`. napi-rs has no AbortSignal
//! for async functions (and its task signal replaces `onabort`), so an `abort` listener is
//! added for the life of one call and removed when the call settles, so a long-lived signal
//! shared by many calls does not collect listeners.

use napi::bindgen_prelude::{
    Env, FnArgs, FromNapiValue, Function, JsObjectValue, JsValue, Object, ObjectRef, Result,
    Unknown, ValueType,
};
use tokio_util::sync::CancellationToken;

use super::js;

type EventListenerFn<'env> = Function<'env, FnArgs<(String, Unknown<'env>)>, Unknown<'env>>;

pub enum Signal<'env> {
    None,
    Aborted,
    Live(Object<'env>),
}

/// Reads `holder.signal`, without touching it.
pub fn read<'env>(
    env: &'env Env,
    holder: Option<&Unknown>,
) -> std::result::Result<Signal<'env>, String> {
    let Some(holder) = holder.filter(|h| matches!(h.get_type(), Ok(ValueType::Object))) else {
        return Ok(Signal::None);
    };
    let holder = Object::from_raw(env.raw(), holder.raw());
    let fail = |e: napi::Error| js::unreadable(env, "signal", &e);
    let signal: Unknown = holder.get_named_property("signal").map_err(fail)?;
    if js::is_nullish(&signal) {
        return Ok(Signal::None);
    }
    let not_a_signal = || "signal must be an AbortSignal".to_owned();
    if !matches!(signal.get_type(), Ok(ValueType::Object)) {
        return Err(not_a_signal());
    }
    let signal = Object::from_raw(env.raw(), signal.raw());
    let aborted: Unknown = signal.get_named_property("aborted").map_err(fail)?;
    if !matches!(aborted.get_type(), Ok(ValueType::Boolean)) {
        return Err(not_a_signal());
    }
    if unsafe { bool::from_napi_value(env.raw(), aborted.raw()) }.map_err(fail)? {
        return Ok(Signal::Aborted);
    }
    Ok(Signal::Live(signal))
}

/// An `abort` listener registered on a signal, to be removed once the call settles.
pub struct Listener {
    signal: ObjectRef<false>,
    listener: ObjectRef<false>,
}

/// A signal that could be listened to, or why not (its `addEventListener` threw).
pub type Listening<T> = std::result::Result<T, String>;

/// Cancels the returned token when `signal` aborts (which drops the in-flight request).
pub fn listen(env: &Env, signal: Object) -> Result<Listening<(CancellationToken, Listener)>> {
    let token = CancellationToken::new();
    let on_abort = token.clone();
    let listener = env.create_function_from_closure::<(), (), _>("pipedreamAbort", move |_| {
        on_abort.cancel();
        Ok(())
    })?;
    let listener = Object::from_raw(env.raw(), listener.raw());
    if let Err(e) = call_listener_method(&signal, "addEventListener", &listener) {
        return Ok(Err(js::unreadable(env, "signal", &e)));
    }
    let registered = Listener {
        signal: signal.create_ref()?,
        listener: listener.create_ref()?,
    };
    Ok(Ok((token, registered)))
}

/// `listen` when there is a live signal; otherwise a token nothing cancels.
pub fn listen_if(
    env: &Env,
    signal: Option<Object>,
) -> Result<Listening<(CancellationToken, Option<Listener>)>> {
    Ok(match signal {
        Some(s) => listen(env, s)?.map(|(token, listener)| (token, Some(listener))),
        None => Ok((CancellationToken::new(), None)),
    })
}

// Several JS arguments go in an `FnArgs`; a bare tuple would arrive as one array.
fn call_listener_method(signal: &Object, method: &str, listener: &Object) -> Result<()> {
    let f: EventListenerFn = signal.get_named_property(method)?;
    f.apply(
        *signal,
        FnArgs::from(("abort".to_owned(), listener.to_unknown())),
    )?;
    Ok(())
}

impl Listener {
    /// Removes the listener and releases both references. Best effort: a failure here must not
    /// turn a settled call into an error.
    pub fn detach(self, env: &Env) {
        if let (Ok(signal), Ok(listener)) =
            (self.signal.get_value(env), self.listener.get_value(env))
        {
            let _ = call_listener_method(&signal, "removeEventListener", &listener);
        }
        let _ = self.signal.unref(env);
        let _ = self.listener.unref(env);
    }
}
