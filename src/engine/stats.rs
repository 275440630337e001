//! Counters a client keeps about its own traffic, for `getStats()` and the Prometheus text of
//! `metrics()`: requests by endpoint class and status, retries, rate-limit waits, replays,
//! errors by code and request latency. Names and numbers only.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

/// `getStats()`' latency percentiles are taken over this many most recent requests; the
/// Prometheus histogram counts every request.
const LATENCY_WINDOW: usize = 10_000;

#[derive(Default)]
pub struct Stats {
    /// (class, status) → count; status 0 when no HTTP answer came back.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Executions by outcome: `ok`, `failed` (not run) or `maybe_executed`.
    runs: Mutex<BTreeMap<&'static str, u64>>,
    latencies_ms: Mutex<VecDeque<f64>>,
    durations: Durations,
    retries: AtomicU64,
    rate_limit_waits: AtomicU64,
    rate_limit_wait_us: AtomicU64,
    replays: AtomicU64,
}

/// Cache counters, summed over a client's caches by the caller.
#[derive(Debug, Default, Clone, Copy)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
    pub stale: u64,
    pub entries: u64,
}

/// The shared store's state, read from it by the caller: which backend holds the shared state
/// (`local` when none is configured), whether it answers, how often it stopped answering
/// (`fallbacks`) and how many operations were served locally meanwhile (`fallback_calls`);
/// discovery reads answered from it (`cache_hits`, an entry another instance may have written)
/// and answers this instance fetched and shared there (`cache_fills`).
#[derive(Debug, Clone, Copy)]
pub struct StoreCounts {
    pub backend: &'static str,
    pub healthy: bool,
    pub fallbacks: u64,
    pub fallback_calls: u64,
    pub cache_hits: u64,
    pub cache_fills: u64,
}

