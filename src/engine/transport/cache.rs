//! The response cache: TTL, bounded size, one upstream request for concurrent misses of the
//! same key, and stale-if-error: when a refresh fails for a reason that will pass (network,
//! timeout, 5xx, 429) and an expired answer younger than `ttl + stale` exists, that answer is
//! served and marked stale. Errors are never cached. A value may come from the shared store's
//! level below (`shared_cache`) already aged: it is kept as old as it is, so the TTL counts from
//! when any instance fetched it, not from when this one read it.

use std::future::Future;
use std::hash::Hash;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use moka::ops::compute::{CompResult, Op};

use crate::engine::error::{Error, Result};
use crate::engine::stats::CacheCounts;

/// A cache made when first used. Each moka cache allocates its read and write logs up front
/// (about 18 KB), a client has nine, and a client uses some of them only: made eagerly they were
/// most of a new client's memory and construction time.
pub type OnFirstUse<T> = LazyLock<T, Box<dyn FnOnce() -> T + Send>>;

pub fn on_first_use<T>(make: impl FnOnce() -> T + Send + 'static) -> OnFirstUse<T> {
    LazyLock::new(Box::new(make))
}

pub struct ResponseCache<K, V> {
    /// `None` when caching is turned off (`ttlMs: 0`).
    inner: Option<OnFirstUse<moka::future::Cache<K, Stamped<V>>>>,
    ttl: Duration,
    /// How long past `ttl` an entry may still answer a failed refresh. moka keeps entries
    /// `ttl + stale` from their insertion, which for one read from the shared store already
    /// aged is longer: the window is checked against when it was fetched.
    stale_window: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    stale: AtomicU64,
    /// Moved on by every store, invalidation and clear: a `Ticket` of an older generation may
    /// name an entry that has been replaced or dropped since.
    generation: AtomicU64,
    /// The last failed fetch of each key, and when it ended: callers that were queued behind it
    /// take its failure instead of each trying again in turn. During an outage ten callers of
    /// one key otherwise finished one retry cycle apart, the last after ten of them.
    failures: std::sync::Mutex<std::collections::HashMap<K, (Instant, Error)>>,
}

/// What an answer kept outside the cache was made from: the cache's generation and when the
/// entry stops being fresh. While both hold, the entry is the one the answer was made from and
/// is still fresh, which the answer's holder can know without looking the entry up again.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    generation: u64,
    expires: Instant,
}

#[derive(Clone)]
struct Stamped<V> {
    value: V,
    fetched: Instant,
}

/// A value and, when it came from the shared store rather than from a request made for it now,
/// how long ago it was fetched there. A value built from several answers is as old as the oldest
/// (`Option::max`: any age is older than `None`, fetched now).
pub struct Dated<V> {
    pub value: V,
    pub age: Option<Duration>,
}

impl<V> Dated<V> {
    /// A value fetched just now.
    pub fn now(value: V) -> Self {
        Self { value, age: None }
    }

    pub fn map<U>(self, f: impl FnOnce(V) -> U) -> Dated<U> {
        Dated {
            value: f(self.value),
            age: self.age,
        }
    }
}

/// A value, whether it came from the cache rather than from this call's own request, and
/// whether it is an expired answer served because the refresh failed.
pub struct Lookup<V> {
    pub value: V,
    pub cached: bool,
    pub stale: bool,
    /// How long ago it was fetched, when not by this call's own request (as `Dated::age`).
    pub age: Option<Duration>,
}

impl<V> Lookup<V> {
    /// The value, as old as it is: for a value read on the way to another that is cached too.
    pub fn dated(self) -> Dated<V> {
        Dated {
            value: self.value,
            age: self.age,
        }
    }
}

