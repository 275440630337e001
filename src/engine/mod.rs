//! The pure-Rust core: no Node-API types here, so `cargo test` covers it without Node.

pub mod accounts;
pub mod api;
pub mod apps;
pub mod args;
pub mod auth;
pub mod budget;
pub mod cache;
pub mod client;
pub mod components;
pub mod config;
pub mod configure;
pub mod director;
pub mod discovery;
pub mod error;
pub mod events;
pub mod execute;
pub mod http;
pub mod limiter;
pub mod operation;
pub mod pagination;
pub mod results;
pub mod schema;
pub mod secret;
pub mod stats;
pub mod tools;
pub mod validate;
