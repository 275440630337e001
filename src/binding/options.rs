//! The options object of `new PipedreamClient(options)`, as JS sees it. Numbers are `f64` so
//! that a fractional or negative value reaches the core's range checks, which name the option,
//! instead of failing in a generic conversion.

use napi::bindgen_prelude::Function;
use napi_derive::napi;

use crate::engine::config as core;
use crate::engine::secret::Secret;

/// Options for `new PipedreamClient(options)`. Every field is optional and falls back to an
/// environment variable, then to a default.
#[napi(object, object_to_js = false)]
pub struct ClientOptions<'env> {
    /// Connect API base URL. Env `PIPEDREAM_BASE_URL`; default `https://api.pipedream.com`.
    pub base_url: Option<String>,
    /// Project id (`proj_…`), needed for project-scoped calls. Env `PIPEDREAM_PROJECT_ID`.
    pub project_id: Option<String>,
    /// Sent as `x-pd-environment`. Env `PIPEDREAM_PROJECT_ENVIRONMENT`; default `production`.
    #[napi(ts_type = "'development' | 'production'")]
    pub environment: Option<String>,
    /// OAuth client id (client credentials grant). Env `PIPEDREAM_CLIENT_ID`.
    pub client_id: Option<String>,
    /// OAuth client secret. Env `PIPEDREAM_CLIENT_SECRET`. Never logged or echoed.
    pub client_secret: Option<String>,
    /// A static bearer token; wins over client credentials. Env `PIPEDREAM_API_TOKEN`.
    pub token: Option<String>,
    /// The Director user whose connected accounts are used when a call names none.
    /// Env `PIPEDREAM_EXTERNAL_USER_ID`.
    pub external_user_id: Option<String>,
    /// `false` turns every call into a `PIPEDREAM_DISABLED` error. Env `PIPEDREAM_ENABLED`; default true.
    pub enabled: Option<bool>,
    /// Discovery cache.
    pub cache: Option<CacheOptions>,
    /// Client-side rate limits, shared by all clients of one base URL and project.
    pub rate_limit: Option<RateLimitOptions>,
    /// Per-request timeout in milliseconds (1 to 600000). Default 60000, as the official SDK.
    pub timeout_ms: Option<f64>,
    /// The longest a whole call may take, every request and retry in it, in ms. Default
    /// 120000. An execution past it rejects with `PIPEDREAM_TIMEOUT` (and `maybe_executed`
    /// when the run request had been sent).
    pub deadline_ms: Option<f64>,
    /// Response bodies larger than this many bytes stop being read and fail with
    /// `PIPEDREAM_BAD_RESPONSE`. Default 10485760 (10 MB).
    pub max_response_bytes: Option<f64>,
    /// Most connections open to the API at once; further requests wait for one to be free.
    /// Default 64: Pipedream's published limits (about 27 requests a second across all
    /// endpoint classes per project) keep fewer than that busy at the latencies actions have.
    pub max_connections: Option<f64>,
    /// Allow a plain-http `baseUrl` on a host other than this machine. Default false.
    pub allow_insecure_http: Option<bool>,
    /// Retries of failed requests.
    pub retry: Option<RetryOptions>,
    /// Replay of executions by `context.idempotencyKey`.
    pub idempotency: Option<IdempotencyOptions>,
    /// Receives structured events (discovery calls, executions, auth attempts) with names,
    /// codes and timings only: never a credential or a param value. Called asynchronously;
    /// it never blocks a call and never keeps Node alive.
    ///
    /// A function, or a logger object with `debug`/`info`/`warn`/`error` methods (console, pino,
    /// winston): each event goes to the method of its `level`.
    #[napi(ts_type = "((event: LogEvent) => void) | LoggerObject")]
    pub logger: Option<Function<'env, serde_json::Value, ()>>,
    /// The least level passed to the `logger`: `'debug'`, `'info'`, `'warn'` or `'error'`.
    /// Default `'debug'` (every event) for a function, `'info'` for a logger object. Retries
    /// are `warn`; failed executions `error`, other failures `warn`; executions `info`;
    /// discovery calls and token requests `debug`.
    #[napi(ts_type = "'debug' | 'info' | 'warn' | 'error'")]
    pub log_level: Option<String>,
    /// Where state shared by several instances of Director lives (several processes,
    /// containers or workers with one Pipedream project). Without it every limit is kept in
    /// this process, as before.
    pub store: Option<StoreOptions>,
}

