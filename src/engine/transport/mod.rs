//! How a request reaches Pipedream: the HTTP client, auth, the shared limiter, retries, the
//! response cache and pagination. Nothing here knows a Connect resource.

pub mod api;
pub mod auth;
pub mod cache;
pub mod http;
pub mod limiter;
pub mod pagination;
pub mod retry;
