//! `@director/pipedream-connect`: a native Pipedream Connect client for Director.
//!
//! `engine` is plain Rust (HTTP, auth, cache, limiter, discovery); `binding` adapts it to
//! Node-API and generates `index.d.ts`.

// napi-derive registers exports only outside `cfg(test)`, so in unit-test builds the paths
// reached only from JS look unused.
#![cfg_attr(test, allow(dead_code))]

mod binding;
mod engine;
