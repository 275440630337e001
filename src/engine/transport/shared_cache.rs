//! The discovery cache's second level (`store.redis`): the answers of catalog reads (the app
//! list, an app, an app's components, a component) kept in Redis as the JSON text the API sent.
//! An instance that starts cold reads what another already fetched, and instances that miss at
//! once fetch each page once between them: one fills it, the others wait for it.
//!
//! Keys, under the store's prefix, with `s` = the first 8 hex digits of sha256(base URL) and `h`
//! = the first 32 of sha256(`<base URL>|<path>?<query>`):
//! - `cache:<s>:{h}`: `<fetched, in ms on Redis's clock>\n<body>`, PX = TTL + stale window. Fresh
//!   for the TTL (`cache.ttlMs`), then kept for the stale window (`cache.staleMs`) to answer when
//!   a refresh fails for a reason that passes (stale-if-error, as the first level does).
//! - `cache:<s>:{h}:fill`: held (PX `FILL_FOR`) by the one instance fetching it;
//! - `cache:<s>:cleared`: when `clearCache()` last ran in any instance (ms on Redis's clock):
//!   entries written before it are not used. PX = TTL + stale window, after which they are gone.
//!
//! Ages are measured on Redis's clock (`TIME` in the scripts), so the instances' clocks need not
//! agree. The store away or slow, every read is this instance's own request, as without a store.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::Script;
use serde::de::DeserializeOwned;

use super::cache::Dated;
use super::store::Store;
use crate::engine::error::Result;
use crate::engine::hash::sha256_hex;
use crate::engine::json;

/// How long one instance may take to fill an entry before the others stop waiting for it and
/// one of them fetches it instead (a filler that died, or a very slow API).
const FILL_FOR: Duration = Duration::from_secs(10);
/// How often an instance waiting on another's fill looks for the entry.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Redis's clock in ms, the entry KEYS[1] (empty when there is none) and when the entries were
/// last cleared (KEYS[2], 0 when never).
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return {now, redis.call('GET', KEYS[1]) or '', tonumber(redis.call('GET', KEYS[2]) or '0')}
",
    )
});

/// Keeps ARGV[1] under KEYS[1], stamped with Redis's clock, for ARGV[2] ms, and lets go of the
/// fill lock KEYS[2] while it is still ARGV[3]'s.
static WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', now) .. '\n' .. ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
",
    )
});

/// Marks the entries as cleared ARGV[1] ms ago (unless a later clear is marked), for ARGV[2] ms:
/// by then every entry written before it has expired.
static CLEAR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local at = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[1])
if at > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', at), 'PX', ARGV[2])
end
return 1
",
    )
});

/// An entry read back: its body and how old it is.
struct Entry<'a> {
    body: &'a [u8],
    age: Duration,
}

impl<'a> Entry<'a> {
    /// `<ms>\n<body>` at Redis time `now`; `None` for text this version did not write, and for
    /// an entry written before the clear at `cleared` (or in its millisecond).
    fn parse(now: i64, cleared: i64, stored: &'a [u8]) -> Option<Self> {
        let split = stored.iter().position(|&b| b == b'\n')?;
        let at: i64 = std::str::from_utf8(&stored[..split]).ok()?.parse().ok()?;
        if at <= cleared {
            return None;
        }
        let age = u64::try_from(now.saturating_sub(at)).unwrap_or(0);
        Some(Self {
            body: &stored[split + 1..],
            age: Duration::from_millis(age),
        })
    }
}

pub struct SharedCache {
    store: Store,
    base_url: String,
    /// `cache:<s>:`, under the store's prefix: every key of this base URL starts so.
    prefix: String,
    ttl: Duration,
    stale: Duration,
    clears: Arc<Clears>,
    /// Fresh entries read, and entries written, by this instance.
    hits: AtomicU64,
    fills: AtomicU64,
}

/// `clearCache()` marked in the store: when it last ran in any instance, on Redis's clock.
struct Clears {
    store: Store,
    /// `cache:<s>:cleared`.
    key: String,
    /// How long the mark is kept: by then every entry written before it has expired.
    px: u64,
    /// A clear not yet marked: `clearCache()` is called from JS's thread.
    pending: Mutex<Option<Instant>>,
}

impl Clears {
    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a pending clear in the store; kept pending while the store does not answer.
    async fn mark(&self) {
        let Some(at) = *self.lock_pending() else {
            return;
        };
        // Rounded down: `Store::px` rounds a short time up to 1 ms (PX 0 is invalid), which would
        // date the clear before an entry written in the same millisecond and keep it.
        let ago = u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX);
        let marked: Option<i64> = self
            .store
            .call(|mut connection| async move {
                CLEAR
                    .key(&self.key)
                    .arg(ago)
                    .arg(self.px)
                    .invoke_async(&mut connection)
                    .await
            })
            .await;
        let mut pending = self.lock_pending();
        // A clear made while this one was marked stays pending.
        if marked.is_some() && *pending == Some(at) {
            *pending = None;
        }
    }
}

