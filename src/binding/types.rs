//! The shapes of arguments and results as `index.d.ts` declares them. Results are built in the
//! core and arrive as JSON (see `js.rs`), so these structs exist for the type definitions and
//! their documentation; `__test__/shapes.test.js` checks the runtime keys against them.
#![allow(dead_code)]

use napi_derive::napi;

/// Arguments of `searchServices`.
#[napi(object, object_from_js = false)]
pub struct SearchServicesArgs {
    /// Words to look for in app names, slugs and descriptions, e.g. `"gmail"` or `"crm"`.
    pub query: String,
    /// Most services to return, 1 to 100. Default 20.
    pub limit: Option<u32>,
}

/// One app (service) that Pipedream Connect can automate.
#[napi(object, object_from_js = false)]
pub struct Service {
    /// The app's slug: pass it to `getComponents` and use it in component ids.
    #[napi(js_name = "app_slug")]
    pub app_slug: String,
    pub name: String,
    pub description: String,
    #[napi(js_name = "logo_url")]
    pub logo_url: Option<String>,
    pub categories: Vec<String>,
    /// `oauth`, `keys` or `none`.
    #[napi(js_name = "auth_type")]
    pub auth_type: Option<String>,
}

/// The answer to `searchServices`. It never rejects: on failure `services` is empty, `error`
/// holds a stable code and `message` says what to do.
#[napi(object, object_from_js = false)]
pub struct SearchServicesResult {
    pub query: String,
    pub services: Vec<Service>,
    /// How many apps match in all (may exceed `services.length`).
    #[napi(js_name = "total_found")]
    pub total_found: u32,
    /// A sentence for the LLM: what was found and the next step, or what went wrong.
    pub message: String,
    /// A `PIPEDREAM_*` error code when the search failed.
    pub error: Option<String>,
    /// Whether the answer came from the cache (absent on errors).
    pub cached: Option<bool>,
}
