//! Proactive client-side rate limiting. Pipedream publishes per-project limits, so the limiter
//! state is shared process-wide by every client that talks to the same (base URL, project):
//! two `PipedreamClient`s, or the module functions and a client, draw on one budget. With a
//! shared store (`store.redis`) the budget and the 429 pauses are shared by every instance
//! (`shared_limit`), and while the store does not answer each instance limits itself locally
//! at quota ÷ `expectedInstances`. Per-user Connect token budgets stay in the process.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, RateLimiter};

use super::shared_limit::{SharedLimit, Verdict};
use super::store::Store;
use crate::engine::config::{EndpointClass, Quota, RateLimitConfig};
use crate::engine::error::{Error, Result};

/// A quota as governor enforces it: a token bucket that refills evenly (GCRA) and starts full,
/// so a burst up to `requests` is allowed after a quiet period.
fn governor_quota(quota: Quota) -> governor::Quota {
    let requests = NonZeroU32::new(quota.requests.max(1)).unwrap_or(NonZeroU32::MIN);
    let per_request_ns =
        (quota.period_ms.saturating_mul(1_000_000) / u64::from(requests.get())).max(1);
    governor::Quota::with_period(Duration::from_nanos(per_request_ns))
        .unwrap_or_else(|| governor::Quota::per_second(requests))
        .allow_burst(requests)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    base_url: String,
    project: String,
    class: EndpointClass,
    quota: Quota,
}

/// One class's budget, and how long the server asked everyone to wait (a 429's
/// `Retry-After` pauses the class for all callers, not only the one that got it).
struct Bucket {
    limiter: DefaultDirectRateLimiter,
    paused: Mutex<Option<Pause>>,
}

/// A server-asked pause: when the 429 arrived and until when it holds.
#[derive(Clone, Copy)]
struct Pause {
    since: Instant,
    until: Instant,
}

static REGISTRY: LazyLock<Mutex<HashMap<Key, Arc<Bucket>>>> = LazyLock::new(Default::default);

fn shared(key: Key) -> Arc<Bucket> {
    let mut map = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key.clone())
        .or_insert_with(|| {
            Arc::new(Bucket {
                limiter: RateLimiter::direct(governor_quota(key.quota)),
                paused: Mutex::new(None),
            })
        })
        .clone()
}

pub struct Limiter {
    enabled: bool,
    max_wait: Duration,
    buckets: [Arc<Bucket>; 5],
    /// Connect tokens are limited per external user, not per project.
    tokens_per_user: Arc<DefaultKeyedRateLimiter<String>>,
    shared: Option<Shared>,
}

/// With a shared store: the limits every instance draws on, and the local buckets to fall back
/// on while the store does not answer, each at quota ÷ `expectedInstances` so that the
/// instances together stay within the budget.
struct Shared {
    limit: SharedLimit,
    fallback: [Arc<Bucket>; 5],
    tokens_per_user: Arc<DefaultKeyedRateLimiter<String>>,
}

/// `quota` split between `instances`, at least one request per period each.
fn share_of(quota: Quota, instances: u32) -> Quota {
    Quota::per((quota.requests / instances.max(1)).max(1), quota.period_ms)
}

type UserKey = (String, String, Quota);
static USER_REGISTRY: LazyLock<Mutex<HashMap<UserKey, Arc<DefaultKeyedRateLimiter<String>>>>> =
    LazyLock::new(Default::default);

impl Limiter {
    pub fn new(
        base_url: &str,
        project: Option<&str>,
        config: &RateLimitConfig,
        store: Option<&Store>,
    ) -> Self {
        let bucket = |class, quota| {
            shared(Key {
                base_url: base_url.to_owned(),
                project: project.unwrap_or_default().to_owned(),
                class,
                quota,
            })
        };
        let buckets = EndpointClass::ALL.map(|class| bucket(class, config.quota(class)));
        let per_user = |quota| {
            let key = (
                base_url.to_owned(),
                project.unwrap_or_default().to_owned(),
                quota,
            );
            USER_REGISTRY
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_insert_with(|| Arc::new(RateLimiter::keyed(governor_quota(quota))))
                .clone()
        };
        let tokens_per_user = per_user(config.tokens);
        let shared = store.map(|store| Shared {
            limit: SharedLimit::new(
                store.clone(),
                base_url,
                project.unwrap_or_default(),
                |class| config.quota(class),
            ),
            fallback: EndpointClass::ALL.map(|class| {
                bucket(
                    class,
                    share_of(config.quota(class), store.expected_instances()),
                )
            }),
            tokens_per_user: per_user(share_of(config.tokens, store.expected_instances())),
        });
        Self {
            enabled: config.enabled,
            max_wait: config.max_wait,
            buckets,
            tokens_per_user,
            shared,
        }
    }

