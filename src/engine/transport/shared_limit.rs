//! The rate limits kept in the shared store, so that every instance of Director draws on one
//! budget per (base URL, project, class): the quota as a GCRA (the algorithm governor uses
//! locally) and the class's 429 pause, each decided in one Lua script, atomically, on Redis's
//! clock. Instances' own clocks never meet.
//!
//! Keys, under the store's prefix (default `pdc:`), for each class:
//! - `rl:{<project>:<base URL hash>:<class>}:tat`: the GCRA's theoretical arrival time (µs on
//!   Redis's clock), expiring when the bucket would be full again (PX = TAT − now);
//! - `rl:{…}:pause`: when the last 429's pause began, expiring when it ends (PX = the pause);
//! - `rl:{…tokens}:user:<hash>:tat`: for Connect tokens, whose budget is per external user, one
//!   TAT per user (the first 16 hex digits of sha256 of the user's id, which may be an email).
//!
//! The braces keep both keys of a class in one cluster slot.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::Script;

use super::store::Store;
use crate::engine::config::{EndpointClass, Quota};
use crate::engine::hash::sha256_hex;

/// Books one request of the class, or says how long until one could be booked.
///
/// KEYS: the TAT key, the pause key. ARGV: the emission interval T (µs, the quota's period ÷
/// requests), the burst tolerance τ = T × (requests − 1) (µs; the bucket holds `requests`), and
/// the longest wait the caller accepts (µs). Answers `{booked, wait µs, pause µs}`.
///
/// As governor: a request arriving at `a` with TAT `tat` may go at `max(a, tat − τ)`, and the
/// TAT becomes `max(tat, that) + T`. Here the request is booked (the TAT moved) whenever its
/// wait fits the caller's, so a caller sleeps the answered wait and goes without asking again;
/// a pause moves the arrival to its end. A wait longer than the caller's books nothing.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local pause = redis.call('PTTL', KEYS[2])
if pause < 0 then pause = 0 end
pause = pause * 1000
if pause > max_wait then return {0, pause, pause} end
local arrival = now + pause
local tat = arrival
local stored = redis.call('GET', KEYS[1])
if stored then tat = math.max(tonumber(stored), arrival) end
local at = math.max(arrival, tat - tau)
local wait = at - now
if wait > max_wait then return {0, wait, pause} end
local next_tat = math.max(tat, at) + t
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
  'PX', math.max(1, math.ceil((next_tat - now) / 1000)))
return {1, wait, pause}
",
    )
});

/// Holds back the class for ARGV[1] ms from now, unless a pause that ends later holds already.
/// The key's value is when the pause began (µs on Redis's clock), for `RESUME`.
static PAUSE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ms = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left >= ms then return 0 end
local clock = redis.call('TIME')
redis.call('SET', KEYS[1], clock[1] .. string.format('%06d', tonumber(clock[2])), 'PX', ms)
return 1
",
    )
});

/// A request sent ARGV[1] µs ago succeeded: a pause that began before it was sent is over.
/// Answers -1 when no pause holds, 1 when it ended it, 0 when the pause began later.
static RESUME: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local since = redis.call('GET', KEYS[1])
if not since then return -1 end
local clock = redis.call('TIME')
local sent = tonumber(clock[1]) * 1000000 + tonumber(clock[2]) - tonumber(ARGV[1])
if tonumber(since) < sent then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

/// What the store answered for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Booked: go after `wait`.
    Go { wait: Duration },
    /// Not booked: capacity (or the pause's end) is `wait` away, longer than the caller waits.
    Refused { wait: Duration },
}

/// A class's keys and its quota as ACQUIRE takes them, made once.
struct Class {
    /// `rl:{…}` under the store's prefix: the class's keys start so.
    slot: String,
    tat: String,
    pause: String,
    /// T, µs.
    emission_us: String,
    /// τ, µs.
    tolerance_us: String,
}

pub struct SharedLimit {
    store: Store,
    classes: [Class; 5],
    /// Per class: whether a shared pause may hold (this instance set one, or saw one), so that
    /// a success asks Redis to end it. Without one, successes cost no round trip.
    pause_known: [AtomicBool; 5],
}