/// What a fetch answers: the body as it came, and its decoded value.
type Filled<T> = Result<(Bytes, T)>;

impl SharedCache {
    pub fn new(store: Store, base_url: &str, ttl: Duration, stale: Duration) -> Self {
        let site = &sha256_hex(base_url.as_bytes())[..8];
        let prefix = store.key(&format!("cache:{site}:"));
        Self {
            clears: Arc::new(Clears {
                store: store.clone(),
                key: format!("{prefix}cleared"),
                px: Store::px(ttl + stale),
                pending: Mutex::new(None),
            }),
            prefix,
            store,
            base_url: base_url.to_owned(),
            ttl,
            stale,
            hits: AtomicU64::new(0),
            fills: AtomicU64::new(0),
        }
    }

    /// The answer to the GET `target` (path and query): a fresh entry from the store, or
    /// `fetch`'s, shared for the others. `fetch` answers the body as it came with its decoded
    /// value; only bodies that decoded are shared. A stored body that no longer decodes as `T`
    /// is a miss.
    pub async fn read<T, F, Fut>(&self, target: &str, fetch: F) -> Result<Dated<T>>
    where
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Filled<T>>,
    {
        self.clears.mark().await;
        let h = &sha256_hex(format!("{}|{target}", self.base_url).as_bytes())[..32];
        let key = format!("{}{{{h}}}", self.prefix);
        let fill = format!("{key}:fill");
        let waited = Instant::now();
        loop {
            let stale = match self.get::<T>(&key).await {
                None => return fetch().await.map(|(_, value)| Dated::now(value)),
                Some(Ok(fresh)) => return Ok(self.hit(fresh)),
                Some(Err(stale)) => stale,
            };
            let owner = match self.store.lock(&fill, FILL_FOR).await {
                // The filler before may have written it and let go between the read and the lock.
                Some(Some(owner)) => match self.get::<T>(&key).await {
                    Some(Ok(fresh)) => {
                        self.store.delete_if(&fill, &owner).await;
                        return Ok(self.hit(fresh));
                    }
                    _ => owner,
                },
                // Another instance is filling it: wait for its entry, within its lock's life.
                Some(None) if waited.elapsed() < FILL_FOR => {
                    tokio::time::sleep(POLL_EVERY).await;
                    continue;
                }
                // The store away, or the filler did not deliver in time: fetch our own.
                _ => String::new(),
            };
            return match fetch().await {
                Ok((body, value)) => {
                    self.write(&key, &fill, &body, &owner).await;
                    Ok(Dated::now(value))
                }
                Err(e) => {
                    if !owner.is_empty() {
                        self.store.delete_if(&fill, &owner).await;
                    }
                    match stale {
                        Some(stale) if e.is_transient() => Ok(stale),
                        _ => Err(e),
                    }
                }
            };
        }
    }

