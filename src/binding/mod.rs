//! The Node-API surface: translation between JS values and the core, nothing else.

mod bound;
mod client;
mod emulator;
mod execute;
mod handoff;
mod js;
mod json;
mod logger;
mod manage;
mod options;
mod outcomes;
mod signal;
mod tools;
mod types;
mod webhooks;

/// The shared runtime, shaped by the core (`engine::runtime`). Each Node env (a worker thread)
/// loads the module again; the runtime is made once per process. If it cannot be made,
/// napi-rs makes its default one.
#[napi_derive::module_init]
fn init_runtime() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(runtime) = crate::engine::runtime::build() {
            napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
        }
    });
}