/// The shared store.
#[napi(object, object_to_js = false)]
pub struct StoreOptions {
    /// Redis (≥ 6.2) holds what every instance shares: the rate limits and 429 pauses,
    /// idempotency keys, the OAuth token (sealed) and the discovery cache's second level.
    pub redis: Option<RedisStoreOptions>,
}

/// A Redis every instance reaches. When it does not answer within `timeoutMs`, calls go on
/// with local limits at quota ÷ `expectedInstances`, this process's idempotency keys, token
/// and cache; one warning is logged and `getStats().store` says so, until it answers again. No
/// call fails because of it.
#[napi(object, object_to_js = false)]
pub struct RedisStoreOptions {
    /// `redis://[user:password@]host[:port][/db]`, `rediss://…` for TLS, or `redis+unix://`.
    /// Env `PIPEDREAM_REDIS_URL`. Never logged or echoed.
    pub url: Option<String>,
    /// Put before every key this client writes. Default `pdc:`.
    pub key_prefix: Option<String>,
    /// How many instances share the project's budget: each falls back to quota ÷ this while
    /// Redis is away. 1 to 10000, default 1.
    pub expected_instances: Option<f64>,
    /// The longest one Redis call may take before the call goes on with local limits, in ms.
    /// 1 to 60000, default 50.
    pub timeout_ms: Option<f64>,
}

/// Reads (apps, components, accounts, tokens, configure, reload) are retried on connection
/// errors, timeouts, 408, 429 and 5xx, with exponential backoff and jitter, honouring
/// `Retry-After` and `X-RateLimit-Reset`. An action run is retried only when it certainly did
/// not run (no connection was made, or a 429).
#[napi(object, object_to_js = false)]
pub struct RetryOptions {
    /// Most retries after the first attempt, 0 to 20. Default 3.
    pub max_retries: Option<f64>,
    /// Longest wait between attempts, in ms; also caps `Retry-After`. Default 60000.
    pub max_delay_ms: Option<f64>,
    /// First backoff delay, in ms (doubling after). Default 500.
    pub min_delay_ms: Option<f64>,
}

#[napi(object, object_to_js = false)]
pub struct IdempotencyOptions {
    /// How long a run's answer is replayed for its key, in ms. Default 86400000 (24 h).
    pub ttl_ms: Option<f64>,
}

#[napi(object, object_to_js = false)]
pub struct CacheOptions {
    /// How long an answer is reused, in ms (0 turns caching off). Default 300000 (5 min).
    pub ttl_ms: Option<f64>,
    /// How long past its TTL an answer may still be served (marked `stale: true`) when a
    /// refresh fails with a network error, a timeout, a 5xx or a 429. Default 3600000 (1 h).
    pub stale_ms: Option<f64>,
    /// Most entries kept; least useful ones are evicted first. Default 10000.
    pub max_entries: Option<f64>,
}

#[napi(object, object_to_js = false)]
pub struct RateLimitOptions {
    /// `false` sends without client-side limiting. Default true.
    pub enabled: Option<bool>,
    /// Longest a call waits for capacity before failing with `PIPEDREAM_RATE_LIMITED`, in ms.
    /// Default 30000.
    pub max_wait_ms: Option<f64>,
    /// Apps and components listing and retrieval. Default 3000 per 300000 ms.
    pub read: Option<QuotaOptions>,
    /// Action run, configure and reload. Default 2000 per 300000 ms.
    pub execute: Option<QuotaOptions>,
    /// Accounts. Default 2000 per 300000 ms.
    pub accounts: Option<QuotaOptions>,
    /// Connect tokens (for Connect Links), per external user. Default 100 per 60000 ms. When
    /// spent, a missing-account error comes without a link rather than waiting.
    pub tokens: Option<QuotaOptions>,
    /// Requests through Connect's proxy (`proxyRequest`, proxy nodes). Default 1000 per
    /// 300000 ms.
    pub proxy: Option<QuotaOptions>,
}

