//! What the emulator saw: the request log (every non-control request), the
//! run journal (every action run that reached the run handler) and the proxy
//! journal (every proxy request that reached the proxy handler). All are
//! bounded so a long benchmark cannot grow memory without limit.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::state::lock;

/// Oldest entries are dropped past this; far above what any test inspects.
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Clone, Serialize)]
pub struct RequestEntry {
    pub seq: u64,
    pub ts_ms: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// 0 until a response is sent; stays 0 when the connection was reset.
    pub status: u16,
    pub fault: bool,
    pub token_seq: Option<u64>,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunEntry {
    pub seq: u64,
    pub ts_ms: u64,
    pub id: Option<String>,
    pub version: Option<String>,
    pub external_user_id: Option<String>,
    pub configured_props: Value,
    pub dynamic_props_id: Option<String>,
    /// `stash_id` as the request sent it (absent: null).
    pub stash_id: Value,
    pub outcome: &'static str,
    pub error: Option<String>,
}

/// One Connect proxy request, as `GET /__emulator/proxy` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyEntry {
    pub seq: u64,
    pub ts_ms: u64,
    pub method: String,
    /// `url_64` decoded, as the caller sent it (a relative path stays relative);
    /// None when it did not decode.
    pub url: Option<String>,
    /// The full upstream URL once it was resolved and allowed, else None.
    pub target_url: Option<String>,
    pub external_user_id: Option<String>,
    pub account_id: Option<String>,
    /// What the proxy answered: the upstream's status, or the proxy's own error.
    pub status: u16,
}

struct Log<T> {
    entries: VecDeque<T>,
    next_seq: u64,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            next_seq: 1,
        }
    }
}

impl<T> Log<T> {
    fn push(&mut self, make: impl FnOnce(u64) -> T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(make(seq));
        seq
    }
}

#[derive(Default)]
pub struct Journal {
    requests: Mutex<Log<RequestEntry>>,
    runs: Mutex<Log<RunEntry>>,
    proxied: Mutex<Log<ProxyEntry>>,
}

impl Journal {
    /// Logs arrival; the returned seq is used to fill in the outcome later.
    pub fn begin_request(&self, mut entry: RequestEntry) -> u64 {
        lock(&self.requests).push(|seq| {
            entry.seq = seq;
            entry
        })
    }

    pub fn update_request(&self, seq: u64, f: impl FnOnce(&mut RequestEntry)) {
        let mut log = lock(&self.requests);
        // Entries are in seq order; a reset may have removed this one.
        if let Ok(i) = log.entries.binary_search_by_key(&seq, |e| e.seq) {
            f(&mut log.entries[i]);
        }
    }

    pub fn requests(&self) -> Vec<RequestEntry> {
        lock(&self.requests).entries.iter().cloned().collect()
    }

    pub fn record_run(&self, mut entry: RunEntry) -> u64 {
        lock(&self.runs).push(|seq| {
            entry.seq = seq;
            entry
        })
    }

    pub fn runs(&self) -> Vec<RunEntry> {
        lock(&self.runs).entries.iter().cloned().collect()
    }

    pub fn record_proxy(&self, mut entry: ProxyEntry) -> u64 {
        lock(&self.proxied).push(|seq| {
            entry.seq = seq;
            entry
        })
    }

    pub fn proxied(&self) -> Vec<ProxyEntry> {
        lock(&self.proxied).entries.iter().cloned().collect()
    }

    /// Sequence numbers restart so a test that resets sees seq 1 again.
    pub fn clear(&self) {
        *lock(&self.requests) = Log::default();
        *lock(&self.runs) = Log::default();
        *lock(&self.proxied) = Log::default();
    }
}
