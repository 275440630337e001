//! `executeBatch`'s answer, `[{ status, value } | { status, reason }]`, filled in on the JS
//! thread in chunks while the batch runs.
//!
//! Converting a thousand answers after the last run (one `JSON.parse` and an object each) kept
//! the JS thread busy for about 3 ms in which nothing else could happen; the runtime and the
//! API had nothing left to do. In chunks, that work overlaps the runs still under way, and
//! only the last chunk is left for the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{Env, JsObjectValue, JsValue, Object, Result, Unknown};
use napi::sys;

use super::execute::js_error;
use super::handoff::Queue;
use super::js;
use crate::engine::error::ErrorReport;

/// Answers converted per wake-up of the JS thread: few enough that the last chunk is quick,
/// many enough that a thousand items wake it a few dozen times, not a thousand.
const CHUNK: usize = 64;

type Outcome = std::result::Result<String, ErrorReport>;

/// The JS array, held by a reference until the batch settles.
pub struct Outcomes {
    array: sys::napi_ref,
    /// The first failure of a chunk's conversion: the batch rejects with it rather than
    /// resolving with holes.
    failed: Mutex<Option<napi::Error>>,
    /// Whether `finish` let go of the reference; if not (the batch panicked and was rejected
    /// without it), dropping lets go of it on the JS thread.
    finished: AtomicBool,
    queue: Queue,
}

// SAFETY: the reference is carried through the runtime untouched, and it and a recorded
// failure (which may hold a JS value) are used only on the JS thread that made the batch
// (`fill`, `finish`, and the jobs the queue runs there).
unsafe impl Send for Outcomes {}
unsafe impl Sync for Outcomes {}

/// Outcomes as the runtime gathers them; each full chunk goes to the JS thread.
pub struct Gatherer {
    outcomes: Arc<Outcomes>,
    ready: Vec<(usize, Outcome)>,
}

impl Outcomes {
    /// An array of `len` items on `env`'s JS thread, and the gatherer that fills it.
    pub fn new(env: &Env, len: usize) -> Result<(Arc<Self>, Gatherer)> {
        let queue = Queue::of(env)?;
        let array = env.create_array(len as u32)?;
        let mut reference = std::ptr::null_mut();
        // SAFETY: a plain Node-API call on the JS thread, for a value of this scope.
        napi::check_status!(unsafe {
            sys::napi_create_reference(env.raw(), array.raw(), 1, &mut reference)
        })?;
        let outcomes = Arc::new(Self {
            array: reference,
            failed: Mutex::new(None),
            finished: AtomicBool::new(false),
            queue,
        });
        let gatherer = Gatherer {
            outcomes: outcomes.clone(),
            ready: Vec::with_capacity(CHUNK),
        };
        Ok((outcomes, gatherer))
    }

    fn array<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let mut value = std::ptr::null_mut();
        // SAFETY: the reference is alive until `finish`, and this is its JS thread.
        napi::check_status!(unsafe {
            sys::napi_get_reference_value(env.raw(), self.array, &mut value)
        })?;
        Ok(Object::from_raw(env.raw(), value))
    }

    fn fill(&self, env: &Env, chunk: Vec<(usize, Outcome)>) -> Result<()> {
        let mut array = self.array(env)?;
        for (i, outcome) in chunk {
            let mut entry = Object::new(env)?;
            match outcome {
                Ok(json) => {
                    entry.set_named_property("status", "fulfilled")?;
                    entry.set_named_property("value", js::parse(env, &json)?)?;
                }
                Err(report) => {
                    entry.set_named_property("status", "rejected")?;
                    entry.set_named_property("reason", js_error(env, &report)?)?;
                }
            }
            array.set_element(i as u32, entry)?;
        }
        Ok(())
    }

    /// The whole array, once the last chunk is in; the reference is let go either way.
    pub fn finish<'env>(
        &self,
        env: &'env Env,
        last: Vec<(usize, Outcome)>,
    ) -> Result<Unknown<'env>> {
        let outcome = self.fill(env, last).and_then(|()| self.array(env));
        // SAFETY: the reference's last use, on its JS thread.
        unsafe { sys::napi_delete_reference(env.raw(), self.array) };
        self.finished.store(true, Ordering::Release);
        if let Some(e) = self.failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        outcome.map(|array| array.to_unknown())
    }
}

impl Drop for Outcomes {
    fn drop(&mut self) {
        if self.finished.load(Ordering::Acquire) {
            return;
        }
        let array = Reference(self.array);
        self.queue.post(move |env| array.delete(env));
    }
}

/// A reference on its way back to its JS thread.
struct Reference(sys::napi_ref);

// SAFETY: carried untouched, used only by the job on its JS thread.
unsafe impl Send for Reference {}

impl Reference {
    fn delete(self, env: &Env) {
        // SAFETY: never deleted by `finish`, and this runs on the reference's JS thread (a job
        // dropped with its environment instead leaves it to the environment's own cleanup).
        unsafe { sys::napi_delete_reference(env.raw(), self.0) };
    }
}

impl Gatherer {
    /// Takes one outcome; a full chunk goes to the JS thread now.
    pub fn push(&mut self, index: usize, outcome: Outcome) {
        self.ready.push((index, outcome));
        if self.ready.len() < CHUNK {
            return;
        }
        let chunk = std::mem::replace(&mut self.ready, Vec::with_capacity(CHUNK));
        let outcomes = self.outcomes.clone();
        self.outcomes.queue.post(move |env| {
            if let Err(e) = outcomes.fill(env, chunk)
                && let Ok(mut failed) = outcomes.failed.lock()
            {
                failed.get_or_insert(e);
            }
        });
    }

    /// The outcomes not yet sent, for `Outcomes::finish`.
    pub fn rest(self) -> Vec<(usize, Outcome)> {
        self.ready
    }
}
