//! The pure-Rust core: no Node-API types here, so `cargo test` covers it without Node.
//! Arrows run one way: `client` → `director` → `connect` → `transport`, all over the base
//! modules (`config`, `error`, `args`, `json`, `secret`, `hash`, `events`, `stats`), and
//! `runtime`, the shape of the Tokio runtime the binding hands to Node-API.

pub mod args;
pub mod client;
pub mod config;
pub mod connect;
pub mod director;
pub mod error;
pub mod events;
pub mod hash;
pub mod json;
pub mod runtime;
pub mod secret;
pub mod stats;
pub mod transport;
