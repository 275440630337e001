//! The runtime's handoff to a JS thread: calls' answers and log events, in the order they
//! happened, many per wake-up.
//!
//! napi-rs's `spawn_future_with_callback` costs each call a threadsafe function of its own
//! (created, registered as a cleanup hook, woken, closed on the next loop turn) and a second
//! Tokio task that only waits for the first to see whether it panicked. Here each JS thread has
//! one threadsafe function and one queue: a finished call or a log event is queued, the queue
//! wakes the JS thread only when it was empty, and the JS thread runs everything queued in one
//! callback. One queue for both keeps a call's log events ahead of its answer. The function
//! keeps the event loop alive only while calls are pending, as a promise per call did; log
//! events alone never do.

use std::cell::RefCell;
use std::ffi::c_void;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, RwLock};

use futures::FutureExt;
use napi::bindgen_prelude::{Env, JsValue, PromiseRaw, Result, Unknown};
use napi::{JsError, sys};

use super::execute::js_error;
use crate::engine::error::{Error, ErrorReport, panic_text};
use crate::engine::runtime::ACTIVITY;

type JsPromise<'env> = PromiseRaw<'env, Unknown<'env>>;

/// What the JS thread runs to settle one promise: its value, or the error it rejects with.
type Settle = Box<dyn for<'a> FnOnce(&'a Env) -> Result<Unknown<'a>> + Send>;

/// Runs `fut` on the runtime and settles the returned promise with `callback(env, output)` on
/// the JS thread. A panic in either, or a runtime that drops the task, rejects with an
/// `INTERNAL` error instead of leaving the promise pending.
pub fn spawn<'env, T, F, R>(env: &'env Env, fut: F, callback: R) -> Result<JsPromise<'env>>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
    R: for<'a> FnOnce(&'a Env, T) -> Result<Unknown<'a>> + Send + 'static,
{
    let shared = Local::shared(env)?;
    let mut deferred = std::ptr::null_mut();
    let mut promise = std::ptr::null_mut();
    // SAFETY: a plain Node-API call on the JS thread that called us.
    napi::check_status!(unsafe {
        sys::napi_create_promise(env.raw(), &mut deferred, &mut promise)
    })?;
    Local::started(env);
    let handover = ACTIVITY.call_started();
    let mut pending = Pending {
        shared,
        deferred: Deferred(deferred),
        done: false,
    };
    // Combinators, not an `async` block: a block would keep `fut` twice in the task (as the
    // block's capture and moved into `catch_unwind`), doubling every pending call's memory.
    napi::bindgen_prelude::spawn(AssertUnwindSafe(fut).catch_unwind().map(move |outcome| {
        let settle: Settle = match outcome {
            Ok(output) => Box::new(move |env| callback(env, output)),
            Err(panic) => internal(format!("the call panicked: {}", panic_text(&*panic))),
        };
        pending.finish(settle);
    }));
    drop(handover);
    Ok(PromiseRaw::new(env.raw(), promise))
}

fn internal(reason: String) -> Settle {
    Box::new(move |env| {
        let error = js_error(env, &ErrorReport::plain(&Error::Internal(reason)))?;
        Err(napi::Error::from(error.to_unknown()))
    })
}

/// A promise's deferred, only ever used on the JS thread that made it.
struct Deferred(sys::napi_deferred);

// SAFETY: the pointer is carried through the runtime untouched and dereferenced only by
// Node-API calls on the JS thread that created it (`drain`).
unsafe impl Send for Deferred {}

/// Work for the JS thread.
enum Job {
    Settle { deferred: Deferred, settle: Settle },
    Run(Box<dyn for<'a> FnOnce(&'a Env) + Send>),
}

/// A JS thread's queue, for work that is not a call's answer (log events).
#[derive(Clone)]
pub struct Queue(Arc<Shared>);

impl Queue {
    /// The queue of the JS thread `env` belongs to.
    pub fn of(env: &Env) -> Result<Self> {
        Local::shared(env).map(Self)
    }

    /// Runs `job` on that JS thread, after everything queued before it. Dropped if the thread's
    /// environment is gone.
    pub fn post(&self, job: impl for<'a> FnOnce(&'a Env) + Send + 'static) {
        self.0.push(Job::Run(Box::new(job)));
    }
}

