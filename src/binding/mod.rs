//! The Node-API surface: translation between JS values and the core, nothing else.

mod client;
mod js;
mod json;
mod options;
mod tools;
mod types;
