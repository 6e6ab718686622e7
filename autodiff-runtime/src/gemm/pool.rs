//! Helper threads for large products, started once and kept for the process.
//!
//! A job is a borrowed `&dyn Fn(thread_index)`, so handing one over allocates
//! nothing: the caller publishes it, runs index 0 itself, and waits until every
//! helper has finished, which is what makes lending a stack closure sound.
//! Helpers spin briefly before sleeping because the products of one training
//! step follow each other closely.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

type Job = &'static (dyn Fn(usize) + Sync);

struct Pool {
    helpers: usize,
    /// Held by the thread that owns the helpers for one job; another thread
    /// that finds it taken runs its product alone.
    busy: Mutex<()>,
    /// Written only by the `busy` holder while every helper is idle.
    job: UnsafeCell<Option<Job>>,
    /// Bumped once per job; helpers start when it changes.
    generation: AtomicU64,
    /// Helpers still running the current job.
    pending: AtomicUsize,
    /// Set by a helper whose task panicked; the caller panics in turn.
    helper_panicked: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
    done: Condvar,
}

// SAFETY: `job` is written only under `busy` while no helper reads it (see
// `run`), and read by helpers only between a generation change and their
// `pending` decrement.
unsafe impl Sync for Pool {}

/// How long a helper (or the caller) spins before it sleeps: long enough to
/// bridge the element-wise work between the products of a step, short enough
/// not to hold a core long after the step ends.
const SPIN: Duration = Duration::from_micros(100);

/// Spins until `done()` or [`SPIN`] has passed; true if `done()`.
fn spin_until(done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        // Reading the clock costs about two pause instructions: check it
        // once per 64 pauses.
        for _ in 0..64 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > SPIN {
            return done();
        }
    }
}

/// The number of threads a large product uses: `AUTODIFF_NUM_THREADS` if set
/// (read once), else the machine's available parallelism.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("AUTODIFF_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    })
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            helpers: threads() - 1,
            busy: Mutex::new(()),
            job: UnsafeCell::new(None),
            generation: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            helper_panicked: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            done: Condvar::new(),
        }));
        for index in 1..=pool.helpers {
            std::thread::Builder::new()
                .name(format!("autodiff-gemm-{index}"))
                .spawn(move || helper(pool, index))
                .expect("autodiff: cannot start a GEMM helper thread");
        }
        pool
    })
}

/// Runs `task(0)`, …, `task(threads - 1)`, on the pool's threads when it is
/// free and on the calling thread alone otherwise.
pub(crate) fn run(threads: usize, task: &(dyn Fn(usize) + Sync)) {
    let pool = pool();
    let _busy = match pool.busy.try_lock() {
        Ok(guard) if threads == pool.helpers + 1 => guard,
        _ => {
            (0..threads).for_each(task);
            return;
        }
    };
    // SAFETY: only the lifetime is erased. `task` outlives every use: the
    // `Finish` guard below waits until all helpers are done with it and
    // clears the slot, on return and on unwinding alike.
    let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(task) };
    // SAFETY: we hold `busy` and every helper is idle (pending was 0).
    unsafe { *pool.job.get() = Some(job) };
    pool.pending.store(pool.helpers, Ordering::Release);
    pool.generation.fetch_add(1, Ordering::Release);
    let finish = Finish(pool);
    // Take the lock before notifying, so that a helper between its check of
    // the generation and its wait cannot miss the wake-up.
    drop(pool.sleep.lock().unwrap_or_else(|e| e.into_inner()));
    pool.wake.notify_all();
    task(0);
    drop(finish);
    if pool.helper_panicked.swap(false, Ordering::Relaxed) {
        panic!("autodiff: a GEMM helper thread panicked");
    }
}

/// Waits for the helpers and clears the job, also if `task(0)` unwinds.
struct Finish(&'static Pool);

impl Drop for Finish {
    fn drop(&mut self) {
        let pool = self.0;
        if !spin_until(|| pool.pending.load(Ordering::Acquire) == 0) {
            let mut lock = pool.sleep.lock().unwrap_or_else(|e| e.into_inner());
            while pool.pending.load(Ordering::Acquire) != 0 {
                lock = pool.done.wait(lock).unwrap_or_else(|e| e.into_inner());
            }
        }
        // SAFETY: every helper has finished with the job.
        unsafe { *pool.job.get() = None };
    }
}

fn helper(pool: &'static Pool, index: usize) {
    let mut seen = 0;
    loop {
        let fresh = || pool.generation.load(Ordering::Acquire) != seen;
        if !spin_until(fresh) {
            let mut lock = pool.sleep.lock().unwrap_or_else(|e| e.into_inner());
            while !fresh() {
                lock = pool.wake.wait(lock).unwrap_or_else(|e| e.into_inner());
            }
        }
        seen = pool.generation.load(Ordering::Acquire);
        // SAFETY: the caller wrote the job before bumping the generation and
        // keeps it until `pending` reaches zero.
        if let Some(job) = unsafe { *pool.job.get() } {
            // A panic must not leave the caller waiting for this helper.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(index)));
            if outcome.is_err() {
                pool.helper_panicked.store(true, Ordering::Relaxed);
            }
        }
        if pool.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            drop(pool.sleep.lock().unwrap_or_else(|e| e.into_inner()));
            pool.done.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_index_runs_once() {
        let threads = threads();
        for _ in 0..100 {
            let hits: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
            run(threads, &|t| {
                hits[t].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn a_panicking_task_is_reported_and_the_pool_keeps_working() {
        let threads = threads();
        let outcome = std::panic::catch_unwind(|| {
            run(threads, &|t| {
                if t == threads - 1 {
                    panic!("task {t} fails");
                }
            })
        });
        assert!(outcome.is_err());
        let sum = AtomicUsize::new(0);
        run(threads, &|t| {
            sum.fetch_add(t + 1, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), threads * (threads + 1) / 2);
    }
}
