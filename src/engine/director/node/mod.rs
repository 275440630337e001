//! The `pipedream_connect` workflow node: its config and context, validation before anything is
//! sent, the run (once, or replayed by idempotency key), and what the workflow keeps.

pub mod coerce;
pub mod execute;
pub mod idempotency;
pub mod results;
pub mod shared_idempotency;
pub mod validate;
