//! When a failed request may be sent again, and how long to wait: shared by every API call
//! and the OAuth token request.

use std::time::Duration;

use backon::ExponentialBuilder;

use crate::engine::config::RetryConfig;
use crate::engine::error::Error;

/// Whether a request may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads, configure, reload, tokens: repeating them changes nothing.
    Safe,
    /// An action run: repeated only when it certainly did not run (no connection was made, or
    /// the server refused it with a 429).
    RunOnce,
}

/// The backoff every retried request uses.
pub fn backoff(retry: &RetryConfig) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(retry.min_delay)
        .with_max_delay(retry.max_delay)
        .with_max_times(retry.max_retries)
}

/// The server's `Retry-After` (capped) replaces the computed delay; `None` ends the retries.
pub fn honour_retry_after(
    max_delay: Duration,
) -> impl FnMut(&Error, Option<Duration>) -> Option<Duration> {
    move |e, computed| {
        let computed = computed?;
        Some(e.retry_after().map_or(computed, |d| d.min(max_delay)))
    }
}

pub fn may_retry(e: &Error, replay: Replay) -> bool {
    match replay {
        Replay::Safe => match e {
            Error::Connect(_) | Error::Network(_) | Error::Timeout(_) => true,
            Error::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            _ => false,
        },
        Replay::RunOnce => matches!(e, Error::Connect(_) | Error::Api { status: 429, .. }),
    }
}
