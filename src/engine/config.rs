//! Client configuration: explicit options first, then the environment, then defaults. Every
//! value is checked once here, so the rest of the core can trust it.

use std::fmt;
use std::time::Duration;

use url::Url;

use super::secret::Secret;

/// `requests` per `period_ms` (the limiter enforces it as a token bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    pub requests: u32,
    pub period_ms: u64,
}

impl Quota {
    pub const fn per(requests: u32, period_ms: u64) -> Self {
        Self {
            requests,
            period_ms,
        }
    }
}

/// The published limits group endpoints into classes; each class has its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointClass {
    /// Apps and component listing/retrieval.
    Read,
    /// Run, configure and reload props.
    Execute,
    Accounts,
    Tokens,
    /// Requests to an app's own API through Connect's proxy.
    Proxy,
}

impl EndpointClass {
    pub const ALL: [EndpointClass; 5] = [
        Self::Read,
        Self::Execute,
        Self::Accounts,
        Self::Tokens,
        Self::Proxy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Execute => "execute",
            Self::Accounts => "accounts",
            Self::Tokens => "tokens",
            Self::Proxy => "proxy",
        }
    }
}

pub const DEFAULT_BASE_URL: &str = "https://api.pipedream.com";

/// Options as the caller gave them (all optional). Field names mirror the JS options object.
#[derive(Debug, Default, Clone)]
pub struct ClientOptions {
    pub base_url: Option<String>,
    pub project_id: Option<String>,
    pub environment: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub token: Option<Secret>,
    pub external_user_id: Option<String>,
    pub enabled: Option<bool>,
    pub cache: CacheOptions,
    pub rate_limit: RateLimitOptions,
    pub timeout_ms: Option<f64>,
    pub max_response_bytes: Option<f64>,
    pub max_connections: Option<f64>,
    pub allow_insecure_http: Option<bool>,
    pub retry: RetryOptions,
    pub idempotency_ttl_ms: Option<f64>,
    pub deadline_ms: Option<f64>,
    pub store: StoreOptions,
}

/// `store`: where state shared by every instance of Director lives. Today only Redis.
#[derive(Debug, Default, Clone)]
pub struct StoreOptions {
    pub redis: Option<RedisOptions>,
}

/// `store.redis`. The URL may carry a password, so it is a `Secret` from the start.
#[derive(Debug, Default, Clone)]
pub struct RedisOptions {
    pub url: Option<Secret>,
    pub key_prefix: Option<String>,
    pub expected_instances: Option<f64>,
    pub timeout_ms: Option<f64>,
}

#[derive(Debug, Default, Clone)]
pub struct RetryOptions {
    pub max_retries: Option<f64>,
    pub max_delay_ms: Option<f64>,
    pub min_delay_ms: Option<f64>,
}

#[derive(Debug, Default, Clone)]
pub struct CacheOptions {
    pub ttl_ms: Option<f64>,
    pub stale_ms: Option<f64>,
    pub max_entries: Option<f64>,
}

