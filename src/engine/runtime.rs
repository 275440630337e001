//! The shape of the Tokio runtime every client in the process shares.
//!
//! Tokio's default is a worker per core. The JS thread is busy too whenever calls are made
//! (reading arguments, settling answers), so on a 2-core machine that was three busy threads
//! on two cores: a worker woken for each call woke the other one as well, and they were
//! preempted and moved between cores. One worker per core but one measured better there in
//! every loop (see docs/benchmarks.md); `TOKIO_WORKER_THREADS`, which Tokio's default reads,
//! still decides when it is set. Its workers also stay awake briefly between calls that come
//! back to back (`Activity`).

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Workers for a machine with `cores` usable cores, given `TOKIO_WORKER_THREADS`'s value. A
/// value that is not a positive integer is ignored (Tokio's default would panic on it).
pub fn workers(tokio_worker_threads: Option<&str>, cores: NonZeroUsize) -> usize {
    tokio_worker_threads
        .and_then(|v| v.trim().parse::<NonZeroUsize>().ok())
        .map_or_else(|| cores.get().saturating_sub(1).max(1), NonZeroUsize::get)
}

/// `workers` for this process: its environment, and its cores as std counts them (affinity
/// and a cgroup's CPU quota included).
fn for_this_process() -> usize {
    let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    workers(std::env::var("TOKIO_WORKER_THREADS").ok().as_deref(), cores)
}

/// How long an idle worker stays awake for the next call, once calls come back to back.
const STAY_AWAKE: Duration = Duration::from_micros(50);

/// The calls the runtime runs for JS, and whether they have lately come back to back: what
/// decides whether a worker about to sleep stays awake instead.
///
/// Waking a sleeping worker cost the JS thread about 9.5 µs of its own time per call (the
/// eventfd write and the wake-up behind it, 22 % of its samples in a c=1 loop) and the call the
/// worker's wake-up latency. So with no call running, and the last call started within
/// `stay_awake` of the runtime going idle, one worker stays awake up to `stay_awake` for the
/// next, yielding its core to anything else runnable. A call waiting on I/O leaves the worker
/// to sleep in the I/O driver, and after a longer gap no worker stays awake until calls come
/// back to back again, so an idle or slow caller costs at most one such wait. A wait ends when
/// the next call is in the runtime's queue, not when JS begins handing it over (`Handover`).
pub struct Activity {
    stay_awake: Duration,
    /// Calls started and not yet finished.
    in_flight: AtomicUsize,
    /// Calls ever begun: one begun and not yet queued is on its way to the runtime's queue.
    begun: AtomicU64,
    /// Calls ever queued: a worker staying awake watches it change.
    queued: AtomicU64,
    /// When `in_flight` last fell to zero, in nanoseconds since `epoch`; zero before that.
    idle_since: AtomicU64,
    /// Whether the last call to start came within `stay_awake` of the runtime going idle.
    quick_return: AtomicBool,
    /// One worker at a time stays awake.
    awake: AtomicBool,
    /// How many waits a call ended, and how many ran out (what the tests can see of a
    /// runtime's waits).
    calls_met: AtomicU64,
    expired: AtomicU64,
    epoch: OnceLock<Instant>,
}

/// How a worker's wait before sleeping ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// It did not wait: a call is running and none is on its way, calls have not come back
    /// to back, or another worker is already waiting.
    None,
    /// A call was queued while it waited.
    Call,
    /// No call was queued within `stay_awake`.
    Expired,
}

/// The process's activity, which the runtime's workers consult.
pub static ACTIVITY: Activity = Activity::new(STAY_AWAKE);

impl Activity {
    const fn new(stay_awake: Duration) -> Self {
        Self {
            stay_awake,
            in_flight: AtomicUsize::new(0),
            begun: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            quick_return: AtomicBool::new(false),
            awake: AtomicBool::new(false),
            calls_met: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            epoch: OnceLock::new(),
        }
    }

    fn now(&self) -> u64 {
        let epoch = self.epoch.get_or_init(Instant::now);
        // At least 1: zero means never idle.
        u64::try_from(epoch.elapsed().as_nanos()).map_or(u64::MAX, |n| n.max(1))
    }

    /// A call from JS is about to be handed to the runtime: it counts as queued once the
    /// returned handover is dropped, after the spawn (or as a panic unwinds it).
    pub fn call_started(&self) -> Handover<'_> {
        self.begun.fetch_add(1, Ordering::AcqRel);
        if self.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            let since = self.idle_since.load(Ordering::Relaxed);
            let gap = self.now().saturating_sub(since);
            let quick = since != 0 && u128::from(gap) < self.stay_awake.as_nanos();
            self.quick_return.store(quick, Ordering::Relaxed);
        }
        Handover(self)
    }

    /// A call from JS has its answer.
    pub fn call_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle_since.store(self.now(), Ordering::Relaxed);
        }
    }

    /// What a worker about to sleep does first: see `Activity`.
    fn before_park(&self) -> Wait {
        let seen = self.queued.load(Ordering::Acquire);
        // A call on its way is waited for even while others run: sleeping now, the worker
        // could miss it in the queue and need the JS thread to wake it.
        let on_its_way = self.begun.load(Ordering::Acquire) != seen;
        if !on_its_way
            && (self.in_flight.load(Ordering::Acquire) != 0
                || !self.quick_return.load(Ordering::Relaxed))
            || self.awake.swap(true, Ordering::Acquire)
        {
            return Wait::None;
        }
        let until = Instant::now() + self.stay_awake;
        let wait = loop {
            if self.queued.load(Ordering::Acquire) != seen {
                self.calls_met.fetch_add(1, Ordering::Relaxed);
                break Wait::Call;
            }
            if Instant::now() >= until {
                self.expired.fetch_add(1, Ordering::Relaxed);
                break Wait::Expired;
            }
            std::thread::yield_now();
        };
        self.awake.store(false, Ordering::Release);
        wait
    }
}

