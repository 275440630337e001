//! The shape of the Tokio runtime every client in the process shares.
//!
//! Tokio's default is a worker per core. The JS thread is busy too whenever calls are made
//! (reading arguments, settling answers), so on a 2-core machine that was three busy threads
//! on two cores: a worker woken for each call woke the other one as well, and they were
//! preempted and moved between cores. One worker per core but one measured better there in
//! every loop (see docs/benchmarks.md); `TOKIO_WORKER_THREADS`, which Tokio's default reads,
//! still decides when it is set.

use std::num::NonZeroUsize;

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

/// The runtime, with `for_this_process` workers.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(for_this_process())
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_runtime_has_that_many_workers() {
        let runtime = build().unwrap();
        assert_eq!(runtime.metrics().num_workers(), for_this_process());
    }
}