#[derive(Debug, Default, Clone)]
pub struct RateLimitOptions {
    pub enabled: Option<bool>,
    pub max_wait_ms: Option<f64>,
    pub read: Option<QuotaOptions>,
    pub execute: Option<QuotaOptions>,
    pub accounts: Option<QuotaOptions>,
    pub tokens: Option<QuotaOptions>,
    pub proxy: Option<QuotaOptions>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct QuotaOptions {
    pub requests: f64,
    pub per_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    Development,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

/// How requests are authenticated. A static token wins over client credentials, as in the
/// integration plan's chain (explicit token first, OAuth as the upgrade path).
#[derive(Debug, Clone)]
pub enum Credentials {
    None,
    Token(Secret),
    OauthClient {
        client_id: String,
        client_secret: Secret,
    },
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: Url,
    pub project_id: Option<String>,
    pub environment: Environment,
    pub credentials: Credentials,
    /// The Director user whose connected accounts are used when a call names none.
    pub external_user_id: Option<String>,
    pub enabled: bool,
    pub cache_ttl: Duration,
    /// How long past its TTL an answer may still be served when a refresh fails.
    pub cache_stale: Duration,
    pub cache_max_entries: u64,
    pub rate_limit: RateLimitConfig,
    pub timeout: Duration,
    pub max_response_bytes: usize,
    /// Most connections open to the API at once.
    pub max_connections: usize,
    pub retry: RetryConfig,
    /// How long an answer is replayed for its idempotency key.
    pub idempotency_ttl: Duration,
    pub idempotency_max_entries: u64,
    /// The longest a whole call (every request and retry in it) may take.
    pub deadline: Duration,
    /// The shared store, when one is configured; `None` keeps all state in this process.
    pub store: Option<RedisConfig>,
}

/// A checked `store.redis`.
#[derive(Clone)]
pub struct RedisConfig {
    /// The URL as given: handed to the Redis client and nowhere else.
    pub url: Secret,
    /// The URL without its credentials or query, for Debug output.
    pub shown: String,
    /// Put before every key this client writes, so several applications can share a Redis.
    pub key_prefix: String,
    /// How many instances share the budget: each takes quota ÷ this while Redis is away.
    pub expected_instances: u32,
    /// The longest one Redis call may take before the call is served locally.
    pub timeout: Duration,
}

/// Never the URL itself: it may carry a password.
impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.shown)
            .field("key_prefix", &self.key_prefix)
            .field("expected_instances", &self.expected_instances)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Exponential backoff with jitter between `min_delay` and `max_delay`, at most `max_retries`
/// repeats; a server's `Retry-After` replaces the computed delay (capped at `max_delay`).
#[derive(Debug, Clone, Copy)]
pub struct RetryConfig {
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub max_wait: Duration,
    pub read: Quota,
    pub execute: Quota,
    pub accounts: Quota,
    pub tokens: Quota,
    pub proxy: Quota,
}

impl RateLimitConfig {
    /// How long until a spent per-user Connect token budget has room for one more.
    pub fn tokens_period(&self) -> Duration {
        Duration::from_millis(self.tokens.period_ms / u64::from(self.tokens.requests.max(1)))
    }

    pub fn quota(&self, class: EndpointClass) -> Quota {
        match class {
            EndpointClass::Read => self.read,
            EndpointClass::Execute => self.execute,
            EndpointClass::Accounts => self.accounts,
            EndpointClass::Tokens => self.tokens,
            EndpointClass::Proxy => self.proxy,
        }
    }
}

/// A bad option or environment value. `option` is the name the caller used (`timeoutMs`,
/// `cache.ttlMs`, `PIPEDREAM_ENABLED`), so the message points at what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub option: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid option `{}`: {}", self.option, self.problem)
    }
}

impl std::error::Error for ConfigError {}

fn bad(option: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        option: option.to_owned(),
        problem: problem.into(),
    }
}

/// The environment variables the client reads. Listed once so the module-level default client
/// can tell when any of them changed.
pub const ENV_VARS: [&str; 9] = [
    "PIPEDREAM_BASE_URL",
    "PIPEDREAM_PROJECT_ID",
    "PIPEDREAM_PROJECT_ENVIRONMENT",
    "PIPEDREAM_CLIENT_ID",
    "PIPEDREAM_CLIENT_SECRET",
    "PIPEDREAM_API_TOKEN",
    "PIPEDREAM_ENABLED",
    "PIPEDREAM_EXTERNAL_USER_ID",
    "PIPEDREAM_REDIS_URL",
];

const MAX_TIMEOUT_MS: f64 = 600_000.0;
const DAY_MS: f64 = 86_400_000.0;

