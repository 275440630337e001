//! The time a whole call must end by (`deadlineMs`), as its retries see it: a retry whose wait
//! would end past it is not taken, and the failure that asked for the wait is the answer,
//! rather than a sleep that ends in `PIPEDREAM_TIMEOUT`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `call` with `deadline` as the end its retries must leave time for.
pub async fn within<F: Future>(deadline: Instant, call: F) -> F::Output {
    DEADLINE.scope(deadline, call).await
}

/// The time left before the current call's deadline; `None` outside a call that has one.
pub fn left() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}