/// A call being handed to the runtime. Only once it is in the runtime's queue does a waiting
/// worker stop waiting: had it stopped when the call started, it could find the queue still
/// empty and sleep, and the JS thread would have to wake it after all.
#[must_use = "the call counts as queued when this is dropped"]
pub struct Handover<'a>(&'a Activity);

impl Drop for Handover<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_add(1, Ordering::Release);
    }
}

/// The runtime, with `for_this_process` workers that consult `ACTIVITY` before they sleep.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    with_workers(for_this_process())
}

fn with_workers(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .on_thread_park(|| {
            ACTIVITY.before_park();
        })
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn cores(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    #[test]
    fn one_core_is_left_to_the_js_thread() {
        assert_eq!(workers(None, cores(1)), 1);
        assert_eq!(workers(None, cores(2)), 1);
        assert_eq!(workers(None, cores(8)), 7);
    }

    #[test]
    fn tokio_worker_threads_decides_when_it_is_a_positive_integer() {
        assert_eq!(workers(Some("4"), cores(2)), 4);
        assert_eq!(workers(Some(" 3 "), cores(8)), 3);
        for garbage in ["0", "-1", "two", "", "1e3", "99999999999999999999999"] {
            assert_eq!(workers(Some(garbage), cores(8)), 7, "{garbage:?}");
        }
    }

    const LONG: Duration = Duration::from_secs(60);

    /// A call handed to the runtime.
    fn start(a: &Activity) {
        drop(a.call_started());
    }

    /// An activity whose last call came straight back, so the next idle worker stays awake.
    fn back_to_back(stay_awake: Duration) -> Activity {
        let a = Activity::new(stay_awake);
        start(&a);
        assert_eq!(a.before_park(), Wait::None, "a call is running");
        a.call_finished();
        start(&a);
        a.call_finished();
        a
    }

    #[test]
    fn a_worker_stays_awake_only_once_calls_come_back_to_back() {
        let a = Activity::new(LONG);
        assert_eq!(a.before_park(), Wait::None, "no call yet");
        start(&a);
        a.call_finished();
        assert_eq!(
            a.before_park(),
            Wait::None,
            "the first call has no gap before it"
        );

        let a = back_to_back(Duration::from_millis(50));
        assert_eq!(a.before_park(), Wait::Expired);
        std::thread::sleep(Duration::from_millis(200));
        start(&a);
        a.call_finished();
        assert_eq!(
            a.before_park(),
            Wait::None,
            "that call came after a longer gap"
        );
    }

    #[test]
    fn a_call_ends_the_wait_and_one_worker_waits_at_a_time() {
        let a = back_to_back(LONG);
        std::thread::scope(|s| {
            let waiting = s.spawn(|| a.before_park());
            while !a.awake.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            assert_eq!(a.before_park(), Wait::None, "another worker is waiting");
            let handover = a.call_started();
            std::thread::sleep(Duration::from_millis(50));
            assert!(
                a.awake.load(Ordering::Acquire),
                "a call not yet in the runtime's queue does not end the wait"
            );
            drop(handover);
            assert_eq!(waiting.join().unwrap(), Wait::Call);
        });
        assert_eq!(a.before_park(), Wait::None, "a call is running");
    }

    #[test]
    fn a_handover_that_panicked_leaves_no_call_on_its_way() {
        let a = Activity::new(LONG);
        let handing = std::panic::catch_unwind(|| {
            let _handover = a.call_started();
            panic!("the spawn failed");
        });
        assert!(handing.is_err());
        // Still counted as on its way, every worker about to sleep would wait `stay_awake`.
        assert_eq!(
            a.before_park(),
            Wait::None,
            "a call is running, none on its way"
        );
    }

    /// The voluntary context switches of thread `tid` of this process so far: its sleeps.
    #[cfg(target_os = "linux")]
    fn sleeps(tid: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_runtimes_workers_wait_for_back_to_back_calls() {
        let runtime = with_workers(1).unwrap();
        let worker = runtime
            .block_on(runtime.spawn(async {
                let link = std::fs::read_link("/proc/thread-self").unwrap();
                link.file_name().unwrap().to_string_lossy().into_owned()
            }))
            .unwrap();
        // Calls from a thread that never sleeps (as a busy JS thread), so that each comes
        // straight after the last.
        let call = || {
            let handover = ACTIVITY.call_started();
            let done = Arc::new(AtomicBool::new(false));
            let finished = done.clone();
            runtime.spawn(async move {
                ACTIVITY.call_finished();
                finished.store(true, Ordering::Release);
            });
            drop(handover);
            while !done.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
        };
        for _ in 0..100 {
            call();
        }
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (met, expired, slept) = (
            count(&ACTIVITY.calls_met),
            count(&ACTIVITY.expired),
            sleeps(&worker),
        );
        const CALLS: u64 = 2000;
        for _ in 0..CALLS {
            call();
        }
        let met = count(&ACTIVITY.calls_met) - met;
        let expired = count(&ACTIVITY.expired) - expired;
        let slept = sleeps(&worker) - slept;
        assert!(met > 0, "no call met a waiting worker");
        // Only a wait that ran out (this thread descheduled for longer) leaves it to sleep.
        assert!(
            slept <= expired + CALLS / 40,
            "the worker slept {slept} times in {CALLS} calls, {expired} after a wait ran out"
        );
    }

    #[test]
    fn the_runtime_has_that_many_workers() {
        let runtime = build().unwrap();
        assert_eq!(runtime.metrics().num_workers(), for_this_process());
    }
}