impl Config {
    /// Resolves options against an environment lookup (`std::env::var` in production, a map in
    /// tests). Empty environment values count as unset.
    pub fn resolve(
        opts: ClientOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        let (base_name, base_raw) = match opts.base_url {
            Some(v) => ("baseUrl", v),
            None => match env("PIPEDREAM_BASE_URL") {
                Some(v) => ("PIPEDREAM_BASE_URL", v),
                None => ("baseUrl", DEFAULT_BASE_URL.to_owned()),
            },
        };
        let base_url = parse_base_url(base_name, &base_raw)?;

        let project_id = match opts.project_id {
            Some(v) => Some(check_project_id("projectId", v)?),
            None => env("PIPEDREAM_PROJECT_ID")
                .map(|v| check_project_id("PIPEDREAM_PROJECT_ID", v))
                .transpose()?,
        };

        let environment = match opts.environment {
            Some(v) => parse_environment("environment", &v)?,
            None => match env("PIPEDREAM_PROJECT_ENVIRONMENT") {
                Some(v) => parse_environment("PIPEDREAM_PROJECT_ENVIRONMENT", &v)?,
                None => Environment::Production,
            },
        };

        // Each named as the caller gave it: the option, or the variable it came from.
        let (token_name, token) = match opts.token {
            Some(t) => ("token", Some(t)),
            None => (
                "PIPEDREAM_API_TOKEN",
                env("PIPEDREAM_API_TOKEN").map(Secret::new),
            ),
        };
        if token.as_ref().is_some_and(|t| t.expose().trim().is_empty()) {
            return Err(bad(token_name, "must be a non-empty string"));
        }
        // The token goes into an HTTP header; one that cannot is refused here, by name.
        if token
            .as_ref()
            .is_some_and(|t| !t.expose().trim().bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(bad(
                token_name,
                "holds spaces, control or non-ASCII characters, which an HTTP header cannot carry",
            ));
        }
        let (id_name, client_id) = match opts.client_id {
            Some(id) => ("clientId", Some(id)),
            None => ("PIPEDREAM_CLIENT_ID", env("PIPEDREAM_CLIENT_ID")),
        };
        let (secret_name, client_secret) = match opts.client_secret {
            Some(s) => ("clientSecret", Some(s)),
            None => (
                "PIPEDREAM_CLIENT_SECRET",
                env("PIPEDREAM_CLIENT_SECRET").map(Secret::new),
            ),
        };
        let credentials = match (token, client_id, client_secret) {
            (Some(token), _, _) => Credentials::Token(Secret::new(token.expose().trim())),
            (None, Some(client_id), Some(client_secret)) => {
                if client_id.trim().is_empty() {
                    return Err(bad(id_name, "must be a non-empty string"));
                }
                if client_secret.expose().is_empty() {
                    return Err(bad(secret_name, "must be a non-empty string"));
                }
                Credentials::OauthClient {
                    client_id,
                    client_secret,
                }
            }
            (None, Some(_), None) => {
                return Err(bad(
                    "clientSecret",
                    "is required with clientId (or set PIPEDREAM_CLIENT_SECRET)",
                ));
            }
            (None, None, Some(_)) => {
                return Err(bad(
                    "clientId",
                    "is required with clientSecret (or set PIPEDREAM_CLIENT_ID)",
                ));
            }
            (None, None, None) => Credentials::None,
        };

        let enabled = match opts.enabled {
            Some(v) => v,
            None => match env("PIPEDREAM_ENABLED") {
                Some(v) => parse_bool("PIPEDREAM_ENABLED", &v)?,
                None => true,
            },
        };

        let external_user_id = match opts.external_user_id {
            Some(v) => Some(check_external_user_id("externalUserId", v)?),
            None => env("PIPEDREAM_EXTERNAL_USER_ID")
                .map(|v| check_external_user_id("PIPEDREAM_EXTERNAL_USER_ID", v))
                .transpose()?,
        };

        let cache_ttl = ms_option("cache.ttlMs", opts.cache.ttl_ms, 300_000.0, 0.0, DAY_MS)?;
        let cache_stale = ms_option(
            "cache.staleMs",
            opts.cache.stale_ms,
            3_600_000.0,
            0.0,
            DAY_MS,
        )?;
        let cache_max_entries = int_option(
            "cache.maxEntries",
            opts.cache.max_entries,
            10_000.0,
            1.0,
            10_000_000.0,
        )?;

        let rl = opts.rate_limit;
        let rate_limit = RateLimitConfig {
            enabled: rl.enabled.unwrap_or(true),
            max_wait: ms_option("rateLimit.maxWaitMs", rl.max_wait_ms, 30_000.0, 0.0, DAY_MS)?,
            read: quota("rateLimit.read", rl.read, Quota::per(3_000, 300_000))?,
            execute: quota("rateLimit.execute", rl.execute, Quota::per(2_000, 300_000))?,
            accounts: quota(
                "rateLimit.accounts",
                rl.accounts,
                Quota::per(2_000, 300_000),
            )?,
            tokens: quota("rateLimit.tokens", rl.tokens, Quota::per(100, 60_000))?,
            proxy: quota("rateLimit.proxy", rl.proxy, Quota::per(1_000, 300_000))?,
        };

        // 60 s, as the official SDK: long actions take that long.
        let timeout = ms_option("timeoutMs", opts.timeout_ms, 60_000.0, 1.0, MAX_TIMEOUT_MS)?;
        let max_response_bytes = int_option(
            "maxResponseBytes",
            opts.max_response_bytes,
            10_485_760.0,
            1024.0,
            1_073_741_824.0,
        )? as usize;
        let max_connections =
            int_option("maxConnections", opts.max_connections, 64.0, 1.0, 4096.0)? as usize;
        let retry = RetryConfig {
            max_retries: int_option("retry.maxRetries", opts.retry.max_retries, 3.0, 0.0, 20.0)?
                as usize,
            min_delay: ms_option(
                "retry.minDelayMs",
                opts.retry.min_delay_ms,
                500.0,
                0.0,
                DAY_MS,
            )?,
            max_delay: ms_option(
                "retry.maxDelayMs",
                opts.retry.max_delay_ms,
                60_000.0,
                0.0,
                DAY_MS,
            )?,
        };
        let idempotency_ttl = ms_option(
            "idempotency.ttlMs",
            opts.idempotency_ttl_ms,
            DAY_MS,
            1.0,
            30.0 * DAY_MS,
        )?;
        if !opts.allow_insecure_http.unwrap_or(false)
            && base_url.scheme() == "http"
            && !is_loopback(&base_url)
        {
            return Err(bad(
                base_name,
                "must use https for a host other than this machine (set allowInsecureHttp: true to override)",
            ));
        }

        let store = redis_config(opts.store.redis, env("PIPEDREAM_REDIS_URL"))?;

        Ok(Config {
            base_url,
            project_id,
            environment,
            credentials,
            external_user_id,
            enabled,
            cache_ttl,
            cache_stale,
            cache_max_entries,
            rate_limit,
            timeout,
            max_response_bytes,
            max_connections,
            retry,
            idempotency_ttl,
            idempotency_max_entries: 100_000,
            deadline: ms_option("deadlineMs", opts.deadline_ms, 120_000.0, 1.0, DAY_MS)?,
            store,
        })
    }
}

