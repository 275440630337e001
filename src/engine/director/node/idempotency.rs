//! Idempotency keys: at most one run per key. Concurrent calls with one key share a single
//! run (a "flight") that belongs to none of them, and its answer is kept for the replay window
//! when it is a success or may have run the action.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::engine::error::ErrorReport;

pub type ReplayAnswer = std::result::Result<String, ErrorReport>;

/// Kept answers by key (successes and `maybe_executed` failures), for the replay window.
pub type Replays = moka::sync::Cache<String, Arc<ReplayAnswer>>;

/// One run shared by every caller with its key.
pub struct Flight {
    /// Cancelled when the last waiting caller aborts.
    pub cancel: CancellationToken,
    /// Set by the API layer while the run's bytes may have reached the server.
    pub run_sent: AtomicBool,
    waiters: AtomicUsize,
    /// The answer and whether it was kept under the key.
    answer: watch::Sender<Option<(Arc<ReplayAnswer>, bool)>>,
}

pub enum Joined {
    /// A kept answer for the key.
    Answered(Arc<ReplayAnswer>),
    /// A run already under way; wait for it.
    Flight(Arc<Flight>),
    /// No run yet: the caller starts this one.
    Start(Arc<Flight>),
}

pub enum Waited {
    Answer(Arc<ReplayAnswer>),
    /// This caller's signal fired; the run goes on if others wait for it.
    Aborted {
        run_sent: bool,
    },
    /// Every other caller aborted before the run was sent, so it was cancelled; this one
    /// still wants it.
    CancelledByOthers,
}

#[derive(Default)]
pub struct Runs {
    inflight: Mutex<HashMap<String, Arc<Flight>>>,
}

impl Runs {
    /// The kept answer for `key`, the run under way, or a new run to start. The kept answers
    /// are read under the same lock `finish` takes, so a caller cannot miss both the flight and
    /// its answer.
    pub fn join(&self, key: &str, replays: &Replays) -> Joined {
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(answer) = replays.get(key) {
            return Joined::Answered(answer);
        }
        if let Some(flight) = inflight.get(key) {
            flight.waiters.fetch_add(1, Ordering::SeqCst);
            return Joined::Flight(flight.clone());
        }
        let flight = Arc::new(Flight {
            cancel: CancellationToken::new(),
            run_sent: AtomicBool::new(false),
            waiters: AtomicUsize::new(1),
            answer: watch::Sender::new(None),
        });
        inflight.insert(key.to_owned(), flight.clone());
        Joined::Start(flight)
    }

    /// Publishes a flight's answer: kept under the key first, then the flight is removed, then
    /// its waiters are woken.
    pub fn finish(
        &self,
        key: &str,
        flight: &Arc<Flight>,
        answer: Arc<ReplayAnswer>,
        keep: bool,
        replays: &Replays,
    ) {
        {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            if keep {
                replays.insert(key.to_owned(), answer.clone());
            }
            if inflight.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
                inflight.remove(key);
            }
        }
        flight.answer.send_replace(Some((answer, keep)));
    }
}

/// A caller waiting on a flight. Dropped without an answer (an abort), the last one cancels
/// the run and says so.
struct Waiter<'a>(&'a Flight);

impl Waiter<'_> {
    /// Stops waiting; true when this was the last caller and the run is now cancelled.
    fn leave(self) -> bool {
        let flight = self.0;
        std::mem::forget(self);
        let last = flight.waiters.fetch_sub(1, Ordering::SeqCst) == 1;
        if last && flight.answer.borrow().is_none() {
            flight.cancel.cancel();
            return true;
        }
        false
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        Waiter(self.0).leave();
    }
}

impl Flight {
    /// The answer once published (`None` only if the sender is gone).
    async fn settled(&self) -> Option<(Arc<ReplayAnswer>, bool)> {
        let mut answers = self.answer.subscribe();
        // The guard `wait_for` returns is not `Send`: it is cloned out at once, never held
        // across an await.
        match answers.wait_for(Option::is_some).await {
            Ok(answer) => answer.clone(),
            Err(_) => None,
        }
    }

    /// Waits for the answer, or for this caller's own `cancel`.
    pub async fn wait(&self, cancel: &CancellationToken) -> Waited {
        let waiter = Waiter(self);
        let settled = tokio::select! {
            answer = self.settled() => answer,
            _ = cancel.cancelled() => {
                if !waiter.leave() {
                    // Others still wait, so the run goes on and may run the action.
                    return Waited::Aborted { run_sent: true };
                }
                // This caller cancelled the run: its answer says whether it had been sent.
                let answer = self.settled().await;
                let run_sent = match answer {
                    Some((answer, _)) => answer.as_ref().as_ref().map_or_else(|r| r.maybe_executed, |_| true),
                    None => self.run_sent.load(Ordering::SeqCst),
                };
                return Waited::Aborted { run_sent };
            }
        };
        drop(waiter);
        match settled {
            Some((_, false)) if self.cancel.is_cancelled() => match cancel.is_cancelled() {
                true => Waited::Aborted { run_sent: false },
                false => Waited::CancelledByOthers,
            },
            Some((answer, _)) => Waited::Answer(answer),
            // The sender lives as long as the flight, which this caller holds.
            None => Waited::CancelledByOthers,
        }
    }
}
