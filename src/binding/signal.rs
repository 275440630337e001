//! Bridging a JS `AbortSignal` to the core's `CancellationToken`. napi-rs has no AbortSignal
//! for async functions (and its task signal replaces `onabort`), so an `abort` listener is
//! added while calls on the signal are in flight, one for all of them, and removed when the
//! last settles: a long-lived signal shared by many calls does not collect listeners.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;

use napi::bindgen_prelude::{
    Env, FnArgs, FromNapiValue, Function, JsObjectValue, JsValue, Object, ObjectRef, Result,
    ToNapiValue, Unknown, ValueType,
};
use napi::sys;
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

/// A call's share of its signal's `abort` listener, given up once the call settles.
pub struct Listener {
    fan: u32,
}

/// A signal that could be listened to, or why not (its `addEventListener` threw).
pub type Listening<T> = std::result::Result<T, String>;

/// The calls in flight on one signal. They share one `abort` listener: a listener per call
/// made Node warn (`MaxListenersExceededWarning`) once eleven calls shared a signal, and
/// `addEventListener` looks through the listeners already there, so thousands of calls on one
/// signal cost time that grew with their number.
struct Fan {
    /// Cancelled by the listener; each call's token is a child of it.
    aborted: CancellationToken,
    calls: usize,
    signal: ObjectRef<false>,
    listener: ObjectRef<false>,
}

/// This JS thread's fans, found from a signal through a `WeakMap` of signal → fan number, so
/// that the core never keeps a signal alive or compares signals one by one.
struct Fans {
    env: sys::napi_env,
    by_signal: ObjectRef<false>,
    get: ObjectRef<false>,
    set: ObjectRef<false>,
    delete: ObjectRef<false>,
    fans: HashMap<u32, Fan>,
    next: u32,
}

thread_local! {
    static FANS: RefCell<Option<Fans>> = const { RefCell::new(None) };
}

/// Cancels the returned token when `signal` aborts (which drops the in-flight request).
pub fn listen(env: &Env, signal: Object) -> Result<Listening<(CancellationToken, Listener)>> {
    let map = Fans::map(env)?;
    // No borrow of `FANS` is held while JS runs (a duck-typed signal's methods could call
    // back into this module).
    let found = map.get(env, &signal)?;
    let joined = found.and_then(|fan| {
        FANS.with_borrow_mut(|fans| {
            let entry = fans.as_mut()?.fans.get_mut(&fan)?;
            entry.calls += 1;
            Some((entry.aborted.child_token(), Listener { fan }))
        })
    });
    if let Some(joined) = joined {
        return Ok(Ok(joined));
    }
    let aborted = CancellationToken::new();
    let on_abort = aborted.clone();
    let listener = env.create_function_from_closure::<(), (), _>("pipedreamAbort", move |_| {
        on_abort.cancel();
        Ok(())
    })?;
    let listener = Object::from_raw(env.raw(), listener.raw());
    if let Err(e) = call_listener_method(&signal, "addEventListener", &listener) {
        return Ok(Err(js::unreadable(env, "signal", &e)));
    }
    let token = aborted.child_token();
    let fan = Fan {
        aborted,
        calls: 1,
        signal: signal.create_ref()?,
        listener: listener.create_ref()?,
    };
    let number = FANS.with_borrow_mut(|fans| {
        let fans = fans.as_mut()?;
        let number = fans.next;
        fans.next = fans.next.wrapping_add(1);
        fans.fans.insert(number, fan);
        Some(number)
    });
    let Some(number) = number else {
        return Err(napi::Error::from_reason("the signal's listeners were lost"));
    };
    map.set(env, &signal, number)?;
    Ok(Ok((token, Listener { fan: number })))
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
    /// Gives up this call's share; the last call on a signal removes the listener. Best
    /// effort: a failure here must not turn a settled call into an error.
    pub fn detach(self, env: &Env) {
        let last = FANS.with_borrow_mut(|fans| {
            let fans = fans.as_mut().filter(|f| f.env == env.raw())?;
            let fan = fans.fans.get_mut(&self.fan)?;
            fan.calls -= 1;
            if fan.calls == 0 {
                fans.fans.remove(&self.fan)
            } else {
                None
            }
        });
        let Some(fan) = last else { return };
        if let (Ok(signal), Ok(listener)) = (fan.signal.get_value(env), fan.listener.get_value(env))
        {
            let _ = call_listener_method(&signal, "removeEventListener", &listener);
            if let Ok(map) = Fans::map(env) {
                map.forget(env, &signal, self.fan);
            }
        }
        let _ = fan.signal.unref(env);
        let _ = fan.listener.unref(env);
    }
}