/// `requests` per `perMs` milliseconds.
#[napi(object, object_to_js = false)]
pub struct QuotaOptions {
    pub requests: f64,
    pub per_ms: f64,
}

impl From<ClientOptions<'_>> for core::ClientOptions {
    fn from(o: ClientOptions) -> Self {
        Self {
            base_url: o.base_url,
            project_id: o.project_id,
            environment: o.environment,
            client_id: o.client_id,
            client_secret: o.client_secret.map(Secret::new),
            token: o.token.map(Secret::new),
            external_user_id: o.external_user_id,
            enabled: o.enabled,
            cache: o.cache.map(Into::into).unwrap_or_default(),
            rate_limit: o.rate_limit.map(Into::into).unwrap_or_default(),
            timeout_ms: o.timeout_ms,
            max_response_bytes: o.max_response_bytes,
            max_connections: o.max_connections,
            allow_insecure_http: o.allow_insecure_http,
            retry: o
                .retry
                .map(|r| core::RetryOptions {
                    max_retries: r.max_retries,
                    max_delay_ms: r.max_delay_ms,
                    min_delay_ms: r.min_delay_ms,
                })
                .unwrap_or_default(),
            idempotency_ttl_ms: o.idempotency.and_then(|i| i.ttl_ms),
            deadline_ms: o.deadline_ms,
            store: core::StoreOptions {
                redis: o.store.and_then(|s| s.redis).map(|r| core::RedisOptions {
                    url: r.url.map(Secret::new),
                    key_prefix: r.key_prefix,
                    expected_instances: r.expected_instances,
                    timeout_ms: r.timeout_ms,
                }),
            },
        }
    }
}

impl From<CacheOptions> for core::CacheOptions {
    fn from(o: CacheOptions) -> Self {
        Self {
            ttl_ms: o.ttl_ms,
            stale_ms: o.stale_ms,
            max_entries: o.max_entries,
        }
    }
}

impl From<RateLimitOptions> for core::RateLimitOptions {
    fn from(o: RateLimitOptions) -> Self {
        let q = |q: Option<QuotaOptions>| {
            q.map(|q| core::QuotaOptions {
                requests: q.requests,
                per_ms: q.per_ms,
            })
        };
        Self {
            enabled: o.enabled,
            max_wait_ms: o.max_wait_ms,
            read: q(o.read),
            execute: q(o.execute),
            accounts: q(o.accounts),
            tokens: q(o.tokens),
            proxy: q(o.proxy),
        }
    }
}

/// Every option `new PipedreamClient(options)` takes, by their JS names, for refusing a typo
/// (`clientSecert`) instead of ignoring it. Nested ones by the path of the option that holds
/// them (`store.redis`).
pub const KNOWN_OPTIONS: [(&str, &[&str]); 7] = [
    (
        "",
        &[
            "baseUrl",
            "projectId",
            "environment",
            "clientId",
            "clientSecret",
            "token",
            "externalUserId",
            "enabled",
            "cache",
            "rateLimit",
            "timeoutMs",
            "deadlineMs",
            "maxResponseBytes",
            "maxConnections",
            "allowInsecureHttp",
            "retry",
            "idempotency",
            "logger",
            "logLevel",
            "store",
        ],
    ),
    ("cache", &["ttlMs", "staleMs", "maxEntries"]),
    (
        "rateLimit",
        &[
            "enabled",
            "maxWaitMs",
            "read",
            "execute",
            "accounts",
            "tokens",
            "proxy",
        ],
    ),
    ("retry", &["maxRetries", "maxDelayMs", "minDelayMs"]),
    ("idempotency", &["ttlMs"]),
    ("store", &["redis"]),
    (
        "store.redis",
        &["url", "keyPrefix", "expectedInstances", "timeoutMs"],
    ),
];