    /// Fresh entries read, and entries written (`getStats().store`).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.fills.load(Ordering::Relaxed),
        )
    }

    fn hit<T>(&self, fresh: Dated<T>) -> Dated<T> {
        self.hits.fetch_add(1, Ordering::Relaxed);
        fresh
    }

    /// Forgets every entry, for every instance: those written before now are not used again
    /// (they expire on their own). Marked in the store at once in the background when called
    /// on the runtime, and in any case before this instance's next read.
    pub fn clear(&self) {
        *self.clears.lock_pending() = Some(Instant::now());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let clears = Arc::clone(&self.clears);
            runtime.spawn(async move { clears.mark().await });
        }
    }

    /// The entry under `key`: `Ok` when it is fresh, else `Err` with what may be served if a
    /// refresh fails (one within the stale window, or nothing); `None` when the store did not
    /// answer. An entry this instance cannot use (unreadable, cleared) is nothing.
    async fn get<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Option<std::result::Result<Dated<T>, Option<Dated<T>>>> {
        let (now, stored, cleared): (i64, Vec<u8>, i64) = self
            .store
            .call(|mut connection| async move {
                READ.key(key)
                    .key(&self.clears.key)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        let found = Entry::parse(now, cleared, &stored)
            .filter(|e| e.age < self.ttl + self.stale)
            .and_then(|e| {
                let value = json::from_bytes::<T>(e.body).ok()?;
                Some(Dated {
                    value,
                    age: Some(e.age),
                })
            });
        Some(match found {
            Some(d) if d.age.is_some_and(|age| age < self.ttl) => Ok(d),
            other => Err(other),
        })
    }

    async fn write(&self, key: &str, fill: &str, body: &[u8], owner: &str) {
        let px = Store::px(self.ttl + self.stale);
        let written: Option<i64> = self
            .store
            .call(|mut connection| async move {
                WRITE
                    .key(key)
                    .key(fill)
                    .arg(body)
                    .arg(px)
                    .arg(owner)
                    .invoke_async(&mut connection)
                    .await
            })
            .await;
        if written.is_some() {
            self.fills.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::error::Error;
    use crate::engine::transport::store::tests::{TestRedis, config};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn cache(redis: &TestRedis, ttl: Duration, stale: Duration) -> SharedCache {
        let store = Store::new(&config(&redis.url()), None).unwrap();
        SharedCache::new(store, "https://api.example", ttl, stale)
    }

    fn answer(n: u32) -> Filled<u32> {
        Ok((Bytes::from(n.to_string()), n))
    }

    #[tokio::test]
    async fn concurrent_misses_in_several_caches_fetch_once_and_the_rest_read_it() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let caches: Vec<_> = (0..4)
            .map(|_| Arc::new(cache(&redis, Duration::from_secs(60), Duration::ZERO)))
            .collect();
        let fetches = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = caches
            .iter()
            .map(|c| {
                let (c, fetches) = (c.clone(), fetches.clone());
                tokio::spawn(async move {
                    c.read("/v1/connect/apps?limit=100", || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        answer(7)
                    })
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut shared = 0;
        for t in tasks {
            let d = t.await.unwrap();
            assert_eq!(d.value, 7);
            shared += usize::from(d.age.is_some());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(shared, 3);
        // Another target is another entry.
        let other = caches[0].read("/v1/connect/apps?limit=50", || async { answer(8) });
        assert_eq!(other.await.unwrap().value, 8);
    }

    #[tokio::test]
    async fn a_stale_entry_answers_only_a_refresh_that_failed_for_a_passing_reason() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let c = cache(&redis, Duration::from_millis(100), Duration::from_secs(60));
        c.read("/a", || async { answer(1) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let down = c
            .read::<u32, _, _>("/a", || async { Err(Error::Network("reset".into())) })
            .await
            .unwrap();
        assert_eq!(down.value, 1);
        assert!(down.age.unwrap() >= Duration::from_millis(100));
        let gone = c
            .read::<u32, _, _>("/a", || async {
                Err(Error::Api {
                    status: 404,
                    body: String::new(),
                    retry_after: None,
                })
            })
            .await;
        assert!(gone.is_err());
        // A refresh that works replaces it, fresh.
        let again = c.read("/a", || async { answer(2) }).await.unwrap();
        assert_eq!((again.value, again.age), (2, None));
        assert_eq!(c.read("/a", || async { answer(3) }).await.unwrap().value, 2);
    }

    #[tokio::test]
    async fn unreadable_entries_are_misses_and_clear_forgets_what_was_there() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let c = cache(&redis, Duration::from_secs(60), Duration::ZERO);
        c.read("/a", || async { answer(1) }).await.unwrap();
        let mut admin = redis.admin().await;
        let keys = redis.keys("pdc-test:cache:*").await;
        assert_eq!(keys.len(), 1, "{keys:?}");
        for garbage in ["not an entry", "123\n\"not a number\""] {
            let _: () = redis::cmd("SET")
                .arg(&keys[0])
                .arg(garbage)
                .query_async(&mut admin)
                .await
                .unwrap();
            assert_eq!(c.read("/a", || async { answer(2) }).await.unwrap().value, 2);
        }
        // A clear: nobody uses the entries written before it.
        let other = cache(&redis, Duration::from_secs(60), Duration::ZERO);
        assert_eq!(
            other
                .read("/a", || async { answer(9) })
                .await
                .unwrap()
                .value,
            2
        );
        c.clear();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(c.read("/a", || async { answer(3) }).await.unwrap().value, 3);
        assert_eq!(c.read("/a", || async { answer(4) }).await.unwrap().value, 3);
        other.read("/b", || async { answer(5) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        c.clear();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(c.read("/a", || async { answer(6) }).await.unwrap().value, 6);
        // The other instance sees the clear marked in the store.
        assert_eq!(
            other
                .read("/b", || async { answer(7) })
                .await
                .unwrap()
                .value,
            7
        );
        assert_eq!(
            other
                .read("/a", || async { answer(8) })
                .await
                .unwrap()
                .value,
            6
        );
    }

    #[test]
    fn entries_parse_only_in_the_form_written() {
        let e = Entry::parse(1_500, 0, b"1000\n{\"a\":1}").unwrap();
        assert_eq!(
            (e.body, e.age),
            (&b"{\"a\":1}"[..], Duration::from_millis(500))
        );
        assert!(Entry::parse(0, 0, b"").is_none());
        assert!(Entry::parse(0, 0, b"x\n{}").is_none());
        // Written before the last clear, or in its millisecond.
        assert!(Entry::parse(1_500, 1_000, b"1000\n1").is_none());
        assert!(Entry::parse(1_500, 999, b"1000\n1").is_some());
        // A clock that went back reads as age 0, not as a huge age.
        assert_eq!(Entry::parse(0, 0, b"10\n1").unwrap().age, Duration::ZERO);
    }
}
