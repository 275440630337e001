//! The Node-API surface: translation between JS values and the core, nothing else.

mod client;
mod emulator;
mod execute;
mod handoff;
mod js;
mod json;
mod logger;
mod manage;
mod options;
mod signal;
mod tools;
mod types;
mod webhooks;