fn parse_base_url(option: &str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| bad(option, format!("must be an absolute http(s) URL ({e})")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad(option, "must use http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(option, "must not have a query string or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(option, "must not embed credentials"));
    }
    Ok(url)
}

/// `store.redis`, else `PIPEDREAM_REDIS_URL` alone, else no store. The option's URL wins over
/// the variable's; the other settings exist only as options.
fn redis_config(
    opts: Option<RedisOptions>,
    env_url: Option<String>,
) -> Result<Option<RedisConfig>, ConfigError> {
    let from_env = env_url.is_some() && opts.as_ref().is_none_or(|o| o.url.is_none());
    let mut opts = match (opts, &env_url) {
        (None, None) => return Ok(None),
        (opts, _) => opts.unwrap_or_default(),
    };
    if opts.url.is_none() {
        opts.url = env_url.map(Secret::new);
    }
    let option = match from_env {
        true => "PIPEDREAM_REDIS_URL",
        false => "store.redis.url",
    };
    let Some(url) = opts.url else {
        return Err(bad(
            "store.redis.url",
            "is required with store.redis (or set PIPEDREAM_REDIS_URL)",
        ));
    };
    let shown = check_redis_url(option, url.expose())?;
    let key_prefix = opts.key_prefix.unwrap_or_else(|| "pdc:".to_owned());
    if key_prefix.is_empty()
        || key_prefix.len() > 64
        || !key_prefix.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad(
            "store.redis.keyPrefix",
            "must be 1 to 64 printable ASCII characters without spaces, such as \"pdc:\"",
        ));
    }
    Ok(Some(RedisConfig {
        url,
        shown,
        key_prefix,
        expected_instances: int_option(
            "store.redis.expectedInstances",
            opts.expected_instances,
            1.0,
            1.0,
            10_000.0,
        )? as u32,
        timeout: ms_option(
            "store.redis.timeoutMs",
            opts.timeout_ms,
            50.0,
            1.0,
            60_000.0,
        )?,
    }))
}