/// A call under way. Dropped unfinished (the runtime shut down with the task in it), it still
/// queues a rejection, so the promise settles and the loop is let go.
struct Pending {
    shared: Arc<Shared>,
    deferred: Deferred,
    done: bool,
}

impl Pending {
    fn finish(&mut self, settle: Settle) {
        self.done = true;
        ACTIVITY.call_finished();
        let deferred = Deferred(std::mem::replace(
            &mut self.deferred.0,
            std::ptr::null_mut(),
        ));
        self.shared.push(Job::Settle { deferred, settle });
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            self.finish(internal(
                "the runtime stopped before the call finished".to_owned(),
            ));
        }
    }
}

/// The queue between the runtime and one JS thread.
struct Shared {
    /// `None` once the environment is torn down: Node frees the function then. Calls hold it
    /// shared (they never wait for one another), teardown exclusively.
    tsfn: RwLock<Option<Tsfn>>,
    /// Held only to push or take jobs, never across a system call: the JS thread takes it too.
    state: Mutex<State>,
}

struct State {
    queue: Vec<Job>,
    /// The JS thread has been woken and has not taken the queue yet.
    woken: bool,
}

#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: threadsafe functions are made to be called from any thread, at once; ref/unref,
// the only other uses, happen on the JS thread.
unsafe impl Send for Tsfn {}
unsafe impl Sync for Tsfn {}

