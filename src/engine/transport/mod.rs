//! How a request reaches Pipedream: the HTTP client, auth, the shared limiter, retries, the
//! response cache, pagination, and the shared store that instances coordinate through.
//! Nothing here knows a Connect resource.

pub mod api;
pub mod auth;
pub mod cache;
pub mod connector;
pub mod deadline;
pub mod http;
pub mod limiter;
pub mod pagination;
pub mod request;
pub mod retry;
pub mod shared_cache;
pub mod shared_limit;
pub mod shared_token;
pub mod store;
pub mod tls;
