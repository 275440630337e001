//! `@director/pipedream-connect`: a native Pipedream Connect client for Director.
//!
//! `engine` is plain Rust (HTTP, auth, cache, limiter, discovery); `binding` adapts it to
//! Node-API and generates `index.d.ts`.

// napi-derive registers exports only outside `cfg(test)`, so in unit-test builds the paths
// reached only from JS look unused.
#![cfg_attr(test, allow(dead_code))]

mod binding;
mod engine;

/// The core's own allocations (not Node's: the symbols are prefixed) go to jemalloc on Linux
/// x64 glibc. glibc's `malloc` was about a quarter of process CPU at c=64, much of it arena
/// locks taken when the JS thread frees what a runtime worker allocated, and its arenas kept
/// fragments the RSS growth row counted. Initial-exec TLS is off, as a `dlopen`ed library
/// needs. Not on aarch64, whose kernels may use 64 KB pages a 4 KB build refuses, nor where it
/// was not built and measured.
#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
