//! The pure-Rust core: no Node-API types here, so `cargo test` covers it without Node.

pub mod api;
pub mod apps;
pub mod auth;
pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod http;
pub mod limiter;
pub mod pagination;
pub mod secret;
