//! Helper threads for large products, started once and kept for the process.
//!
//! A job is a borrowed `&dyn Fn(thread_index)`, so handing one over allocates
//! nothing: the caller publishes it, runs index 0 itself, and waits until every
//! helper has finished, which is what makes lending a stack closure sound.
//! Helpers spin briefly before sleeping because the products of one training
//! step follow each other closely.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

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
    sleep: Mutex<()>,
    wake: Condvar,
    done: Condvar,
}

// SAFETY: `job` is written only under `busy` while no helper reads it (see
// `run`), and read by helpers only between a generation change and their
// `pending` decrement.
unsafe impl Sync for Pool {}

/// Spins before a helper or the caller goes to sleep (about 50 µs).
const SPINS: usize = 20_000;

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
    let guard = match pool.busy.try_lock() {
        Ok(guard) if threads == pool.helpers + 1 => guard,
        _ => {
            (0..threads).for_each(task);
            return;
        }
    };
    // SAFETY: only the lifetime is erased; `task` outlives its use because we
    // wait below until every helper has finished with it, and the slot is
    // cleared before returning.
    let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(task) };
    // SAFETY: we hold `busy` and every helper is idle (pending was 0).
    unsafe { *pool.job.get() = Some(job) };
    pool.pending.store(pool.helpers, Ordering::Release);
    pool.generation.fetch_add(1, Ordering::Release);
    // Notify under the lock so that a helper between its check and its wait
    // cannot miss the wake-up.
    drop(pool.sleep.lock().unwrap_or_else(|e| e.into_inner()));
    pool.wake.notify_all();
    task(0);
    let mut spins = 0;
    while pool.pending.load(Ordering::Acquire) != 0 {
        if spins < SPINS {
            spins += 1;
            std::hint::spin_loop();
            continue;
        }
        let lock = pool.sleep.lock().unwrap_or_else(|e| e.into_inner());
        if pool.pending.load(Ordering::Acquire) != 0 {
            drop(pool.done.wait(lock).unwrap_or_else(|e| e.into_inner()));
        }
    }
    // SAFETY: every helper has finished with the job.
    unsafe { *pool.job.get() = None };
    drop(guard);
}

fn helper(pool: &'static Pool, index: usize) {
    let mut seen = 0;
    loop {
        let mut spins = 0;
        loop {
            let generation = pool.generation.load(Ordering::Acquire);
            if generation != seen {
                seen = generation;
                break;
            }
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            let lock = pool.sleep.lock().unwrap_or_else(|e| e.into_inner());
            if pool.generation.load(Ordering::Acquire) == seen {
                drop(pool.wake.wait(lock).unwrap_or_else(|e| e.into_inner()));
            }
        }
        // SAFETY: the caller wrote the job before bumping the generation and
        // keeps it until `pending` reaches zero.
        if let Some(job) = unsafe { *pool.job.get() } {
            job(index);
        }
        if pool.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            drop(pool.sleep.lock().unwrap_or_else(|e| e.into_inner()));
            pool.done.notify_one();
        }
    }
}
