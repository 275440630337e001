//! The response cache: TTL, bounded size, and one upstream request for concurrent misses of the
//! same key (moka's entry API coalesces them). Errors are never cached.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use super::error::{Error, Result};

pub struct ResponseCache<K, V> {
    /// `None` when caching is turned off (`ttlMs: 0`).
    inner: Option<moka::future::Cache<K, V>>,
}

/// A value and whether it came from the cache rather than from this call's own request.
pub struct Lookup<V> {
    pub value: V,
    pub cached: bool,
}

impl<K, V> ResponseCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(ttl: Duration, max_entries: u64) -> Self {
        let inner = (!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build()
        });
        Self { inner }
    }

    /// Returns the cached value or runs `fetch` once for all concurrent callers of `key`.
    pub async fn get_or_fetch<F>(&self, key: K, fetch: F) -> Result<Lookup<V>>
    where
        F: Future<Output = Result<V>>,
    {
        let Some(cache) = &self.inner else {
            return fetch.await.map(|value| Lookup {
                value,
                cached: false,
            });
        };
        let entry = cache
            .entry(key)
            .or_try_insert_with(fetch)
            .await
            .map_err(|e: Arc<Error>| (*e).clone())?;
        let cached = !entry.is_fresh();
        Ok(Lookup {
            value: entry.into_value(),
            cached,
        })
    }

    /// A non-blocking look-up for the synchronous fast path: it answers only when the cache
    /// can answer at once, and otherwise says "miss" so the caller takes the async path.
    pub fn probe(&self, key: &K) -> Option<V> {
        self.inner.as_ref()?.get(key).now_or_never().flatten()
    }

    pub fn clear(&self) {
        if let Some(cache) = &self.inner {
            cache.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_misses_run_one_fetch() {
        let cache: Arc<ResponseCache<String, u32>> =
            Arc::new(ResponseCache::new(Duration::from_secs(60), 100));
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
    async fn errors_are_not_cached() {
        let cache: ResponseCache<&str, u32> = ResponseCache::new(Duration::from_secs(60), 10);
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
        let cache: ResponseCache<&str, u32> = ResponseCache::new(Duration::from_millis(50), 10);
        cache.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(cache.probe(&"k").is_none());

        let off: ResponseCache<&str, u32> = ResponseCache::new(Duration::ZERO, 10);
        off.get_or_fetch("k", async { Ok(1) }).await.unwrap();
        assert!(!off.get_or_fetch("k", async { Ok(2) }).await.unwrap().cached);
        assert!(off.probe(&"k").is_none());
    }
}