/// A Redis URL the client can use (`redis://`, `rediss://` for TLS, `redis+unix://` or
/// `unix://` for a socket), answered as it may be shown: without credentials or query. The
/// problems never quote the URL, which may carry a password.
fn check_redis_url(option: &str, raw: &str) -> Result<String, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|_| {
        bad(
            option,
            "must be a Redis URL such as redis://host:6379 or rediss://user:password@host:6380/0",
        )
    })?;
    let socket = matches!(url.scheme(), "redis+unix" | "unix");
    if !socket && !matches!(url.scheme(), "redis" | "rediss") {
        return Err(bad(
            option,
            "must use redis://, rediss:// (TLS), redis+unix:// or unix://",
        ));
    }
    if !socket && url.host_str().is_none_or(str::is_empty) {
        return Err(bad(option, "must name a host, such as redis://host:6379"));
    }
    let db = url.path().trim_start_matches('/');
    if !socket && !db.is_empty() && db.parse::<u16>().is_err() {
        return Err(bad(
            option,
            "must end in a database number, such as /0, or nothing",
        ));
    }
    let credentials = !url.username().is_empty() || url.password().is_some();
    let mut shown = format!("{}://", url.scheme());
    if credentials {
        shown.push_str("[redacted]@");
    }
    if let Some(host) = url.host_str() {
        shown.push_str(host);
    }
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    Ok(shown)
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check_project_id(option: &str, v: String) -> Result<String, ConfigError> {
    let rest = v.strip_prefix("proj_").unwrap_or("");
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad(
            option,
            "must look like proj_abc123 (see your project's settings)",
        ));
    }
    Ok(v)
}

/// The API allows up to 250 characters.
fn check_external_user_id(option: &str, v: String) -> Result<String, ConfigError> {
    let v = v.trim().to_owned();
    if v.is_empty() || v.chars().count() > 250 {
        return Err(bad(
            option,
            "must be a non-empty string of at most 250 characters",
        ));
    }
    Ok(v)
}

fn parse_environment(option: &str, v: &str) -> Result<Environment, ConfigError> {
    match v.trim() {
        "development" => Ok(Environment::Development),
        "production" => Ok(Environment::Production),
        _ => Err(bad(option, "must be \"development\" or \"production\"")),
    }
}

fn parse_bool(option: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bad(option, "must be true or false")),
    }
}

fn int_option(
    option: &str,
    v: Option<f64>,
    default: f64,
    min: f64,
    max: f64,
) -> Result<u64, ConfigError> {
    let v = v.unwrap_or(default);
    if !v.is_finite() || v.fract() != 0.0 || v < min || v > max {
        return Err(bad(
            option,
            format!("must be a whole number from {min} to {max} (got {v})"),
        ));
    }
    Ok(v as u64)
}

fn ms_option(
    option: &str,
    v: Option<f64>,
    default: f64,
    min: f64,
    max: f64,
) -> Result<Duration, ConfigError> {
    int_option(option, v, default, min, max).map(Duration::from_millis)
}

