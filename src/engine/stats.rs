//! Counters a client keeps about its own traffic, for `getStats()` and the Prometheus text of
//! `metrics()`: requests by endpoint class and status, retries, rate-limit waits, replays,
//! errors by code and request latency. Names and numbers only.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// Latency percentiles are taken over this many most recent requests.
const LATENCY_WINDOW: usize = 10_000;

#[derive(Default)]
pub struct Stats {
    /// (class, status) → count; status 0 when no HTTP answer came back.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    latencies_ms: Mutex<VecDeque<f64>>,
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
    }

    pub fn error(&self, code: &'static str) {
        *lock(&self.errors).entry(code).or_default() += 1;
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

    pub fn snapshot(&self, cache: CacheCounts) -> Value {
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
        })
    }

    /// The same figures in the Prometheus text exposition format.
    pub fn prometheus(&self, cache: CacheCounts) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in lines {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let requests = lock(&self.requests)
            .iter()
            .map(|((c, s), n)| (format!("{{class=\"{c}\",status=\"{s}\"}}"), n.to_string()))
            .collect();
        metric(
            "pipedream_requests_total",
            "counter",
            "Requests sent to the Connect API, by endpoint class and HTTP status (0: no answer).",
            requests,
        );
        let errors = lock(&self.errors)
            .iter()
            .map(|(c, n)| (format!("{{code=\"{c}\"}}"), n.to_string()))
            .collect();
        metric(
            "pipedream_errors_total",
            "counter",
            "Failed calls, by error code.",
            errors,
        );
        let one = |v: u64| vec![(String::new(), v.to_string())];
        metric(
            "pipedream_cache_hits_total",
            "counter",
            "Discovery answers served from the cache.",
            one(cache.hits),
        );
        metric(
            "pipedream_cache_misses_total",
            "counter",
            "Discovery answers fetched from the API.",
            one(cache.misses),
        );
        metric(
            "pipedream_cache_stale_total",
            "counter",
            "Expired answers served because a refresh failed.",
            one(cache.stale),
        );
        metric(
            "pipedream_cache_entries",
            "gauge",
            "Entries in the discovery caches.",
            one(cache.entries),
        );
        metric(
            "pipedream_retries_total",
            "counter",
            "Requests sent again after a failure.",
            one(self.retries.load(Ordering::Relaxed)),
        );
        metric(
            "pipedream_rate_limit_waits_total",
            "counter",
            "Requests that waited for the rate limiter or a server pause.",
            one(self.rate_limit_waits.load(Ordering::Relaxed)),
        );
        metric(
            "pipedream_rate_limit_wait_seconds_total",
            "counter",
            "Time spent waiting for the rate limiter or a server pause.",
            vec![(
                String::new(),
                format!(
                    "{}",
                    self.rate_limit_wait_us.load(Ordering::Relaxed) as f64 / 1e6
                ),
            )],
        );
        metric(
            "pipedream_replays_total",
            "counter",
            "Executions answered from an idempotency key.",
            one(self.replays.load(Ordering::Relaxed)),
        );
        let (samples, [p50, p95, p99]) = self.percentiles();
        metric(
            "pipedream_request_duration_seconds",
            "summary",
            "Connect API request latency over the most recent requests.",
            vec![
                ("{quantile=\"0.5\"}".into(), format!("{}", p50 / 1000.0)),
                ("{quantile=\"0.95\"}".into(), format!("{}", p95 / 1000.0)),
                ("{quantile=\"0.99\"}".into(), format!("{}", p99 / 1000.0)),
                ("_count".into(), samples.to_string()),
            ],
        );
        out
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
        let v = s.snapshot(CacheCounts {
            hits: 3,
            ..Default::default()
        });
        assert_eq!(v["requests"]["read"]["200"], 100);
        assert_eq!(v["requests"]["execute"]["0"], 1);
        assert_eq!(v["errors"]["PIPEDREAM_NETWORK"], 1);
        assert_eq!(v["rate_limit"], json!({"waits": 1, "wait_ms": 250}));
        assert_eq!(v["cache"]["hits"], 3);
        assert_eq!(v["latency_ms"]["samples"], 101);
        assert!((v["latency_ms"]["p50"].as_f64().unwrap() - 50.0).abs() <= 1.0);
        let text = s.prometheus(CacheCounts::default());
        assert!(text.contains("pipedream_requests_total{class=\"read\",status=\"200\"} 100"));
        assert!(text.contains("# TYPE pipedream_request_duration_seconds summary"));
        assert!(text.contains("pipedream_retries_total 1"));
    }
}
