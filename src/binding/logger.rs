//! The `logger` option: core events handed to a JS function through a weak, non-blocking
//! threadsafe function, so logging never stalls a call and never keeps Node alive.

use napi::bindgen_prelude::{Function, Result};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use serde_json::Value;

use crate::engine::events::EventSink;

type LogFn = ThreadsafeFunction<Value, (), Value, napi::Status, false, true>;

pub struct JsLogger(LogFn);

impl JsLogger {
    pub fn new(f: &Function<Value, ()>) -> Result<Self> {
        let tsfn = f
            .build_threadsafe_function::<Value>()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(Self(tsfn))
    }
}

impl EventSink for JsLogger {
    fn emit(&self, event: Value) {
        // A torn-down environment drops the event: logging must never fail a call.
        let _ = self.0.call(event, ThreadsafeFunctionCallMode::NonBlocking);
    }
}