impl Default for StoreCounts {
    fn default() -> Self {
        Self {
            backend: "local",
            healthy: true,
            fallbacks: 0,
            fallback_calls: 0,
            cache_hits: 0,
            cache_fills: 0,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Stats {
    pub fn request(&self, class: &'static str, status: u16, took: Duration) {
        *lock(&self.requests).entry((class, status)).or_default() += 1;
        let mut l = lock(&self.latencies_ms);
        if l.len() == LATENCY_WINDOW {
            l.pop_front();
        }
        l.push_back(took.as_secs_f64() * 1000.0);
        self.durations.observe(took);
    }

    pub fn error(&self, code: &'static str) {
        *lock(&self.errors).entry(code).or_default() += 1;
    }

    pub fn run(&self, outcome: &'static str) {
        *lock(&self.runs).entry(outcome).or_default() += 1;
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn waited(&self, d: Duration) {
        if !d.is_zero() {
            self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
            self.rate_limit_wait_us
                .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        }
    }

    pub fn replay(&self) {
        self.replays.fetch_add(1, Ordering::Relaxed);
    }

    fn percentiles(&self) -> (usize, [f64; 3]) {
        let mut v: Vec<f64> = lock(&self.latencies_ms).iter().copied().collect();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if v.is_empty() {
                0.0
            } else {
                v[((v.len() - 1) as f64 * q).round() as usize]
            }
        };
        (v.len(), [at(0.5), at(0.95), at(0.99)])
    }

    pub fn snapshot(&self, cache: CacheCounts, store: StoreCounts) -> Value {
        let mut requests = serde_json::Map::new();
        for ((class, status), n) in lock(&self.requests).iter() {
            let by_status = requests.entry(*class).or_insert_with(|| json!({}));
            by_status[status.to_string()] = json!(n);
        }
        let errors: serde_json::Map<String, Value> = lock(&self.errors)
            .iter()
            .map(|(code, n)| (code.to_string(), json!(n)))
            .collect();
        let (samples, [p50, p95, p99]) = self.percentiles();
        json!({
            "requests": requests,
            "cache": {
                "hits": cache.hits,
                "misses": cache.misses,
                "stale": cache.stale,
                "entries": cache.entries,
            },
            "retries": self.retries.load(Ordering::Relaxed),
            "rate_limit": {
                "waits": self.rate_limit_waits.load(Ordering::Relaxed),
                "wait_ms": self.rate_limit_wait_us.load(Ordering::Relaxed) / 1000,
            },
            "replays": self.replays.load(Ordering::Relaxed),
            "errors": errors,
            "latency_ms": { "p50": p50, "p95": p95, "p99": p99, "samples": samples },
            "store": {
                "backend": store.backend,
                "healthy": store.healthy,
                "fallbacks": store.fallbacks,
                "fallback_calls": store.fallback_calls,
                "cache_hits": store.cache_hits,
                "cache_fills": store.cache_fills,
            },
        })
    }

    /// The same figures as OpenMetrics text (which Prometheus reads), rendered by
    /// `prometheus-client` from a snapshot taken now.
    pub fn prometheus(&self, cache: CacheCounts, store: StoreCounts) -> String {
        let scrape = Scrape {
            requests: lock(&self.requests)
                .iter()
                .map(|(&(class, status), &n)| (class, status, n))
                .collect(),
            errors: lock(&self.errors).iter().map(|(&c, &n)| (c, n)).collect(),
            runs: lock(&self.runs).iter().map(|(&o, &n)| (o, n)).collect(),
            cache,
            retries: self.retries.load(Ordering::Relaxed),
            rate_limit_waits: self.rate_limit_waits.load(Ordering::Relaxed),
            rate_limit_wait_seconds: self.rate_limit_wait_us.load(Ordering::Relaxed) as f64 / 1e6,
            replays: self.replays.load(Ordering::Relaxed),
            duration: self.durations.read(),
            store,
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// A counter family with one label.
fn by_label(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    counts: &[(&'static str, u64)],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, n) in counts {
        family
            .encode_family(&[(label, *value)])?
            .encode_counter::<NoLabelSet, _, u64>(n, None)?;
    }
    Ok(())
}

/// Upper bounds (seconds) of the request-duration histogram's buckets: from a local emulator's
/// fraction of a millisecond to an action that runs a minute.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Request durations since the client was made: counts per bucket (the last is +Inf), their
/// sum and count, all monotonic.
#[derive(Default)]
struct Durations {
    buckets: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

struct DurationSnapshot {
    buckets: Vec<(f64, u64)>,
    sum_seconds: f64,
    count: u64,
}

impl Durations {
    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let i = DURATION_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> DurationSnapshot {
        let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
            .iter()
            .chain([&f64::MAX])
            .zip(&self.buckets)
            .map(|(&le, n)| (le, n.load(Ordering::Relaxed)))
            .collect();
        // The count is the buckets' total, so the two always agree within one scrape.
        let count = buckets.iter().map(|(_, n)| n).sum();
        DurationSnapshot {
            buckets,
            sum_seconds: self.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
            count,
        }
    }
}

/// What one `metrics()` call exports, encoded by `prometheus-client`.
struct Scrape {
    requests: Vec<(&'static str, u16, u64)>,
    errors: Vec<(&'static str, u64)>,
    runs: Vec<(&'static str, u64)>,
    cache: CacheCounts,
    retries: u64,
    rate_limit_waits: u64,
    rate_limit_wait_seconds: f64,
    replays: u64,
    duration: DurationSnapshot,
    store: StoreCounts,
}

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scrape")
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let mut family = encoder.encode_descriptor(
            "pipedream_requests",
            "Requests sent to the Connect API, by endpoint class and HTTP status (0: no answer).",
            None,
            MetricType::Counter,
        )?;
        for (class, status, n) in &self.requests {
            let status = status.to_string();
            let labels = [("class", *class), ("status", status.as_str())];
            family
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(n, None)?;
        }
        by_label(
            &mut encoder,
            "pipedream_errors",
            "Failed calls, by error code.",
            "code",
            &self.errors,
        )?;
        by_label(
            &mut encoder,
            "pipedream_runs",
            "Action runs (executions), by outcome: ok, failed (certainly not run, or run and failing with PIPEDREAM_ACTION_FAILED) or maybe_executed (it may have run).",
            "outcome",
            &self.runs,
        )?;
        let counters: [(&str, &str, u64); 6] = [
            (
                "pipedream_cache_hits",
                "Discovery answers served from the cache.",
                self.cache.hits,
            ),
            (
                "pipedream_cache_misses",
                "Discovery answers fetched from the API.",
                self.cache.misses,
            ),
            (
                "pipedream_cache_stale",
                "Expired answers served because a refresh failed.",
                self.cache.stale,
            ),
            (
                "pipedream_retries",
                "Requests sent again after a failure.",
                self.retries,
            ),
            (
                "pipedream_rate_limit_waits",
                "Requests that waited for the rate limiter or a server pause.",
                self.rate_limit_waits,
            ),
            (
                "pipedream_replays",
                "Executions answered from an idempotency key.",
                self.replays,
            ),
        ];
        for (name, help, n) in counters {
            encoder
                .encode_descriptor(name, help, None, MetricType::Counter)?
                .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        encoder
            .encode_descriptor(
                "pipedream_rate_limit_wait_seconds",
                "Time spent waiting for the rate limiter or a server pause.",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&self.rate_limit_wait_seconds, None)?;
        encoder
            .encode_descriptor(
                "pipedream_cache_entries",
                "Entries in the discovery caches.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&self.cache.entries)?;
        // Only with a shared store configured: without one there is nothing to fall back from.
        if self.store.backend != "local" {
            encoder
                .encode_descriptor(
                    "pipedream_store_healthy",
                    "Whether the shared store (Redis) answers: 1, or 0 while limits are kept locally.",
                    None,
                    MetricType::Gauge,
                )?
                .encode_gauge(&i64::from(self.store.healthy))?;
            let store_counters: [(&str, &str, u64); 4] = [
                (
                    "pipedream_store_fallbacks",
                    "Times the shared store stopped answering and this client fell back to local limits.",
                    self.store.fallbacks,
                ),
                (
                    "pipedream_store_fallback_calls",
                    "Operations served locally because the shared store did not answer.",
                    self.store.fallback_calls,
                ),
                (
                    "pipedream_store_cache_hits",
                    "Discovery reads answered from the shared store's cache (no request sent).",
                    self.store.cache_hits,
                ),
                (
                    "pipedream_store_cache_fills",
                    "Discovery answers this client fetched and shared in the store's cache.",
                    self.store.cache_fills,
                ),
            ];
            for (name, help, n) in store_counters {
                encoder
                    .encode_descriptor(name, help, None, MetricType::Counter)?
                    .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
            }
        }
        let d = &self.duration;
        encoder
            .encode_descriptor(
                "pipedream_request_duration_seconds",
                "Connect API request latency.",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(d.sum_seconds, d.count, &d.buckets, None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let s = Stats::default();
        for ms in 1..=100 {
            s.request("read", 200, Duration::from_millis(ms));
        }
        s.request("execute", 0, Duration::from_millis(5));
        s.error("PIPEDREAM_NETWORK");
        s.retry();
        s.waited(Duration::from_millis(250));
        s.waited(Duration::ZERO);
        let v = s.snapshot(
            CacheCounts {
                hits: 3,
                ..Default::default()
            },
            StoreCounts::default(),
        );
        assert_eq!(v["requests"]["read"]["200"], 100);
        assert_eq!(v["requests"]["execute"]["0"], 1);
        assert_eq!(v["errors"]["PIPEDREAM_NETWORK"], 1);
        assert_eq!(v["rate_limit"], json!({"waits": 1, "wait_ms": 250}));
        assert_eq!(v["cache"]["hits"], 3);
        assert_eq!(v["latency_ms"]["samples"], 101);
        assert!((v["latency_ms"]["p50"].as_f64().unwrap() - 50.0).abs() <= 1.0);
        assert_eq!(v["store"]["backend"], "local");
        let text = s.prometheus(CacheCounts::default(), StoreCounts::default());
        assert!(
            !text.contains("pipedream_store_"),
            "no store, no store metrics"
        );
        assert!(text.contains("pipedream_requests_total{class=\"read\",status=\"200\"} 100"));
        assert!(text.contains("# TYPE pipedream_request_duration_seconds histogram"));
        assert!(text.contains("pipedream_request_duration_seconds_count 101"));
        assert!(text.contains("pipedream_request_duration_seconds_bucket{le=\"0.005\"} 6"));
        assert!(text.contains("pipedream_request_duration_seconds_bucket{le=\"+Inf\"} 101"));
        assert!(text.contains("pipedream_retries_total 1"));
        assert!(text.ends_with("# EOF\n"));
    }

    /// The histogram counts every request; `getStats()`' percentiles keep a window.
    #[test]
    fn the_histogram_count_keeps_growing_past_the_percentile_window() {
        let s = Stats::default();
        for _ in 0..LATENCY_WINDOW + 50 {
            s.request("read", 200, Duration::from_millis(2));
        }
        let text = s.prometheus(CacheCounts::default(), StoreCounts::default());
        let count = format!(
            "pipedream_request_duration_seconds_count {}",
            LATENCY_WINDOW + 50
        );
        assert!(text.contains(&count), "{text}");
        assert_eq!(
            s.snapshot(CacheCounts::default(), StoreCounts::default())["latency_ms"]["samples"],
            LATENCY_WINDOW
        );
    }

    #[test]
    fn a_store_shows_its_health_and_fallbacks() {
        let s = Stats::default();
        let store = StoreCounts {
            backend: "redis",
            healthy: false,
            fallbacks: 2,
            fallback_calls: 7,
            cache_hits: 11,
            cache_fills: 3,
        };
        let v = s.snapshot(CacheCounts::default(), store);
        assert_eq!(
            v["store"],
            json!({"backend": "redis", "healthy": false, "fallbacks": 2, "fallback_calls": 7, "cache_hits": 11, "cache_fills": 3})
        );
        let text = s.prometheus(CacheCounts::default(), store);
        assert!(text.contains("pipedream_store_healthy 0"), "{text}");
        assert!(text.contains("pipedream_store_fallbacks_total 2"), "{text}");
        assert!(
            text.contains("pipedream_store_fallback_calls_total 7"),
            "{text}"
        );
        assert!(
            text.contains("pipedream_store_cache_hits_total 11"),
            "{text}"
        );
        assert!(
            text.contains("pipedream_store_cache_fills_total 3"),
            "{text}"
        );
    }
}