    /// Waits for capacity in `class` and returns how long it waited. Fails without waiting when
    /// capacity will not return within `max_wait`, so a caller is never parked for minutes.
    pub async fn acquire(&self, class: EndpointClass) -> Result<Duration> {
        if !self.enabled {
            return Ok(Duration::ZERO);
        }
        let refused = |wait| Error::LocalRateLimit {
            class: class.as_str(),
            retry_after: wait,
        };
        let bucket = &self.buckets[class as usize];
        let paused = bucket
            .paused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .and_then(|p| p.until.checked_duration_since(Instant::now()));
        let mut waited = Duration::ZERO;
        if let Some(pause) = paused {
            if pause > self.max_wait {
                return Err(refused(pause));
            }
            tokio::time::sleep(pause).await;
            waited = pause;
        }
        // Connect tokens have a per-user budget (`try_user_token`), not a per-project one.
        if class == EndpointClass::Tokens {
            return Ok(waited);
        }
        let Some(shared) = &self.shared else {
            return Ok(waited + self.take(&bucket.limiter, class).await?);
        };
        match shared.limit.acquire(class, self.max_wait).await {
            // Booked in the store: the slot is this caller's after `wait`, with no second ask.
            Some(Verdict::Go { wait }) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok(waited + wait)
            }
            Some(Verdict::Refused { wait }) => Err(refused(wait)),
            None => {
                let fallback = &shared.fallback[class as usize].limiter;
                Ok(waited + self.take(fallback, class).await?)
            }
        }
    }

    /// One request from a local bucket, waiting for it within `max_wait`.
    async fn take(
        &self,
        bucket: &DefaultDirectRateLimiter,
        class: EndpointClass,
    ) -> Result<Duration> {
        let Err(not_until) = bucket.check() else {
            return Ok(Duration::ZERO);
        };
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let refused = || Error::LocalRateLimit {
            class: class.as_str(),
            retry_after: wait,
        };
        if wait > self.max_wait {
            return Err(refused());
        }
        let start = Instant::now();
        tokio::time::timeout(self.max_wait, bucket.until_ready())
            .await
            .map_err(|_| refused())?;
        Ok(start.elapsed())
    }

    /// The per-user Connect token budget. Fails at once when it is spent: a Connect Link is a
    /// nicety on an error path and is not worth waiting for.
    /// With a shared store the budget is every instance's; while it does not answer, this
    /// instance's share of it.
    pub async fn try_user_token(&self, external_user_id: &str) -> bool {
        if !self.enabled {
            return true;
        }
        let local = match &self.shared {
            None => &self.tokens_per_user,
            Some(shared) => match shared.limit.try_user_token(external_user_id).await {
                Some(booked) => return booked,
                None => &shared.tokens_per_user,
            },
        };
        local.check_key(&external_user_id.to_owned()).is_ok()
    }

    /// Holds back every request of `class` for `how_long` (the server's `Retry-After`), in
    /// this process and, with a shared store, in every instance.
    /// Callers clamp `how_long`; an `Instant` overflow is clamped here too.
    pub async fn pause(&self, class: EndpointClass, how_long: Duration) {
        let since = Instant::now();
        let until = since
            .checked_add(how_long)
            .unwrap_or(since + Duration::from_secs(86_400));
        {
            let mut paused = self.buckets[class as usize]
                .paused
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if paused.is_none_or(|p| p.until < until) {
                *paused = Some(Pause { since, until });
            }
        }
        if let Some(shared) = &self.shared {
            shared.limit.pause(class, how_long).await;
        }
    }

    /// A request of `class` sent at `sent_at` succeeded: a pause that began before it was
    /// sent is over, since the server is answering again.
    pub async fn resume(&self, class: EndpointClass, sent_at: Instant) {
        {
            let mut paused = self.buckets[class as usize]
                .paused
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if paused.is_some_and(|p| p.since < sent_at) {
                *paused = None;
            }
        }
        if let Some(shared) = &self.shared {
            shared.limit.resume(class, sent_at).await;
        }
    }

    /// The shared store the limits live in, if any.
    pub fn store(&self) -> Option<&Store> {
        self.shared.as_ref().map(|s| s.limit.store())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::RateLimitConfig;

    fn config(read: Quota, max_wait_ms: u64) -> RateLimitConfig {
        RateLimitConfig {
            enabled: true,
            max_wait: Duration::from_millis(max_wait_ms),
            read,
            execute: Quota::per(10, 1000),
            accounts: Quota::per(10, 1000),
            tokens: Quota::per(10, 1000),
            proxy: Quota::per(10, 1000),
        }
    }

    #[tokio::test]
    async fn burst_then_refuses_when_the_wait_is_too_long() {
        let l = Limiter::new("http://t1", None, &config(Quota::per(3, 60_000), 10), None);
        for _ in 0..3 {
            assert_eq!(
                l.acquire(EndpointClass::Read).await.unwrap(),
                Duration::ZERO
            );
        }
        let err = l.acquire(EndpointClass::Read).await.unwrap_err();
        assert_eq!(err.code().as_str(), "PIPEDREAM_RATE_LIMITED");
        match err {
            Error::LocalRateLimit { retry_after, .. } => {
                assert!(retry_after > Duration::from_secs(10))
            }
            other => panic!("unexpected {other:?}"),
        }
        // Other classes have their own budget.
        assert!(l.acquire(EndpointClass::Execute).await.is_ok());
    }

    #[tokio::test]
    async fn waits_for_capacity_within_max_wait() {
        let l = Limiter::new("http://t2", None, &config(Quota::per(1, 50), 1_000), None);
        l.acquire(EndpointClass::Read).await.unwrap();
        let waited = l.acquire(EndpointClass::Read).await.unwrap();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
    }

    #[tokio::test]
    async fn limiters_with_the_same_key_share_one_budget() {
        let cfg = config(Quota::per(2, 60_000), 0);
        let a = Limiter::new("http://t3", Some("proj_a"), &cfg, None);
        let b = Limiter::new("http://t3", Some("proj_a"), &cfg, None);
        let other_project = Limiter::new("http://t3", Some("proj_b"), &cfg, None);
        a.acquire(EndpointClass::Read).await.unwrap();
        b.acquire(EndpointClass::Read).await.unwrap();
        assert!(a.acquire(EndpointClass::Read).await.is_err());
        assert!(other_project.acquire(EndpointClass::Read).await.is_ok());
    }

    #[tokio::test]
    async fn a_pause_holds_back_every_caller_of_the_class() {
        let cfg = config(Quota::per(100, 1000), 2_000);
        let a = Limiter::new("http://t5", None, &cfg, None);
        let b = Limiter::new("http://t5", None, &cfg, None);
        a.pause(EndpointClass::Read, Duration::from_millis(120))
            .await;
        let waited = b.acquire(EndpointClass::Read).await.unwrap();
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert_eq!(
            b.acquire(EndpointClass::Execute).await.unwrap(),
            Duration::ZERO
        );
        // A pause longer than max_wait refuses at once.
        let impatient = Limiter::new("http://t5", None, &config(Quota::per(100, 1000), 10), None);
        a.pause(EndpointClass::Read, Duration::from_secs(5)).await;
        assert!(impatient.acquire(EndpointClass::Read).await.is_err());
    }

    #[tokio::test]
    async fn connect_tokens_are_limited_per_user() {
        let mut cfg = config(Quota::per(100, 1000), 0);
        cfg.tokens = Quota::per(2, 60_000);
        let l = Limiter::new("http://t6", None, &cfg, None);
        assert!(l.try_user_token("alice").await && l.try_user_token("alice").await);
        assert!(!l.try_user_token("alice").await);
        assert!(l.try_user_token("bob").await);
    }

    #[tokio::test]
    async fn disabled_never_waits() {
        let mut cfg = config(Quota::per(1, 60_000), 0);
        cfg.enabled = false;
        let l = Limiter::new("http://t4", None, &cfg, None);
        for _ in 0..10 {
            l.acquire(EndpointClass::Read).await.unwrap();
        }
    }

    /// Redis away: each instance limits itself at quota ÷ expectedInstances, and says so once.
    #[tokio::test]
    async fn an_unreachable_store_falls_back_to_a_share_of_the_quota() {
        use crate::engine::transport::store::tests::{closed_port, config as store_config};
        let events = std::sync::Arc::new(crate::engine::events::tests::Collect::default());
        let url = format!("redis://:pw-fallback@127.0.0.1:{}", closed_port());
        let store = Store::new(&store_config(&url), Some(events.clone())).unwrap(); // 4 instances
        let cfg = config(Quota::per(100, 1000), 10);
        let mut cfg = cfg;
        cfg.execute = Quota::per(8, 60_000);
        let l = Limiter::new("http://t7", None, &cfg, Some(&store));
        for _ in 0..2 {
            assert_eq!(
                l.acquire(EndpointClass::Execute).await.unwrap(),
                Duration::ZERO
            );
        }
        let err = l.acquire(EndpointClass::Execute).await.unwrap_err();
        assert_eq!(err.code().as_str(), "PIPEDREAM_RATE_LIMITED");
        assert_eq!(store.counts().fallbacks, 1);
        assert_eq!(store.counts().fallback_calls, 3);
        assert_eq!(events.0.lock().unwrap().len(), 1);
        // A pause still holds in this process, and writing it to the absent store fails quietly.
        l.pause(EndpointClass::Read, Duration::from_millis(60))
            .await;
        assert!(
            l.acquire(EndpointClass::Read).await.is_err(),
            "longer than max_wait"
        );
    }
}
