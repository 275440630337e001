//! The time a whole call must end by (`deadlineMs`), as its retries see it: a retry whose wait
//! would end past it is not taken, and the failure that asked for the wait is the answer,
//! rather than a sleep that ends in `PIPEDREAM_TIMEOUT`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `call` with `deadline` as the end its retries must leave time for. The scope itself,
/// not an `async fn` awaiting it: that would hold `call` twice (as its argument and inside the
/// scope), doubling an execute's state to 12 KB and copying 6 KB of it on the first poll.
pub fn within<F: Future>(deadline: Instant, call: F) -> impl Future<Output = F::Output> {
    DEADLINE.scope(deadline, call)
}

/// The time left before the current call's deadline; `None` outside a call that has one.
pub fn left() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

/// A call that holds 4 KB across an await, as an execute holds its requests: what the tests
/// of a wrapper's size wrap.
#[cfg(test)]
pub(super) async fn large_call() -> usize {
    let held = [1u8; 4096];
    tokio::task::yield_now().await;
    held.iter().map(|&b| usize::from(b)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_holds_its_call_once() {
        let alone = std::mem::size_of_val(&large_call());
        let scoped = std::mem::size_of_val(&within(Instant::now(), large_call()));
        assert!(
            scoped < alone + 256,
            "{scoped} bytes for a {alone}-byte call"
        );
    }

    #[tokio::test]
    async fn the_call_sees_its_deadline_and_nothing_outside_does() {
        assert_eq!(left(), None);
        let ends = Instant::now() + Duration::from_secs(60);
        let seen = within(ends, async { left() }).await.unwrap();
        assert!(seen > Duration::from_secs(59) && seen <= Duration::from_secs(60));
        assert_eq!(within(ends, large_call()).await, 4096);
        assert_eq!(left(), None);
    }
}
