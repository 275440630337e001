//! The shared store (`store.redis`): the one connection to Redis through which every instance
//! of Director sees the same state (the rate limits and 429 pauses, idempotency keys, the OAuth
//! token and the discovery cache), the per-call timeout, and whether Redis is answering.
//!
//! Redis failing is never a call failing. An operation that gets no answer within the timeout
//! (or loses its connection) answers `None`, and its caller does the local thing instead. The
//! first miss logs one warning and counts a fallback; from then on no operation waits on Redis:
//! each is answered `None` at once, while a probe in the background asks Redis at most once a
//! second. Its first answer ends the fallback.
//!
//! An operation Redis answers with an error (out of memory, a key of another type, no
//! permission) is `None` for that operation only: Redis is there, and the other operations
//! still use it. Switching everything to local limits and local idempotency for one bad key
//! ran keys again that Redis had answered. Such errors log one `refused` event a minute at most.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;
use tokio::sync::OnceCell;

use super::tls::install_crypto_provider;
use crate::engine::config::{ConfigError, RedisConfig};
use crate::engine::error::{Error, Result};
use crate::engine::events::{self, Sink};
use crate::engine::hash::hex;
use crate::engine::stats::StoreCounts;

/// How long the very first operation waits for the connection (TCP, TLS, AUTH) before falling
/// back, and how long a probe waits: both may connect, which takes longer than one command.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// At most one probe per this long while Redis is away, whatever the traffic.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// At most one `refused` event per this long, however many operations Redis refuses.
const REFUSALS_LOGGED_EVERY: Duration = Duration::from_secs(60);

/// Deletes KEYS[1] only while it holds ARGV[1].
static DELETE_IF: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// A handle on the shared store; clones share the connection and its health.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// Made on first use: the connection manager spawns its tasks on the runtime, and a client
    /// is made on the JS thread, outside it.
    connection: OnceCell<ConnectionManager>,
    /// The URL without credentials, for Debug output.
    shown: String,
    key_prefix: String,
    timeout: Duration,
    expected_instances: u32,
    /// False from the first miss until a probe gets an answer: operations do not wait on Redis.
    healthy: AtomicBool,
    /// Whether Redis ever answered: until then an operation may wait for the connection.
    answered: AtomicBool,
    /// When a refused operation was last logged: at most one `refused` event a minute.
    refused_logged: Mutex<Option<Instant>>,
    outage: Mutex<Outage>,
    fallbacks: AtomicU64,
    fallback_calls: AtomicU64,
    events: Sink,
}

#[derive(Default)]
struct Outage {
    since: Option<Instant>,
    last_probe: Option<Instant>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.inner.shown)
            .field("healthy", &self.inner.healthy.load(Ordering::Relaxed))
            .finish()
    }
}

/// Why an operation got no answer it could use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// No answer: Redis is away (or was already known to be).
    Away,
    /// Redis answered this operation with an error; it is there for others.
    Refused,
}

/// Whether `e` is Redis answering this operation with an error, as opposed to not answering
/// (a connection lost or refused, a timeout, a reply that could not be read, no login).
fn refused(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind as S};
    // No login (a password missing or refused) makes every operation fail: Redis is as good
    // as away.
    !no_login(e)
        && matches!(
            e.kind(),
            ErrorKind::Extension
                | ErrorKind::UnexpectedReturnType
                | ErrorKind::Server(
                    S::ResponseError
                        | S::ExecAbort
                        | S::NoScript
                        | S::ReadOnly
                        | S::NoPerm
                        | S::CrossSlot
                        | S::NotBusy
                        | S::NoSub
                )
        )
}

/// Whether Redis refused the login: a wrong password at connection, or a command sent without
/// one (`NOAUTH`).
fn no_login(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
}

/// Why an operation got no answer: the warning says which, never the server's own words (they
/// may name the host) nor the URL.
fn reason(e: &redis::RedisError) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if no_login(e) {
        "authentication failed"
    } else if e.is_connection_refusal() || e.is_io_error() || e.is_connection_dropped() {
        "unreachable"
    } else {
        "error"
    }
}