fn quota(option: &str, v: Option<QuotaOptions>, default: Quota) -> Result<Quota, ConfigError> {
    let Some(q) = v else { return Ok(default) };
    let requests = int_option(
        &format!("{option}.requests"),
        Some(q.requests),
        0.0,
        1.0,
        1e9,
    )?;
    let per = int_option(&format!("{option}.perMs"), Some(q.per_ms), 0.0, 1.0, DAY_MS)?;
    Ok(Quota::per(requests as u32, per))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_official_sdk() {
        let c = Config::resolve(ClientOptions::default(), env_of(&[])).unwrap();
        assert_eq!(c.base_url.as_str(), "https://api.pipedream.com/");
        assert_eq!(c.environment, Environment::Production);
        assert!(c.enabled);
        assert!(matches!(c.credentials, Credentials::None));
        assert_eq!(c.cache_ttl, Duration::from_secs(300));
        assert_eq!(c.cache_stale, Duration::from_secs(3600));
        assert_eq!(c.external_user_id, None);
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert_eq!(c.rate_limit.read, Quota::per(3_000, 300_000));
    }

    #[test]
    fn options_win_over_environment() {
        let env = env_of(&[
            ("PIPEDREAM_BASE_URL", "http://127.0.0.1:1"),
            ("PIPEDREAM_PROJECT_ENVIRONMENT", "development"),
            ("PIPEDREAM_API_TOKEN", "env-token"),
        ]);
        let opts = ClientOptions {
            base_url: Some("http://127.0.0.1:2".into()),
            token: Some(Secret::new("opt-token")),
            ..Default::default()
        };
        let c = Config::resolve(opts, env).unwrap();
        assert_eq!(c.base_url.port(), Some(2));
        assert_eq!(c.environment, Environment::Development);
        match c.credentials {
            Credentials::Token(t) => assert_eq!(t.expose(), "opt-token"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn client_credentials_from_env_and_token_precedence() {
        let c = Config::resolve(
            ClientOptions::default(),
            env_of(&[
                ("PIPEDREAM_CLIENT_ID", "id"),
                ("PIPEDREAM_CLIENT_SECRET", "secret"),
            ]),
        )
        .unwrap();
        assert!(matches!(c.credentials, Credentials::OauthClient { .. }));
        let c = Config::resolve(
            ClientOptions::default(),
            env_of(&[
                ("PIPEDREAM_CLIENT_ID", "id"),
                ("PIPEDREAM_CLIENT_SECRET", "secret"),
                ("PIPEDREAM_API_TOKEN", "t"),
            ]),
        )
        .unwrap();
        assert!(matches!(c.credentials, Credentials::Token(_)));
    }

    #[test]
    fn bad_values_name_the_option() {
        let cases: Vec<(ClientOptions, &str)> = vec![
            (
                ClientOptions {
                    timeout_ms: Some(0.0),
                    ..Default::default()
                },
                "timeoutMs",
            ),
            (
                ClientOptions {
                    timeout_ms: Some(1.5),
                    ..Default::default()
                },
                "timeoutMs",
            ),
            (
                ClientOptions {
                    base_url: Some("ftp://x".into()),
                    ..Default::default()
                },
                "baseUrl",
            ),
            (
                ClientOptions {
                    base_url: Some("http://api.example.com".into()),
                    ..Default::default()
                },
                "baseUrl",
            ),
            (
                ClientOptions {
                    project_id: Some("abc".into()),
                    ..Default::default()
                },
                "projectId",
            ),
            (
                ClientOptions {
                    environment: Some("staging".into()),
                    ..Default::default()
                },
                "environment",
            ),
            (
                ClientOptions {
                    client_id: Some("id".into()),
                    ..Default::default()
                },
                "clientSecret",
            ),
            (
                ClientOptions {
                    cache: CacheOptions {
                        max_entries: Some(0.0),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                "cache.maxEntries",
            ),
            (
                ClientOptions {
                    rate_limit: RateLimitOptions {
                        read: Some(QuotaOptions {
                            requests: 0.0,
                            per_ms: 1000.0,
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                "rateLimit.read.requests",
            ),
        ];
        for (opts, option) in cases {
            let err = Config::resolve(opts, env_of(&[])).unwrap_err();
            assert_eq!(err.option, option, "{err}");
        }
        let err = Config::resolve(
            ClientOptions::default(),
            env_of(&[("PIPEDREAM_ENABLED", "maybe")]),
        )
        .unwrap_err();
        assert_eq!(err.option, "PIPEDREAM_ENABLED");
        // A variable is named as the variable, not as the option it stands for.
        for (vars, named) in [
            (
                vec![("PIPEDREAM_API_TOKEN", "abc def")],
                "PIPEDREAM_API_TOKEN",
            ),
            (vec![("PIPEDREAM_CLIENT_ID", "id")], "clientSecret"),
        ] {
            let err = Config::resolve(ClientOptions::default(), env_of(&vars)).unwrap_err();
            assert_eq!(err.option, named, "{err}");
        }
        let opts = ClientOptions {
            token: Some(Secret::new("abc def")),
            ..Default::default()
        };
        let err = Config::resolve(opts, env_of(&[])).unwrap_err();
        assert_eq!(err.option, "token");
    }

    #[test]
    fn enabled_flag_from_env() {
        let c = Config::resolve(
            ClientOptions::default(),
            env_of(&[("PIPEDREAM_ENABLED", "false")]),
        )
        .unwrap();
        assert!(!c.enabled);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Config::resolve(
            ClientOptions {
                client_id: Some("id".into()),
                client_secret: Some(Secret::new("very-secret-value")),
                ..Default::default()
            },
            env_of(&[]),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("very-secret-value"));
    }

    fn with_redis(redis: RedisOptions) -> ClientOptions {
        ClientOptions {
            store: StoreOptions { redis: Some(redis) },
            ..Default::default()
        }
    }

    #[test]
    fn no_store_unless_one_is_asked_for() {
        let c = Config::resolve(ClientOptions::default(), env_of(&[])).unwrap();
        assert!(c.store.is_none());
        let c = Config::resolve(
            ClientOptions {
                store: StoreOptions::default(),
                ..Default::default()
            },
            env_of(&[]),
        )
        .unwrap();
        assert!(c.store.is_none());
    }

    #[test]
    fn redis_from_the_option_or_the_environment_with_defaults() {
        let c = Config::resolve(
            ClientOptions::default(),
            env_of(&[("PIPEDREAM_REDIS_URL", "redis://127.0.0.1:6379")]),
        )
        .unwrap();
        let r = c.store.unwrap();
        assert_eq!(r.url.expose(), "redis://127.0.0.1:6379");
        assert_eq!(r.key_prefix, "pdc:");
        assert_eq!(r.expected_instances, 1);
        assert_eq!(r.timeout, Duration::from_millis(50));

        // The option's URL wins; the other settings come with it.
        let c = Config::resolve(
            with_redis(RedisOptions {
                url: Some(Secret::new("rediss://u:p@cache.internal:6380/2")),
                key_prefix: Some("director:".into()),
                expected_instances: Some(4.0),
                timeout_ms: Some(20.0),
            }),
            env_of(&[("PIPEDREAM_REDIS_URL", "redis://127.0.0.1:6379")]),
        )
        .unwrap();
        let r = c.store.unwrap();
        assert_eq!(r.url.expose(), "rediss://u:p@cache.internal:6380/2");
        assert_eq!(r.shown, "rediss://[redacted]@cache.internal:6380/2");
        assert_eq!(
            (r.expected_instances, r.timeout),
            (4, Duration::from_millis(20))
        );

        // Settings without a URL take the variable's.
        let c = Config::resolve(
            with_redis(RedisOptions {
                expected_instances: Some(3.0),
                ..Default::default()
            }),
            env_of(&[("PIPEDREAM_REDIS_URL", "redis://10.0.0.5")]),
        )
        .unwrap();
        assert_eq!(c.store.unwrap().expected_instances, 3);
    }

    #[test]
    fn bad_redis_settings_name_the_option_and_never_the_password() {
        let cases: Vec<(RedisOptions, &str)> = vec![
            (RedisOptions::default(), "store.redis.url"),
            (
                RedisOptions {
                    url: Some(Secret::new("http://:pw-s3cret@host:6379")),
                    ..Default::default()
                },
                "store.redis.url",
            ),
            (
                RedisOptions {
                    url: Some(Secret::new("redis://:pw-s3cret@host:6379/zero")),
                    ..Default::default()
                },
                "store.redis.url",
            ),
            (
                RedisOptions {
                    url: Some(Secret::new("not a url pw-s3cret")),
                    ..Default::default()
                },
                "store.redis.url",
            ),
            (
                RedisOptions {
                    url: Some(Secret::new("redis://h")),
                    key_prefix: Some("has space".into()),
                    ..Default::default()
                },
                "store.redis.keyPrefix",
            ),
            (
                RedisOptions {
                    url: Some(Secret::new("redis://h")),
                    expected_instances: Some(0.0),
                    ..Default::default()
                },
                "store.redis.expectedInstances",
            ),
            (
                RedisOptions {
                    url: Some(Secret::new("redis://h")),
                    timeout_ms: Some(2.5),
                    ..Default::default()
                },
                "store.redis.timeoutMs",
            ),
        ];
        for (redis, option) in cases {
            let err = Config::resolve(with_redis(redis), env_of(&[])).unwrap_err();
            assert_eq!(err.option, option, "{err}");
            assert!(!err.to_string().contains("pw-s3cret"), "{err}");
        }
        let err = Config::resolve(
            ClientOptions::default(),
            env_of(&[("PIPEDREAM_REDIS_URL", "mysql://root:pw-s3cret@db")]),
        )
        .unwrap_err();
        assert_eq!(err.option, "PIPEDREAM_REDIS_URL");
        assert!(!err.to_string().contains("pw-s3cret"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_redis_password() {
        let c = Config::resolve(
            ClientOptions::default(),
            env_of(&[(
                "PIPEDREAM_REDIS_URL",
                "redis://default:very-secret-redis@127.0.0.1:6379/0?protocol=resp3",
            )]),
        )
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("very-secret-redis"), "{debug}");
        assert!(
            debug.contains("redis://[redacted]@127.0.0.1:6379/0"),
            "{debug}"
        );
    }
}