impl<K, V> ResponseCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(ttl: Duration, stale: Duration, max_entries: u64) -> Self {
        let inner = (!ttl.is_zero()).then(|| {
            on_first_use(move || {
                moka::future::Cache::builder()
                    .max_capacity(max_entries)
                    .time_to_live(ttl + stale)
                    .build()
            })
        });
        Self {
            inner,
            ttl,
            stale_window: stale,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            failures: Default::default(),
        }
    }

    fn fresh(&self, s: &Stamped<V>) -> bool {
        s.fetched.elapsed() < self.ttl
    }

    /// Returns the fresh cached value, or runs `fetch` once for all concurrent callers of `key`.
    /// Not an `async fn`, for the reason `deadline::within` gives.
    pub fn get_or_fetch<F>(&self, key: K, fetch: F) -> impl Future<Output = Result<Lookup<V>>>
    where
        F: Future<Output = Result<V>>,
    {
        self.get_or_fetch_dated(key, fetch.map(|r| r.map(Dated::now)))
    }

    /// `get_or_fetch` for a `fetch` whose value may come from the shared store, already aged:
    /// such a value counts as cached, and as stale when it is older than the TTL (the store
    /// served it because its refresh failed).
    pub async fn get_or_fetch_dated<F>(&self, key: K, fetch: F) -> Result<Lookup<V>>
    where
        F: Future<Output = Result<Dated<V>>>,
    {
        // Boxed once here rather than moved (copied) into moka's closure: see `Client::answer`.
        let fetch = Box::pin(fetch);
        let Some(cache) = self.inner.as_deref() else {
            return fetch.await.map(|d| Lookup {
                value: d.value,
                cached: false,
                stale: false,
                age: d.age,
            });
        };
        if let Some(s) = cache.get(&key).await.filter(|s| self.fresh(s)) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Lookup {
                age: Some(s.fetched.elapsed()),
                value: s.value,
                cached: true,
                stale: false,
            });
        }
        // Callers of one key queue here; the first refreshes, the rest find its answer, or the
        // failure of a fetch that ended after they arrived.
        let arrived = Instant::now();
        let mut served_stale = false;
        let mut shared = false;
        let failed_key = key.clone();
        let outcome = cache
            .entry(key)
            .and_try_compute_with(|existing| {
                let existing = existing.map(|e| e.into_value());
                let (served_stale, shared) = (&mut served_stale, &mut shared);
                async move {
                    if existing.as_ref().is_some_and(|s| self.fresh(s)) {
                        return Ok(Op::Nop);
                    }
                    if let Some(e) = self.failed_since(&failed_key, arrived) {
                        return Err(e);
                    }
                    let started = Instant::now();
                    let fetched = fetch.await;
                    self.note_failure(&failed_key, fetched.as_ref().err());
                    match fetched {
                        Ok(Dated { value, age }) => {
                            *shared = age.is_some();
                            let fetched = age
                                .and_then(|age| Instant::now().checked_sub(age))
                                .unwrap_or(started);
                            Ok(Op::Put(Stamped { value, fetched }))
                        }
                        Err(e)
                            if e.is_transient()
                                && existing.as_ref().is_some_and(|s| {
                                    s.fetched.elapsed() < self.ttl + self.stale_window
                                }) =>
                        {
                            *served_stale = true;
                            Ok(Op::Nop)
                        }
                        Err(e) => Err(e),
                    }
                }
            })
            .await?;
        let (entry, cached) = match outcome {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) => {
                self.generation.fetch_add(1, Ordering::Release);
                served_stale |= !self.fresh(e.value());
                (e, shared)
            }
            CompResult::Unchanged(e) => (e, true),
            CompResult::Removed(_) | CompResult::StillNone(_) => {
                return Err(Error::BadResponse(
                    "the cache lost an entry it had just written".into(),
                ));
            }
        };
        let counter = match (cached, served_stale) {
            (_, true) => &self.stale,
            (true, false) => &self.hits,
            (false, false) => &self.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let Stamped { value, fetched } = entry.into_value();
        Ok(Lookup {
            value,
            cached,
            stale: served_stale,
            age: cached.then(|| fetched.elapsed()),
        })
    }

    /// The failure of a fetch of `key` that ended at or after `arrived`.
    fn failed_since(&self, key: &K, arrived: Instant) -> Option<Error> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (at, e) = failures.get(key)?;
        (*at >= arrived).then(|| e.clone())
    }

    /// Keeps `failed` as `key`'s last failure, or forgets it after a success. The callers
    /// queued behind a failure read it as soon as it ends: one a minute old has no reader
    /// left, and is dropped.
    fn note_failure(&self, key: &K, failed: Option<&Error>) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failed {
            Some(e) => {
                let now = Instant::now();
                failures.retain(|_, (at, _)| now.duration_since(*at) < Duration::from_secs(60));
                failures.insert(key.clone(), (now, e.clone()));
            }
            None if !failures.is_empty() => {
                failures.remove(key);
            }
            None => {}
        }
    }

    /// A non-blocking look-up for the synchronous fast path: it answers only with a fresh value
    /// the cache can give at once, and otherwise says "miss" so the caller takes the async path.
    pub fn probe(&self, key: &K) -> Option<V> {
        self.probe_ticket(key).map(|(value, _)| value)
    }

    /// `probe`, with the ticket an answer made from the value can be checked by (`redeem`).
    pub fn probe_ticket(&self, key: &K) -> Option<(V, Ticket)> {
        // Read before the entry: a store between the two makes the ticket old, never wrong.
        let generation = self.generation.load(Ordering::Acquire);
        let s = self.fresh_entry(key)?;
        // Never `None` with the TTLs a config allows (at most a day); checked, not assumed.
        let expires = s.fetched.checked_add(self.ttl)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some((
            s.value,
            Ticket {
                generation,
                expires,
            },
        ))
    }

    /// Whether the entry `ticket` came from is still in the cache and fresh, counted as a hit
    /// when it is. Nothing was stored, invalidated or cleared since, so it was not replaced;
    /// an entry moka dropped for room is still answered until it expires, as fresh as it was.
    pub fn redeem(&self, ticket: &Ticket) -> bool {
        let current = self.generation.load(Ordering::Acquire) == ticket.generation
            && Instant::now() < ticket.expires;
        if current {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        current
    }

    /// `probe` without counting a hit: for a value read on the way to another answer.
    pub fn peek(&self, key: &K) -> Option<V> {
        self.fresh_entry(key).map(|s| s.value)
    }

    /// The entry for `key` if the cache can give it at once and it is fresh.
    fn fresh_entry(&self, key: &K) -> Option<Stamped<V>> {
        let s = self.made()?.get(key).now_or_never().flatten()?;
        self.fresh(&s).then_some(s)
    }

    /// Hits, misses, stale serves and entries so far.
    pub fn counts(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            stale: self.stale.load(Ordering::Relaxed),
            // entry_count() lags until moka's housekeeping runs; iterating is exact.
            entries: self.made().map_or(0, |c| c.iter().count() as u64),
        }
    }

    pub fn clear(&self) {
        if let Some(cache) = self.made() {
            cache.invalidate_all();
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Drops one entry: an answer built from stale data must not count as fresh.
    pub async fn invalidate(&self, key: &K) {
        if let Some(cache) = self.made() {
            cache.invalidate(key).await;
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The moka cache if something has been stored: reading one never used makes nothing.
    fn made(&self) -> Option<&moka::future::Cache<K, Stamped<V>>> {
        self.inner.as_ref().and_then(LazyLock::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const NO_STALE: Duration = Duration::ZERO;

    #[test]
    fn a_fetch_is_held_once() {
        // A fetch that holds 4 KB across an await, as a component's request does.
        let large_fetch = || crate::engine::transport::deadline::large_call().map(Ok);
        let cache: ResponseCache<String, usize> =
            ResponseCache::new(Duration::from_secs(60), NO_STALE, 100);
        let dated = large_fetch().map(|r| r.map(Dated::now));
        let dated = std::mem::size_of_val(&cache.get_or_fetch_dated("k".into(), dated));
        let plain = std::mem::size_of_val(&cache.get_or_fetch("k".into(), large_fetch()));
        assert!(plain <= dated + 64, "{plain} bytes against {dated}");
    }

    #[tokio::test]
    async fn concurrent_misses_run_one_fetch() {
        let cache: Arc<ResponseCache<String, u32>> =
            Arc::new(ResponseCache::new(Duration::from_secs(60), NO_STALE, 100));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fetch("k".to_string(), async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok(7)
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut fresh = 0;
        for t in tasks {
            let l = t.await.unwrap();
            assert_eq!(l.value, 7);
            fresh += usize::from(!l.cached);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(fresh, 1);
        assert_eq!(cache.probe(&"k".to_string()), Some(7));
    }

    #[tokio::test]
    async fn a_ticket_holds_until_its_entry_may_have_changed_or_expires() {
        let cache: ResponseCache<&str, u32> =
            ResponseCache::new(Duration::from_millis(300), NO_STALE, 10);
        cache.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        let (value, ticket) = cache.probe_ticket(&"k").unwrap();
        assert_eq!(value, 1);
        assert!(cache.redeem(&ticket));
        // A hit stores nothing: the ticket holds. Each probe and redeem is a hit.
        cache.get_or_fetch("k", async { Ok(9) }).await.unwrap();
        assert!(cache.redeem(&ticket));
        assert_eq!(cache.counts().hits, 4);
        // Any store, invalidation or clear may have replaced the entry: the ticket is old.
        cache.get_or_fetch("other", async { Ok(2) }).await.unwrap();
        assert!(!cache.redeem(&ticket));
        let (_, ticket) = cache.probe_ticket(&"k").unwrap();
        cache.invalidate(&"other").await;
        assert!(!cache.redeem(&ticket));
        let (_, ticket) = cache.probe_ticket(&"k").unwrap();
        cache.clear();
        assert!(!cache.redeem(&ticket));
        assert!(cache.probe_ticket(&"k").is_none());
        // Past the TTL, neither the ticket nor a probe answers.
        cache.get_or_fetch("k", async { Ok(3) }).await.unwrap();
        let (_, ticket) = cache.probe_ticket(&"k").unwrap();
        let hits = cache.counts().hits;
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(!cache.redeem(&ticket));
        assert!(cache.probe_ticket(&"k").is_none());
        assert_eq!(cache.counts().hits, hits);
    }

    #[tokio::test]
    async fn the_moka_cache_is_made_by_the_first_store_only() {
        let cache: ResponseCache<&str, u32> =
            ResponseCache::new(Duration::from_secs(60), NO_STALE, 10);
        // Reads, counts, clearing and invalidation of a cache never stored to make nothing.
        assert_eq!(cache.probe(&"k"), None);
        assert_eq!(cache.counts().entries, 0);
        cache.clear();
        cache.invalidate(&"k").await;
        assert!(cache.made().is_none());
        cache.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        assert!(cache.made().is_some());
        assert_eq!(cache.probe(&"k"), Some(1));
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache: ResponseCache<&str, u32> =
            ResponseCache::new(Duration::from_secs(60), NO_STALE, 10);
        let err = cache
            .get_or_fetch("k", async { Err(Error::Network("down".into())) })
            .await;
        assert!(err.is_err());
        let ok = cache.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        assert!(!ok.cached);
        assert!(
            cache
                .get_or_fetch("k", async { Ok(2) })
                .await
                .unwrap()
                .cached
        );
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl_and_zero_ttl_disables() {
        let cache: ResponseCache<&str, u32> =
            ResponseCache::new(Duration::from_millis(50), NO_STALE, 10);
        cache.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(cache.probe(&"k").is_none());
        let again = cache.get_or_fetch("k", async { Ok(2) }).await.unwrap();
        assert_eq!((again.value, again.cached), (2, false));

        let off: ResponseCache<&str, u32> = ResponseCache::new(Duration::ZERO, NO_STALE, 10);
        off.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        assert!(!off.get_or_fetch("k", async { Ok(2) }).await.unwrap().cached);
        assert!(off.probe(&"k").is_none());
    }

    #[tokio::test]
    async fn serves_stale_only_for_transient_errors_within_the_window() {
        let cache: ResponseCache<&str, u32> =
            ResponseCache::new(Duration::from_millis(40), Duration::from_millis(200), 10);
        cache.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        // Expired: no synchronous answer, but a failed refresh falls back to it.
        assert!(cache.probe(&"k").is_none());
        let l = cache
            .get_or_fetch("k", async { Err(Error::Timeout(Duration::from_secs(1))) })
            .await
            .unwrap();
        assert_eq!((l.value, l.cached, l.stale), (1, true, true));
        // A permanent error is reported, not hidden behind old data.
        let e = cache
            .get_or_fetch("k", async {
                Err(Error::Api {
                    status: 404,
                    body: String::new(),
                    retry_after: None,
                })
            })
            .await;
        assert!(e.is_err());
        // Past ttl + stale the old answer is gone.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let e = cache
            .get_or_fetch("k", async { Err(Error::Network("down".into())) })
            .await;
        assert!(e.is_err());
    }

    #[tokio::test]
    async fn callers_queued_behind_a_failed_fetch_share_its_failure_and_later_ones_fetch_again() {
        let cache: Arc<ResponseCache<&str, u32>> = Arc::new(ResponseCache::new(
            Duration::from_secs(60),
            Duration::ZERO,
            10,
        ));
        let fetches = Arc::new(AtomicU64::new(0));
        let call = || {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            async move {
                cache
                    .get_or_fetch("k", async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<u32, _>(Error::Network("down".into()))
                    })
                    .await
                    .map(|l| l.value)
            }
        };
        let outcomes = futures::future::join_all((0..5).map(|_| tokio::spawn(call()))).await;
        for outcome in outcomes {
            assert!(matches!(outcome.unwrap(), Err(Error::Network(_))));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // A caller that comes after the failure tries again.
        assert!(call().await.is_err());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        let ok = cache.get_or_fetch("k", async { Ok(7) }).await.unwrap();
        assert_eq!(ok.value, 7);
    }

    #[tokio::test]
    async fn a_value_from_the_store_keeps_its_age_for_the_ttl_and_the_stale_window() {
        let cache: ResponseCache<&str, u32> =
            ResponseCache::new(Duration::from_millis(200), Duration::from_millis(300), 10);
        let aged = |ms| Dated {
            value: 1,
            age: Some(Duration::from_millis(ms)),
        };
        // Read from the store 150 ms old: cached, fresh for what is left of the TTL only.
        let l = cache
            .get_or_fetch_dated("k", async { Ok(aged(150)) })
            .await
            .unwrap();
        assert_eq!((l.cached, l.stale), (true, false));
        assert!(l.age >= Some(Duration::from_millis(150)));
        // A hit is as old: a value made from it and cached too must not outlive it.
        let hit = cache.get_or_fetch("k", async { Ok(2) }).await.unwrap();
        assert_eq!(hit.value, 1);
        assert!(hit.age >= Some(Duration::from_millis(150)));
        assert_eq!(cache.probe(&"k"), Some(1));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(cache.probe(&"k"), None);
        // Served by the store past its TTL (its refresh failed there): stale at once.
        let l = cache
            .get_or_fetch_dated("k", async { Ok(aged(450)) })
            .await
            .unwrap();
        assert_eq!((l.value, l.cached, l.stale), (1, true, true));
        // 100 ms later it is 550 ms old, past TTL + stale (500 ms) though moka still holds it
        // (inserted 100 ms ago): a failed refresh is reported, not answered with it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let e = cache
            .get_or_fetch("k", async { Err(Error::Network("down".into())) })
            .await;
        assert!(e.is_err());
    }
}