impl Store {
    /// Checks the URL with the Redis client; connects on first use, not here.
    pub fn new(config: &RedisConfig, events: Sink) -> Result<Self> {
        // `rediss://` builds a rustls client config, which needs the process's provider.
        install_crypto_provider();
        let client = redis::Client::open(config.url.expose()).map_err(|_| {
            Error::InvalidConfig(ConfigError {
                option: "store.redis.url".into(),
                problem: "could not be read as a Redis URL (redis://[user:password@]host[:port][/db], rediss:// for TLS)".into(),
            })
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                shown: config.shown.clone(),
                key_prefix: config.key_prefix.clone(),
                timeout: config.timeout,
                expected_instances: config.expected_instances,
                healthy: AtomicBool::new(true),
                answered: AtomicBool::new(false),
                refused_logged: Mutex::new(None),
                outage: Mutex::new(Outage::default()),
                fallbacks: AtomicU64::new(0),
                fallback_calls: AtomicU64::new(0),
                events,
            }),
        })
    }

    /// A `PX` for `d`: whole milliseconds, at least 1 (Redis refuses 0).
    pub fn px(d: Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// `rest` under this client's key prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.inner.key_prefix)
    }

    /// How many instances share the budget (`store.redis.expectedInstances`).
    pub fn expected_instances(&self) -> u32 {
        self.inner.expected_instances
    }

    /// Runs `op` on the connection and answers what Redis answered, or `None` when the store is
    /// away, did not answer within the timeout, or refused this operation: the caller then does
    /// without it.
    pub async fn call<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.try_call(op).await.ok()
    }

    /// `call`, saying why there is no answer.
    pub async fn try_call<T, F, Fut>(&self, op: F) -> std::result::Result<T, Missed>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.inner.healthy.load(Ordering::Acquire) {
            self.probe_if_due();
            self.inner.fallback_calls.fetch_add(1, Ordering::Relaxed);
            return Err(Missed::Away);
        }
        self.attempt(op).await
    }

    /// `try_call` even while Redis is away: for an operation that must not wait a second for
    /// the probe (a run's lease, which lapses in three).
    pub async fn call_now<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.attempt(op).await.ok()
    }

    async fn attempt<T, F, Fut>(&self, op: F) -> std::result::Result<T, Missed>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let inner = &self.inner;
        let limit = match inner.answered.load(Ordering::Acquire) {
            true => inner.timeout,
            false => inner.timeout.max(CONNECT_TIMEOUT),
        };
        let outcome = tokio::time::timeout(limit, async {
            let connection = inner.connection().await?;
            op(connection).await
        })
        .await;
        let missed = match outcome {
            Ok(Ok(value)) => {
                inner.answered.store(true, Ordering::Release);
                // A `call_now` answered while the store was away: the outage is over.
                if !inner.healthy.load(Ordering::Acquire) {
                    inner.back();
                }
                return Ok(value);
            }
            Ok(Err(e)) if refused(&e) => {
                inner.answered.store(true, Ordering::Release);
                if inner.refusal_due() {
                    // The error's code ("OOM", "WRONGTYPE"), never its text.
                    let code: String = e
                        .code()
                        .unwrap_or("unexpected reply")
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(20)
                        .collect();
                    events::emit(
                        &inner.events,
                        "store",
                        "refused",
                        Duration::ZERO,
                        json!({ "backend": "redis", "reason": code }),
                    );
                }
                inner.fallback_calls.fetch_add(1, Ordering::Relaxed);
                return Err(Missed::Refused);
            }
            Ok(Err(e)) => reason(&e),
            Err(_) => "timeout",
        };
        self.unavailable(missed);
        inner.fallback_calls.fetch_add(1, Ordering::Relaxed);
        Err(Missed::Away)
    }

    /// The store stopped answering: the first to notice counts it, logs it, and starts the
    /// probe clock.
    fn unavailable(&self, why: &'static str) {
        let inner = &self.inner;
        if !inner.healthy.swap(false, Ordering::AcqRel) {
            return;
        }
        inner.fallbacks.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        *inner.outage.lock().unwrap_or_else(|p| p.into_inner()) = Outage {
            since: Some(now),
            last_probe: Some(now),
        };
        events::emit(
            &inner.events,
            "store",
            "unavailable",
            Duration::ZERO,
            json!({ "backend": "redis", "reason": why }),
        );
    }

    /// Starts a probe in the background unless one ran less than `PROBE_EVERY` ago.
    fn probe_if_due(&self) {
        {
            let mut outage = self.inner.outage.lock().unwrap_or_else(|p| p.into_inner());
            if outage
                .last_probe
                .is_some_and(|at| at.elapsed() < PROBE_EVERY)
            {
                return;
            }
            outage.last_probe = Some(Instant::now());
        }
        // Operations run on the runtime; without one there is nothing to probe from.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = self.inner.clone();
        runtime.spawn(async move { inner.probe().await });
    }

    /// Takes the lock `key` for `hold`: `Some(Some(owner))` when this instance holds it now,
    /// `Some(None)` when another does, `None` when the store did not answer. `owner` lets go of
    /// it (`delete_if`) without deleting a lock that lapsed and went to someone else.
    pub async fn lock(&self, key: &str, hold: Duration) -> Option<Option<String>> {
        let mut owner = [0u8; 16];
        SystemRandom::new().fill(&mut owner).ok()?;
        let owner = hex(&owner);
        let taken: Option<String> = self
            .call(|mut connection| {
                let owner = &owner;
                async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(Self::px(hold))
                        .query_async(&mut connection)
                        .await
                }
            })
            .await?;
        Some(taken.map(|_| owner))
    }

    /// Deletes `key` only while it holds `value`.
    pub async fn delete_if(&self, key: &str, value: &str) {
        let _: Option<i64> = self
            .call(|mut connection| async move {
                DELETE_IF
                    .key(key)
                    .arg(value)
                    .invoke_async(&mut connection)
                    .await
            })
            .await;
    }

    /// What `getStats()` and `metrics()` show of the store's health (the cache's counts are
    /// added by its owner).
    pub fn counts(&self) -> StoreCounts {
        let inner = &self.inner;
        StoreCounts {
            backend: "redis",
            healthy: inner.healthy.load(Ordering::Relaxed),
            fallbacks: inner.fallbacks.load(Ordering::Relaxed),
            fallback_calls: inner.fallback_calls.load(Ordering::Relaxed),
            ..StoreCounts::default()
        }
    }
}