impl SharedLimit {
    pub fn new(
        store: Store,
        base_url: &str,
        project: &str,
        quota: impl Fn(EndpointClass) -> Quota,
    ) -> Self {
        // The base URL is hashed: keys stay short, and it says nothing a reader of Redis needs.
        let base = &sha256_hex(base_url.as_bytes())[..8];
        let project = if project.is_empty() { "-" } else { project };
        let classes = EndpointClass::ALL.map(|class| {
            let q = quota(class);
            let requests = f64::from(q.requests.max(1));
            let emission_us = q.period_ms as f64 * 1000.0 / requests;
            let slot = store.key(&format!("rl:{{{project}:{base}:{}}}", class.as_str()));
            Class {
                tat: format!("{slot}:tat"),
                pause: format!("{slot}:pause"),
                slot,
                emission_us: format!("{emission_us:.3}"),
                tolerance_us: format!("{:.3}", emission_us * (requests - 1.0)),
            }
        });
        Self {
            store,
            classes,
            pause_known: Default::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Books one request of `class` if it can go within `max_wait`; `None` when the store did
    /// not answer (the caller limits locally instead).
    pub async fn acquire(&self, class: EndpointClass, max_wait: Duration) -> Option<Verdict> {
        self.book(class, &self.classes[class as usize].tat, max_wait)
            .await
    }

    /// Books a Connect token for `external_user_id` if that user's budget allows one now (no
    /// wait); `None` when the store did not answer.
    pub async fn try_user_token(&self, external_user_id: &str) -> Option<bool> {
        let class = EndpointClass::Tokens;
        let user = &sha256_hex(external_user_id.as_bytes())[..16];
        let tat = format!("{}:user:{user}:tat", self.classes[class as usize].slot);
        let verdict = self.book(class, &tat, Duration::ZERO).await?;
        Some(matches!(verdict, Verdict::Go { .. }))
    }

    /// ACQUIRE on the TAT key `tat` with `class`'s quota and pause.
    async fn book(&self, class: EndpointClass, tat: &str, max_wait: Duration) -> Option<Verdict> {
        let c = &self.classes[class as usize];
        let max_wait_us = max_wait.as_micros().min(u128::from(u64::MAX >> 12)) as u64;
        let (booked, wait_us, pause_us): (i64, i64, i64) = self
            .store
            .call(|mut connection| async move {
                ACQUIRE
                    .key(tat)
                    .key(&c.pause)
                    .arg(&c.emission_us)
                    .arg(&c.tolerance_us)
                    .arg(max_wait_us)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        if pause_us > 0 {
            self.pause_known[class as usize].store(true, Ordering::Relaxed);
        }
        let wait = Duration::from_micros(wait_us.max(0) as u64);
        Some(match booked {
            1 => Verdict::Go { wait },
            _ => Verdict::Refused { wait },
        })
    }

    /// Holds back `class` for every instance for `how_long` (already clamped by the caller).
    pub async fn pause(&self, class: EndpointClass, how_long: Duration) {
        let ms = how_long.as_millis().clamp(1, u128::from(u32::MAX)) as u64;
        self.pause_known[class as usize].store(true, Ordering::Relaxed);
        let key = self.classes[class as usize].pause.clone();
        let _: Option<i64> = self
            .store
            .call(|mut connection| async move {
                PAUSE.key(key).arg(ms).invoke_async(&mut connection).await
            })
            .await;
    }

    /// A request of `class` sent at `sent_at` succeeded: ends a shared pause that began before
    /// it was sent, as the local limiter does.
    pub async fn resume(&self, class: EndpointClass, sent_at: Instant) {
        let known = &self.pause_known[class as usize];
        if !known.load(Ordering::Relaxed) {
            return;
        }
        let key = self.classes[class as usize].pause.clone();
        let ago = sent_at
            .elapsed()
            .as_micros()
            .min(u128::from(u64::MAX >> 12)) as u64;
        let ended: Option<i64> = self
            .store
            .call(|mut connection| async move {
                RESUME.key(key).arg(ago).invoke_async(&mut connection).await
            })
            .await;
        if matches!(ended, Some(-1 | 1)) {
            known.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::transport::store::tests::{TestRedis, config};

    fn limit(redis: &TestRedis, project: &str, quota: Quota) -> SharedLimit {
        let store = Store::new(&config(&redis.url()), None).unwrap();
        SharedLimit::new(store, "http://127.0.0.1:1", project, |_| quota)
    }

    fn go_within(v: Option<Verdict>, low_ms: u64, high_ms: u64) {
        match v {
            Some(Verdict::Go { wait })
                if wait >= Duration::from_millis(low_ms)
                    && wait <= Duration::from_millis(high_ms) => {}
            other => panic!("expected Go within {low_ms}..{high_ms} ms, got {other:?}"),
        }
    }

    /// A Connect token budget is per user, for every instance: the user's id stays out of Redis.
    #[tokio::test]
    async fn connect_token_budgets_are_per_user_across_instances() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let quota = Quota::per(2, 60_000);
        let (a, b) = (
            limit(&redis, "proj_t", quota),
            limit(&redis, "proj_t", quota),
        );
        let user = "alice@example.com";
        assert_eq!(a.try_user_token(user).await, Some(true));
        assert_eq!(b.try_user_token(user).await, Some(true));
        assert_eq!(a.try_user_token(user).await, Some(false));
        assert_eq!(b.try_user_token(user).await, Some(false));
        assert_eq!(b.try_user_token("bob").await, Some(true));
        let keys = redis.keys("*user*").await;
        assert_eq!(keys.len(), 2, "{keys:?}");
        for k in &keys {
            assert!(!k.contains("alice") && !k.contains("bob"), "{k}");
            assert!(k.starts_with("pdc-test:rl:{proj_t:"), "{k}");
        }
    }

    /// Two instances (two connections) draw on one bucket: the burst, then one request per
    /// emission interval, booked in order; a wait longer than the caller's books nothing.
    #[tokio::test]
    async fn instances_share_one_bucket_and_book_their_slots() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let quota = Quota::per(5, 1_000); // T = 200 ms, a burst of 5
        let (a, b) = (
            limit(&redis, "proj_a", quota),
            limit(&redis, "proj_a", quota),
        );
        let long = Duration::from_secs(5);
        for l in [&a, &b, &a, &b, &a] {
            go_within(l.acquire(EndpointClass::Execute, long).await, 0, 0);
        }
        match b.acquire(EndpointClass::Execute, Duration::ZERO).await {
            Some(Verdict::Refused { wait }) => {
                assert!(
                    wait > Duration::from_millis(150) && wait <= Duration::from_millis(200),
                    "{wait:?}"
                )
            }
            other => panic!("{other:?}"),
        }
        go_within(a.acquire(EndpointClass::Execute, long).await, 150, 200);
        go_within(b.acquire(EndpointClass::Execute, long).await, 350, 400);
        // Other classes and projects have budgets of their own.
        go_within(a.acquire(EndpointClass::Read, long).await, 0, 0);
        go_within(
            limit(&redis, "proj_b", quota)
                .acquire(EndpointClass::Execute, long)
                .await,
            0,
            0,
        );

        // The TAT key expires when the bucket would be full again.
        let mut c = redis::Client::open(redis.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let key = &a.classes[EndpointClass::Execute as usize].tat;
        assert!(key.starts_with("pdc-test:rl:{proj_a:"), "{key}");
        let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut c).unwrap();
        assert!(ttl > 1_000 && ttl <= 1_400, "{ttl}");
    }

    /// A pause set by one instance holds the class for the others; a success sent after it
    /// began ends it, one sent before does not.
    #[tokio::test]
    async fn a_pause_holds_every_instance_until_a_later_success() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let quota = Quota::per(100, 1_000);
        let (a, b) = (
            limit(&redis, "proj_p", quota),
            limit(&redis, "proj_p", quota),
        );
        let before = Instant::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        a.pause(EndpointClass::Read, Duration::from_millis(400))
            .await;
        match b
            .acquire(EndpointClass::Read, Duration::from_millis(100))
            .await
        {
            Some(Verdict::Refused { wait }) => {
                assert!(wait > Duration::from_millis(300), "{wait:?}")
            }
            other => panic!("{other:?}"),
        }
        go_within(
            b.acquire(EndpointClass::Read, Duration::from_secs(1)).await,
            300,
            400,
        );
        // b saw the pause; a success of a request sent before it began leaves it.
        b.resume(EndpointClass::Read, before).await;
        go_within(
            b.acquire(EndpointClass::Read, Duration::from_secs(1)).await,
            300,
            400,
        );
        b.resume(EndpointClass::Read, Instant::now()).await;
        go_within(
            a.acquire(EndpointClass::Read, Duration::from_secs(1)).await,
            0,
            0,
        );
        // A shorter pause does not cut a longer one short.
        a.pause(EndpointClass::Read, Duration::from_millis(400))
            .await;
        b.pause(EndpointClass::Read, Duration::from_millis(10))
            .await;
        go_within(
            b.acquire(EndpointClass::Read, Duration::from_secs(1)).await,
            300,
            400,
        );
    }
}