/// The `WeakMap` of this thread's fans, with its own methods (read once, so a script that
/// later replaces `WeakMap.prototype`'s cannot see the signals).
struct Map<'env> {
    by_signal: Object<'env>,
    get: Object<'env>,
    set: Object<'env>,
    delete: Object<'env>,
}

impl Fans {
    fn map(env: &Env) -> Result<Map<'_>> {
        let made = FANS.with_borrow(|fans| fans.as_ref().is_some_and(|f| f.env == env.raw()));
        if !made {
            let fans = Self::make(env)?;
            FANS.set(Some(fans));
            // SAFETY: a Node-API call on the JS thread of `env`; the hook's argument is the
            // env itself, compared, never dereferenced.
            unsafe {
                sys::napi_add_env_cleanup_hook(env.raw(), Some(forget_fans), env.raw().cast())
            };
        }
        FANS.with_borrow(|fans| {
            let f = fans
                .as_ref()
                .ok_or_else(|| napi::Error::from_reason("no signal map"))?;
            Ok(Map {
                by_signal: f.by_signal.get_value(env)?,
                get: f.get.get_value(env)?,
                set: f.set.get_value(env)?,
                delete: f.delete.get_value(env)?,
            })
        })
    }

    fn make(env: &Env) -> Result<Self> {
        let weak_map: Function<(), Unknown> = env.get_global()?.get_named_property("WeakMap")?;
        let by_signal = weak_map.new_instance(())?;
        let by_signal = Object::from_raw(env.raw(), by_signal.raw());
        let method = |name: &str| -> Result<ObjectRef<false>> {
            let f: Function<Unknown, Unknown> = by_signal.get_named_property(name)?;
            Object::from_raw(env.raw(), f.raw()).create_ref()
        };
        Ok(Self {
            env: env.raw(),
            get: method("get")?,
            set: method("set")?,
            delete: method("delete")?,
            by_signal: by_signal.create_ref()?,
            fans: HashMap::new(),
            next: 0,
        })
    }
}

/// The env is going away, and its references with it.
unsafe extern "C" fn forget_fans(env: *mut c_void) {
    let _ = FANS.try_with(|fans| {
        let mut fans = fans.borrow_mut();
        if fans.as_ref().is_some_and(|f| f.env.cast() == env) {
            // Its references are not released one by one: they go with the env.
            *fans = None;
        }
    });
}

impl Map<'_> {
    fn call(&self, env: &Env, f: &Object, args: &[sys::napi_value]) -> Result<Unknown<'_>> {
        let mut value = std::ptr::null_mut();
        // SAFETY: Node-API calls on the JS thread of `env`, with handles of this scope.
        unsafe {
            napi::check_status!(sys::napi_call_function(
                env.raw(),
                self.by_signal.raw(),
                f.raw(),
                args.len(),
                args.as_ptr(),
                &mut value,
            ))?;
            Unknown::from_napi_value(env.raw(), value)
        }
    }

    /// The fan `signal` has, if any.
    fn get(&self, env: &Env, signal: &Object) -> Result<Option<u32>> {
        let found = self.call(env, &self.get, &[signal.raw()])?;
        if !matches!(found.get_type(), Ok(ValueType::Number)) {
            return Ok(None);
        }
        // SAFETY: a number this map was given.
        Ok(Some(unsafe {
            u32::from_napi_value(env.raw(), found.raw())
        }?))
    }

    fn set(&self, env: &Env, signal: &Object, fan: u32) -> Result<()> {
        // SAFETY: a Node-API call on the JS thread of `env`.
        let number = unsafe { u32::to_napi_value(env.raw(), fan) }?;
        self.call(env, &self.set, &[signal.raw(), number])?;
        Ok(())
    }

    /// Forgets `signal` if its fan is still `fan` (and not one made after it).
    fn forget(&self, env: &Env, signal: &Object, fan: u32) {
        if matches!(self.get(env, signal), Ok(Some(f)) if f == fan) {
            let _ = self.call(env, &self.delete, &[signal.raw()]);
        }
    }
}