impl Inner {
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(CONNECT_TIMEOUT))
                    // Few, quick reconnect attempts: while Redis is away the probes drive
                    // reconnection, once a second.
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    /// One PING, and a second when the first found the connection broken (that one made the
    /// connection manager reconnect): an answer ends the fallback.
    async fn probe(&self) {
        let ping = || async {
            let mut connection = self.connection().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        };
        let mut answer = tokio::time::timeout(CONNECT_TIMEOUT, ping()).await;
        if matches!(&answer, Ok(Err(e)) if e.is_io_error() || e.is_connection_dropped()) {
            answer = tokio::time::timeout(CONNECT_TIMEOUT, ping()).await;
        }
        if matches!(answer, Ok(Ok(_))) {
            self.answered.store(true, Ordering::Release);
            self.back();
        }
    }

    /// Whether a refused operation is to be logged now (none was in the last minute), and if so
    /// notes that it is.
    fn refusal_due(&self) -> bool {
        let mut last = self
            .refused_logged
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < REFUSALS_LOGGED_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Redis answered after an outage: operations use it again, and the return is logged once.
    fn back(&self) {
        let since = self
            .outage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .since
            .take();
        if self.healthy.swap(true, Ordering::AcqRel) {
            return;
        }
        events::emit(
            &self.events,
            "store",
            "ok",
            since.map_or(Duration::ZERO, |s| s.elapsed()),
            json!({ "backend": "redis" }),
        );
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::engine::events::tests::Collect;
    use crate::engine::secret::Secret;

    /// A `redis-server` of its own on a free loopback port, stopped when dropped. `None` (the
    /// test says so and passes) where none is installed, except under CI, which installs one.
    pub struct TestRedis {
        child: std::process::Child,
        pub port: u16,
    }

    impl TestRedis {
        pub fn start() -> Option<Self> {
            Self::start_on(closed_port())
        }

        /// On `port`, as a restarted server would be.
        pub fn start_on(port: u16) -> Option<Self> {
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn();
            let child = match child {
                Ok(c) => c,
                Err(e) if std::env::var_os("CI").is_none() => {
                    eprintln!("redis-server not found ({e}): skipped");
                    return None;
                }
                Err(e) => panic!("redis-server is needed under CI: {e}"),
            };
            let server = Self { child, port };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if redis::Client::open(server.url())
                    .and_then(|c| c.get_connection())
                    .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                    .is_ok()
                {
                    return Some(server);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("redis-server did not answer PING within 10 s");
        }

        pub fn url(&self) -> String {
            format!("redis://127.0.0.1:{}", self.port)
        }

        /// A connection of the test's own, to look at or tamper with what a client wrote.
        pub async fn admin(&self) -> redis::aio::MultiplexedConnection {
            redis::Client::open(self.url())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap()
        }

        /// The keys matching `pattern`.
        pub async fn keys(&self, pattern: &str) -> Vec<String> {
            redis::cmd("KEYS")
                .arg(pattern)
                .query_async(&mut self.admin().await)
                .await
                .unwrap()
        }
    }

    impl Drop for TestRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub fn config(url: &str) -> RedisConfig {
        RedisConfig {
            url: Secret::new(url),
            shown: "redis://[redacted]@127.0.0.1".into(),
            key_prefix: "pdc-test:".into(),
            expected_instances: 4,
            timeout: Duration::from_millis(50),
        }
    }

    /// A port nothing listens on: connections are refused at once.
    pub fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn an_unreachable_store_answers_none_logs_once_and_never_waits_again() {
        let events = Arc::new(Collect::default());
        let url = format!("redis://:hunter2-secret@127.0.0.1:{}", closed_port());
        let store = Store::new(&config(&url), Some(events.clone())).unwrap();
        for _ in 0..20 {
            let started = Instant::now();
            let answer = store
                .call(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
                .await;
            assert!(answer.is_none());
            assert!(
                started.elapsed() < CONNECT_TIMEOUT,
                "{:?}",
                started.elapsed()
            );
        }
        let counts = store.counts();
        assert!(!counts.healthy);
        assert_eq!((counts.fallbacks, counts.fallback_calls), (1, 20));
        let events = events.0.lock().unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["type"], "store");
        assert_eq!(events[0]["outcome"], "unavailable");
        assert_eq!(events[0]["reason"], "unreachable");
        let text = format!("{events:?} {store:?}");
        assert!(!text.contains("hunter2") && !text.contains(&url), "{text}");
    }

    /// Redis answering one operation with an error is that operation's fallback, not an
    /// outage: the store stays in use for the others, and refusals log one event a minute.
    #[tokio::test]
    async fn an_error_reply_falls_back_for_that_operation_only() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let events = Arc::new(Collect::default());
        let store = Store::new(&config(&redis.url()), Some(events.clone())).unwrap();
        let _: Option<i64> = store
            .call(|mut c| async move {
                redis::cmd("RPUSH")
                    .arg("k:list")
                    .arg("a")
                    .query_async(&mut c)
                    .await
            })
            .await;
        for _ in 0..3 {
            let wrong: std::result::Result<Option<String>, Missed> = store
                .try_call(|mut c| async move {
                    redis::cmd("GET").arg("k:list").query_async(&mut c).await
                })
                .await;
            assert_eq!(wrong, Err(Missed::Refused));
        }
        let pong: Option<String> = store
            .call(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await;
        assert_eq!(pong.as_deref(), Some("PONG"));
        let counts = store.counts();
        assert!(counts.healthy);
        assert_eq!((counts.fallbacks, counts.fallback_calls), (0, 3));
        let events = events.0.lock().unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["outcome"], "refused");
        assert_eq!(events[0]["reason"], "WRONGTYPE");
    }

    /// While the store is away, `call` answers at once without asking; `call_now` still asks.
    #[tokio::test]
    async fn call_now_asks_even_while_the_store_is_away() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let store = Store::new(&config(&redis.url()), None).unwrap();
        store.unavailable("timeout");
        let ping = |now: bool| {
            let store = store.clone();
            async move {
                let op = |mut c: ConnectionManager| async move {
                    redis::cmd("PING").query_async::<String>(&mut c).await
                };
                match now {
                    true => store.call_now(op).await,
                    false => store.call(op).await,
                }
            }
        };
        assert_eq!(ping(false).await, None);
        assert_eq!(ping(true).await.as_deref(), Some("PONG"));
        // Its answer ends the outage, as a probe's would.
        assert!(store.counts().healthy);
        assert_eq!(ping(false).await.as_deref(), Some("PONG"));
    }

    #[test]
    fn a_url_the_client_cannot_read_is_a_config_error_without_the_url() {
        let err = Store::new(&config("redis://:pw-123456@host:6379/notanumber"), None).unwrap_err();
        assert_eq!(err.code().as_str(), "PIPEDREAM_INVALID_CONFIG");
        assert!(!err.to_string().contains("pw-123456"), "{err}");
    }

    #[tokio::test]
    async fn a_store_that_comes_back_is_used_again_after_a_probe() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let events = Arc::new(Collect::default());
        let store = Store::new(&config(&redis.url()), Some(events.clone())).unwrap();
        let ping = || {
            store
                .call(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
        };
        assert_eq!(ping().await.as_deref(), Some("PONG"));
        let port = redis.port;
        drop(redis);
        assert_eq!(ping().await, None);
        assert!(!store.counts().healthy);
        let again = TestRedis::start_on(port).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !store.counts().healthy {
            assert!(Instant::now() < deadline, "no probe brought the store back");
            let _ = ping().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(ping().await.as_deref(), Some("PONG"));
        let counts = store.counts();
        assert_eq!(counts.fallbacks, 1);
        let events = events.0.lock().unwrap();
        let outcomes: Vec<_> = events.iter().map(|e| e["outcome"].clone()).collect();
        assert_eq!(outcomes, ["unavailable", "ok"], "{events:?}");
        drop(again);
    }
}