/// The options of type string, by their JS paths.
pub const STRING_OPTIONS: [&str; 10] = [
    "logLevel",
    "baseUrl",
    "projectId",
    "environment",
    "clientId",
    "clientSecret",
    "token",
    "externalUserId",
    "store.redis.url",
    "store.redis.keyPrefix",
];

/// The options that hold others, by their JS paths, with what one looks like. napi reads a
/// string or a number given for one as an empty object, so they are checked before it does.
pub const OBJECT_OPTIONS: [(&str, &str); 11] = [
    ("cache", "{ ttlMs?, staleMs?, maxEntries? }"),
    (
        "rateLimit",
        "{ enabled?, maxWaitMs?, read?, execute?, accounts?, tokens?, proxy? }",
    ),
    ("rateLimit.read", "{ requests, perMs }"),
    ("rateLimit.execute", "{ requests, perMs }"),
    ("rateLimit.accounts", "{ requests, perMs }"),
    ("rateLimit.tokens", "{ requests, perMs }"),
    ("rateLimit.proxy", "{ requests, perMs }"),
    ("retry", "{ maxRetries?, minDelayMs?, maxDelayMs? }"),
    ("idempotency", "{ ttlMs? }"),
    ("store", "{ redis: { url } }"),
    (
        "store.redis",
        "{ url, keyPrefix?, expectedInstances?, timeoutMs? }",
    ),
];

/// napi's conversion error for an option of the wrong type, as a message that names the
/// option and the type it needs, and never the value: it quotes the value, which may be a
/// credential (`clientSecret: { value }`). The reason reads "Failed to convert … into rust
/// type `T` on Inner.field on ClientOptions.option".
pub fn conversion_problem(reason: &str) -> String {
    let mut path: Vec<&str> = reason
        .split(" on ")
        .skip(1)
        .filter_map(|part| part.split_once('.').map(|(_, field)| field.trim()))
        .collect();
    path.reverse();
    let wanted = reason
        .split("rust type `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .map(|t| match t {
            "String" => "a string",
            "f64" | "u32" | "i64" => "a number",
            "bool" => "true or false",
            _ => "an object",
        })
        .unwrap_or("of another type");
    let missing = reason
        .strip_prefix("Missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path.is_empty(), missing) {
        (false, Some(field)) => {
            format!("Invalid options: `{}.{field}` is required", path.join("."))
        }
        (true, _) => "Invalid options: an option has the wrong type".to_owned(),
        (false, None) => format!("Invalid options: `{}` must be {wanted}", path.join(".")),
    }
}

#[cfg(test)]
mod tests {
    use super::conversion_problem;

    #[test]
    fn conversion_problems_name_the_option_and_never_the_value() {
        let reason = "Failed to convert JavaScript value `Object {\"value\":\"sk_live_x\"}` into rust type `String` on ClientOptions.clientSecret";
        assert_eq!(
            conversion_problem(reason),
            "Invalid options: `clientSecret` must be a string"
        );
        let reason = "Failed to convert napi value String into rust type `f64` on QuotaOptions.requests on RateLimitOptions.read on ClientOptions.rateLimit";
        assert_eq!(
            conversion_problem(reason),
            "Invalid options: `rateLimit.read.requests` must be a number"
        );
        assert!(!conversion_problem("`sk_live_x`").contains("sk_live"));
        let reason = "Missing field `perMs` on RateLimitOptions.execute on ClientOptions.rateLimit";
        assert_eq!(
            conversion_problem(reason),
            "Invalid options: `rateLimit.execute.perMs` is required"
        );
    }
}
