//! The Node-API surface: translation between JS values and the core, nothing else.

mod accounts;
mod client;
mod execute;
mod js;
mod json;
mod logger;
mod options;
mod signal;
mod tools;
mod types;