impl Shared {
    fn push(&self, job: Job) {
        let Ok(tsfn) = self.tsfn.read() else { return };
        // After teardown there is no JS to settle: the promise went with its environment.
        let Some(tsfn) = *tsfn else { return };
        let wake = match self.state.lock() {
            Ok(mut state) => {
                state.queue.push(job);
                !std::mem::replace(&mut state.woken, true)
            }
            Err(_) => return,
        };
        if wake {
            // Still under the shared hold, so teardown cannot free the function meanwhile.
            // SAFETY: a live threadsafe function; nonblocking on an unbounded queue.
            let status = unsafe {
                sys::napi_call_threadsafe_function(
                    tsfn.0,
                    std::ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
            if status != sys::Status::napi_ok
                && let Ok(mut state) = self.state.lock()
            {
                // Not woken after all: the next push tries again.
                state.woken = false;
            }
        }
    }
}

/// This JS thread's end: the function, and how many calls are pending (the loop is kept alive
/// while any is).
struct Local {
    env: sys::napi_env,
    shared: Arc<Shared>,
    tsfn: Tsfn,
    pending: usize,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl Local {
    /// The queue of `env`'s thread, made on its first call.
    fn shared(env: &Env) -> Result<Arc<Shared>> {
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if let Some(l) = local.as_ref().filter(|l| l.env == env.raw()) {
                return Ok(l.shared.clone());
            }
            let made = Self::make(env)?;
            let shared = made.shared.clone();
            *local = Some(made);
            Ok(shared)
        })
    }

    fn make(env: &Env) -> Result<Self> {
        let shared = Arc::new(Shared {
            tsfn: RwLock::new(None),
            state: Mutex::new(State {
                queue: Vec::new(),
                woken: false,
            }),
        });
        let raw = env.raw();
        let name = env.create_string("pipedream-connect handoff")?;
        let context = Arc::into_raw(shared.clone()) as *mut c_void;
        let mut tsfn = std::ptr::null_mut();
        // SAFETY: Node-API calls on the JS thread. The function has no JS callee (`drain` does
        // the work); its context, one count of `shared`, is released by `finalize`.
        unsafe {
            if let Err(e) = napi::check_status!(sys::napi_create_threadsafe_function(
                raw,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                name.raw(),
                0,
                1,
                context,
                Some(finalize),
                context,
                Some(drain),
                &mut tsfn,
            )) {
                drop(Arc::from_raw(context as *const Shared));
                return Err(e);
            }
            // Idle, it must not keep the process alive.
            sys::napi_unref_threadsafe_function(raw, tsfn);
            // Registered after the function, so it runs before Node's own teardown of it.
            let hook = Arc::into_raw(shared.clone()) as *mut c_void;
            sys::napi_add_env_cleanup_hook(raw, Some(teardown), hook);
        }
        if let Ok(mut slot) = shared.tsfn.write() {
            *slot = Some(Tsfn(tsfn));
        }
        Ok(Self {
            env: raw,
            shared,
            tsfn: Tsfn(tsfn),
            pending: 0,
        })
    }

    /// One more pending call: the first holds the loop open.
    fn started(env: &Env) {
        LOCAL.with(|local| {
            if let Some(l) = local.borrow_mut().as_mut() {
                l.pending += 1;
                if l.pending == 1 {
                    // SAFETY: on the JS thread that owns the function.
                    unsafe { sys::napi_ref_threadsafe_function(env.raw(), l.tsfn.0) };
                }
            }
        });
    }

    /// `n` calls settled: with none left, the loop is let go.
    fn settled(env: sys::napi_env, n: usize) {
        LOCAL.with(|local| {
            if let Some(l) = local.borrow_mut().as_mut().filter(|l| l.env == env) {
                l.pending = l.pending.saturating_sub(n);
                if l.pending == 0 {
                    // SAFETY: on the JS thread that owns the function.
                    unsafe { sys::napi_unref_threadsafe_function(env, l.tsfn.0) };
                }
            }
        });
    }
}

/// The JS thread's side: runs everything queued, each job in its own handle scope.
unsafe extern "C" fn drain(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    // A null env: the function is being torn down and nothing can be settled.
    if env.is_null() || context.is_null() {
        return;
    }
    // SAFETY: `context` is the `Shared` this function was made with, alive until `finalize`.
    let shared = unsafe { &*(context as *const Shared) };
    let batch = match shared.state.lock() {
        Ok(mut state) => {
            state.woken = false;
            std::mem::take(&mut state.queue)
        }
        Err(_) => return,
    };
    let js = Env::from_raw(env);
    let mut settled = 0;
    for job in batch {
        // SAFETY: Node-API calls on the JS thread, for a deferred made on it.
        unsafe {
            let mut scope = std::ptr::null_mut();
            sys::napi_open_handle_scope(env, &mut scope);
            match job {
                Job::Settle { deferred, settle } => {
                    settled += 1;
                    let outcome =
                        catch_unwind(AssertUnwindSafe(|| settle(&js))).unwrap_or_else(|panic| {
                            internal(format!(
                                "settling the call panicked: {}",
                                panic_text(&*panic)
                            ))(&js)
                        });
                    match outcome {
                        Ok(value) => sys::napi_resolve_deferred(env, deferred.0, value.raw()),
                        // What JS threw while settling (`JSON.parse` of an answer that is no
                        // JSON) rejects the call: left pending, it would make every Node-API
                        // call here fail, the promise would never settle, and Node would report
                        // it uncaught.
                        Err(e) => {
                            let reason = super::js::take_pending_exception(&js)
                                .unwrap_or_else(|| JsError::from(e).into_value(env));
                            sys::napi_reject_deferred(env, deferred.0, reason)
                        }
                    };
                }
                Job::Run(run) => {
                    let _ = catch_unwind(AssertUnwindSafe(|| run(&js)));
                    // What a job's JS threw (a logger) is not the next job's problem.
                    super::js::clear_pending_exception(&js);
                }
            }
            sys::napi_close_handle_scope(env, scope);
        }
    }
    if settled > 0 {
        Local::settled(env, settled);
    }
}

/// The environment is going away: no call may reach its function after this.
unsafe extern "C" fn teardown(hook: *mut c_void) {
    // SAFETY: the count of `Shared` taken for this hook in `Local::make`.
    let shared = unsafe { Arc::from_raw(hook as *const Shared) };
    if let Ok(mut slot) = shared.tsfn.write() {
        *slot = None;
    }
    if let Ok(mut state) = shared.state.lock() {
        state.queue.clear();
    }
    LOCAL.with(|local| {
        if let Ok(mut local) = local.try_borrow_mut() {
            *local = None;
        }
    });
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the count of `Shared` given to the function as its context.
    drop(unsafe { Arc::from_raw(data as *const Shared) });
}
