//! The `logger` option: core events handed to a JS function on the JS thread's handoff queue,
//! so logging never stalls a call, never keeps Node alive, and a call's events reach the
//! logger before its promise settles.

use std::sync::Arc;

use napi::bindgen_prelude::{Env, Function, JsValue, Result, ToNapiValue};
use napi::sys;
use serde_json::Value;

use super::handoff::Queue;
use crate::engine::events::EventSink;

pub struct JsLogger {
    queue: Queue,
    func: Arc<FnRef>,
}

/// A reference to the logger function, used and deleted only on its JS thread.
struct FnRef(sys::napi_ref);

// SAFETY: the reference is only read or deleted by jobs on the handoff queue, which run on the
// JS thread that made it.
unsafe impl Send for FnRef {}
unsafe impl Sync for FnRef {}

impl JsLogger {
    pub fn new(env: &Env, f: &Function<Value, ()>) -> Result<Self> {
        let queue = Queue::of(env)?;
        let mut func = std::ptr::null_mut();
        // Weak (count 0): `index.js`'s client holds the function. A strong reference here is a
        // root the garbage collector cannot see through, so a logger that reaches its client
        // kept both alive for good. A collected logger gets no more events.
        // SAFETY: a plain Node-API call on the JS thread, for a live function value.
        napi::check_status!(unsafe {
            sys::napi_create_reference(env.raw(), f.raw(), 0, &mut func)
        })?;
        Ok(Self {
            queue,
            func: Arc::new(FnRef(func)),
        })
    }
}

impl EventSink for JsLogger {
    fn emit(&self, event: Value) {
        let func = self.func.clone();
        self.queue.post(move |env| {
            let raw = env.raw();
            // SAFETY: Node-API calls on the JS thread the reference belongs to. A failure drops
            // the event: logging must never fail a call. What the logger throws is cleared by
            // the queue.
            unsafe {
                let mut f = std::ptr::null_mut();
                if sys::napi_get_reference_value(raw, func.0, &mut f) != sys::Status::napi_ok
                    || f.is_null()
                {
                    return;
                }
                let Ok(arg) = Value::to_napi_value(raw, event) else {
                    return;
                };
                let mut this = std::ptr::null_mut();
                sys::napi_get_undefined(raw, &mut this);
                let mut result = std::ptr::null_mut();
                sys::napi_call_function(raw, this, f, 1, &arg, &mut result);
            }
        });
    }
}

impl Drop for JsLogger {
    fn drop(&mut self) {
        // After every event already queued; with the environment gone, the reference went too.
        let func = self.func.clone();
        self.queue.post(move |env| {
            // SAFETY: on the JS thread the reference belongs to, after its last use.
            unsafe { sys::napi_delete_reference(env.raw(), func.0) };
        });
    }
}
