//! When a failed request may be sent again, and how long to wait: shared by every API call
//! and the OAuth token request.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::ExponentialBuilder;
use serde_json::json;

use super::deadline;
use crate::engine::config::RetryConfig;
use crate::engine::error::Error;
use crate::engine::events::{self, Sink};
use crate::engine::stats::Stats;

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

/// The server's `Retry-After` replaces the computed delay; `None` ends the retries. A wait
/// longer than `max_delay`, or than the call has left before its deadline, is not taken: the
/// server would only refuse an earlier try, and the caller learns the wait
/// (`retry_after_ms`) now instead of after a sleep.
pub fn honour_retry_after(
    max_delay: Duration,
) -> impl FnMut(&Error, Option<Duration>) -> Option<Duration> {
    move |e, computed| {
        let delay = match e.retry_after() {
            Some(asked) if asked > max_delay => return None,
            Some(asked) => {
                computed?;
                asked
            }
            None => computed?,
        };
        match deadline::left() {
            Some(left) if delay >= left => None,
            _ => Some(delay),
        }
    }
}

/// What each retry leaves behind: a count in the stats and a `retry` event naming the class,
/// the attempt that failed (`attempts` counts them) and the wait before the next.
pub fn noted<'a>(
    stats: &'a Stats,
    events: &'a Sink,
    class: &'static str,
    attempts: &'a AtomicU32,
) -> impl Fn(&Error, Duration) + 'a {
    move |e, delay| {
        stats.retry();
        events::emit(
            events,
            "retry",
            e.code().as_str(),
            Duration::ZERO,
            json!({
                "class": class,
                "attempt": attempts.load(Ordering::Relaxed),
                "delay_ms": delay.as_millis() as u64,
            }),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled(retry_after: Option<Duration>) -> Error {
        Error::Api {
            status: 429,
            body: "Throttled".into(),
            retry_after,
        }
    }

    #[tokio::test]
    async fn a_wait_past_max_delay_or_the_deadline_ends_the_retries() {
        let secs = Duration::from_secs;
        let mut adjust = honour_retry_after(secs(60));
        // The server's wait replaces the computed one, unless the retries are spent.
        assert_eq!(
            adjust(&throttled(Some(secs(30))), Some(secs(1))),
            Some(secs(30))
        );
        assert_eq!(adjust(&throttled(Some(secs(30))), None), None);
        assert_eq!(adjust(&throttled(None), Some(secs(1))), Some(secs(1)));
        // Longer than max_delay: not shortened and tried too early, but not waited for.
        assert_eq!(adjust(&throttled(Some(secs(61))), Some(secs(1))), None);
        // Within a call whose deadline comes first, neither wait is taken.
        let deadline = tokio::time::Instant::now() + secs(5);
        deadline::within(deadline, async {
            assert_eq!(adjust(&throttled(Some(secs(10))), Some(secs(1))), None);
            assert_eq!(adjust(&throttled(None), Some(secs(6))), None);
            assert_eq!(adjust(&throttled(None), Some(secs(1))), Some(secs(1)));
        })
        .await;
        assert_eq!(deadline::left(), None);
    }
}
