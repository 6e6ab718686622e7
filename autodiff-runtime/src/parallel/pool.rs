//! Helper threads for large products, started once and kept for the process.
//!
//! A job is a borrowed `&dyn Fn(thread_index)`, so handing one over allocates
//! nothing: the caller publishes it and runs index 0 itself. Every task is
//! claimed before it runs, by its helper or by the caller: a helper that has
//! not started its task by the time the caller is done with its own (on a
//! machine busy with other processes it may not get a core for milliseconds)
//! loses it to the caller, which runs it after a brief wait, so a product
//! never takes much longer than on one thread. The caller then waits for the
//! helpers still running a task, which is what makes lending a stack closure
//! sound. Helpers spin briefly before sleeping because the products of one
//! training step follow each other closely.
//!
//! Built with `--cfg loom`, the synchronisation comes from the `loom` crate,
//! and `tests::loom_*` check every interleaving of the hand-off (see `.ci/run`).

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
use loom::sync::{Condvar, Mutex};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, OnceLock};
#[cfg(not(loom))]
use std::time::{Duration, Instant};

type Job = &'static (dyn Fn(usize) + Sync);

struct Pool {
    helpers: usize,
    /// Held by the thread that owns the helpers for one job; another thread
    /// that finds it taken runs its product alone.
    busy: Mutex<()>,
    /// Written only by the `busy` holder while no helper runs a task.
    job: JobCell,
    /// The current job's generation (above bit 32; helpers start when it
    /// changes) and which of its tasks are claimed (bit `t` for task `t`).
    state: AtomicU64,
    /// Helpers between announcing that they may claim a task and being done
    /// with it (a helper announces before it claims, so that a claimed task
    /// is always counted here).
    running: AtomicUsize,
    /// Jobs still to run on the caller alone, after one whose helper was
    /// late (touched only by the `busy` holder).
    skip: AtomicUsize,
    /// Helpers asleep (or about to be), waiting for a job: one of them
    /// claims late because waking takes time, not because it has no core.
    asleep: AtomicUsize,
    /// Whether the last job's lateness was put down to waking (touched only
    /// by the `busy` holder).
    excused: AtomicBool,
    /// Set by a helper whose task panicked; the caller panics in turn.
    helper_panicked: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
    done: Condvar,
    /// Set to make the helpers return (the model checker needs every thread
    /// to end; the process's pool is never stopped).
    #[cfg(loom)]
    stop: AtomicBool,
}

/// The slot of the current job.
struct JobCell(
    #[cfg(not(loom))] std::cell::UnsafeCell<Option<Job>>,
    #[cfg(loom)] loom::cell::UnsafeCell<Option<Job>>,
);

impl JobCell {
    fn new() -> JobCell {
        #[cfg(not(loom))]
        return JobCell(std::cell::UnsafeCell::new(None));
        #[cfg(loom)]
        return JobCell(loom::cell::UnsafeCell::new(None));
    }

    /// # Safety
    /// No other thread reads or writes the slot meanwhile.
    unsafe fn set(&self, job: Option<Job>) {
        #[cfg(not(loom))]
        // SAFETY: exclusive access, per the caller.
        unsafe {
            *self.0.get() = job
        };
        #[cfg(loom)]
        // SAFETY: exclusive access, per the caller (loom checks it).
        self.0.with_mut(|p| unsafe { *p = job });
    }

    /// # Safety
    /// No thread writes the slot meanwhile.
    unsafe fn get(&self) -> Option<Job> {
        #[cfg(not(loom))]
        // SAFETY: no concurrent write, per the caller.
        return unsafe { *self.0.get() };
        #[cfg(loom)]
        // SAFETY: no concurrent write, per the caller (loom checks it).
        return self.0.with(|p| unsafe { *p });
    }
}

// SAFETY: `job` is written only under `busy` while no helper reads it (see
// `run_on`), and read by a helper only after it claimed a task of the job's
// generation and before its `running` decrement.
unsafe impl Sync for Pool {}

/// How long a helper (or the caller) spins before it sleeps: long enough to
/// bridge the element-wise work between the products of a step, short enough
/// not to hold a core long after the step ends.
#[cfg(not(loom))]
const SPIN: Duration = Duration::from_micros(100);

/// How long the caller, done with its own task, waits for helpers to claim
/// theirs before it runs them itself: a spinning helper claims within a
/// microsecond of the job's publication, and waking a sleeping one takes
/// some tens; past that, it has probably no core to run on.
#[cfg(not(loom))]
const STEAL_AFTER: Duration = Duration::from_micros(20);

/// After a job whose helper was late, this many jobs run on the caller alone
/// before the helpers are tried again: on a machine where they get no core,
/// only one job in so many waits for them. A helper that was asleep when the
/// job came is excused once: on a quiet machine the small products between
/// long element-wise passes often finish before a sleeping helper is awake,
/// and running the next jobs alone cost a quarter of them their second thread.
const SKIP_AFTER_LATE: usize = 16;

/// At most this many threads share a product (one bit per task in `state`).
const MAX_THREADS: usize = 32;

/// Spins until `done()` or [`SPIN`] has passed; true if `done()`.
#[cfg(not(loom))]
fn spin_until(done: impl Fn() -> bool) -> bool {
    spin_for(SPIN, done)
}

/// Spins until `done()` or `limit` has passed; true if `done()`.
#[cfg(not(loom))]
fn spin_for(limit: Duration, done: impl Fn() -> bool) -> bool {
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
        if start.elapsed() > limit {
            return done();
        }
    }
}

/// Under the model checker, one look: a spin is a sequence of the same
/// reads, and the sleeping path is what must be right.
#[cfg(loom)]
fn spin_until(done: impl Fn() -> bool) -> bool {
    done()
}

/// Under the model checker the caller does not wait for claims: whether a
/// helper claimed in time is one more interleaving, not a timing.
#[cfg(loom)]
fn spin_for(_: (), _: impl Fn() -> bool) -> bool {
    false
}

#[cfg(loom)]
const STEAL_AFTER: () = ();

/// The number of threads a large product uses: `AUTODIFF_NUM_THREADS` if set
/// (read once), else the machine's available parallelism; at most 32 (the
/// parts of a product are claimed through one bit each).
pub fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("AUTODIFF_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, MAX_THREADS)
    })
}

impl Pool {
    fn new(helpers: usize) -> Pool {
        Pool {
            helpers,
            busy: Mutex::new(()),
            job: JobCell::new(),
            state: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            skip: AtomicUsize::new(0),
            asleep: AtomicUsize::new(0),
            excused: AtomicBool::new(false),
            helper_panicked: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            done: Condvar::new(),
            #[cfg(loom)]
            stop: AtomicBool::new(false),
        }
    }
}

/// The claim bits of tasks `0..threads`.
fn all_tasks(threads: usize) -> u64 {
    if threads >= 32 {
        u32::MAX as u64
    } else {
        (1u64 << threads) - 1
    }
}

#[cfg(not(loom))]
fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool::new(threads() - 1)));
        for index in 1..=pool.helpers {
            std::thread::Builder::new()
                .name(format!("autodiff-gemm-{index}"))
                .spawn(move || helper(pool, index))
                .expect("autodiff: cannot start a GEMM helper thread");
        }
        pool
    })
}

#[cfg(not(loom))]
thread_local! {
    /// Set while this thread runs a task of a job (a helper always is): work
    /// started inside a task runs on this thread alone, since the other
    /// threads are busy with the job's other tasks.
    static IN_TASK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The threads that work started here may use: [`threads`], or 1 inside a
/// task of a job (a product inside one image's part of a convolution, or
/// inside one side of a [`super::join`]), which would otherwise be split in
/// parts run one after the other on this thread.
#[cfg(not(loom))]
pub(crate) fn available() -> usize {
    if IN_TASK.get() { 1 } else { threads() }
}

#[cfg(loom)]
pub(crate) fn available() -> usize {
    threads()
}

/// Marks the calling thread as inside a task until dropped, also on unwinding.
#[cfg(not(loom))]
struct InTask(bool);

#[cfg(not(loom))]
impl InTask {
    fn enter() -> InTask {
        InTask(IN_TASK.replace(true))
    }
}

#[cfg(not(loom))]
impl Drop for InTask {
    fn drop(&mut self) {
        IN_TASK.set(self.0);
    }
}

/// Runs `task(0)`, …, `task(threads - 1)`, on the pool's threads when it is
/// free and on the calling thread alone otherwise.
#[cfg(not(loom))]
pub(crate) fn run(threads: usize, task: &(dyn Fn(usize) + Sync)) {
    run_on(pool(), threads, task);
}

/// Under the model checker the process has no pool: products run serially.
#[cfg(loom)]
pub(crate) fn run(threads: usize, task: &(dyn Fn(usize) + Sync)) {
    (0..threads).for_each(task);
}

fn run_on(pool: &Pool, threads: usize, task: &(dyn Fn(usize) + Sync)) {
    let serially = || {
        #[cfg(not(loom))]
        let _in_task = InTask::enter();
        (0..threads).for_each(task);
    };
    let _busy = match pool.busy.try_lock() {
        Ok(guard) if threads == pool.helpers + 1 => guard,
        _ => return serially(),
    };
    if pool.skip.load(Ordering::Relaxed) > 0 {
        pool.skip.fetch_sub(1, Ordering::Relaxed);
        return serially();
    }
    // SAFETY: only the lifetime is erased. `task` outlives every use: the
    // `Finish` guard below waits until no helper runs a task of it and clears
    // the slot, on return and on unwinding alike.
    let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(task) };
    // SAFETY: we hold `busy`, and no helper runs a task (the last job's
    // `Finish` waited for `running` to reach zero with every task claimed).
    unsafe { pool.job.set(Some(job)) };
    // A new generation, with task 0 claimed by the caller.
    let generation = ((pool.state.load(Ordering::Relaxed) >> 32) + 1) & u64::from(u32::MAX);
    // A swap, not a store: the model checker (loom 0.7) lets a plain store
    // fall between the read and the write of a helper's late claim on the
    // last generation, which real atomics forbid, and then reports a task
    // lost; as a read-modify-write it is ordered like every change of `state`.
    pool.state.swap(generation << 32 | 1, Ordering::Release);
    let mut finish = Finish {
        pool,
        threads,
        claimed: false,
    };
    // Take the lock before notifying, so that a helper between its check of
    // the generation and its wait cannot miss the wake-up.
    drop(pool.sleep.lock().unwrap_or_else(|e| e.into_inner()));
    let woken = pool.asleep.load(Ordering::Relaxed) > 0;
    pool.wake.notify_all();
    {
        #[cfg(not(loom))]
        let _in_task = InTask::enter();
        task(0);
        // The tasks no helper has claimed after a brief wait run here,
        // claimed all at once.
        let all = all_tasks(threads);
        spin_for(STEAL_AFTER, || pool.state.load(Ordering::Acquire) & all == all);
        let before = pool.state.fetch_or(all, Ordering::AcqRel);
        finish.claimed = true;
        let late = before & all != all;
        // A helper that was awake and still did not claim its task in time
        // has no core: the next jobs do not wait for it. One that was asleep
        // may only have been slow to wake, once; late again on the next job,
        // it was woken and still got no core.
        let excused = late && woken && !pool.excused.load(Ordering::Relaxed);
        pool.excused.store(excused, Ordering::Relaxed);
        if late && !excused {
            pool.skip.store(SKIP_AFTER_LATE, Ordering::Relaxed);
        }
        for t in (1..threads).filter(|t| before & (1 << t) == 0) {
            task(t);
        }
    }
    drop(finish);
    if pool.helper_panicked.swap(false, Ordering::Relaxed) {
        panic!("autodiff: a GEMM helper thread panicked");
    }
}

/// Claims the tasks nobody has started, waits for the helpers running one and
/// clears the job, also if a task of the caller unwinds.
struct Finish<'a> {
    pool: &'a Pool,
    threads: usize,
    /// Whether the caller has claimed every task already.
    claimed: bool,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let pool = self.pool;
        // From here no helper starts a task of this job.
        if !self.claimed {
            pool.state.fetch_or(all_tasks(self.threads), Ordering::AcqRel);
        }
        if !spin_until(|| pool.running.load(Ordering::Acquire) == 0) {
            let mut lock = pool.sleep.lock().unwrap_or_else(|e| e.into_inner());
            while pool.running.load(Ordering::Acquire) != 0 {
                lock = pool.done.wait(lock).unwrap_or_else(|e| e.into_inner());
            }
        }
        // SAFETY: every task is claimed and no helper runs one.
        unsafe { pool.job.set(None) };
    }
}

fn helper(pool: &Pool, index: usize) {
    #[cfg(not(loom))]
    let _in_task = InTask::enter();
    let mut seen = 0;
    loop {
        let fresh = || pool.state.load(Ordering::Acquire) >> 32 != seen;
        #[cfg(loom)]
        let fresh = || fresh() || pool.stop.load(Ordering::Acquire);
        if !spin_until(fresh) {
            let mut lock = pool.sleep.lock().unwrap_or_else(|e| e.into_inner());
            pool.asleep.fetch_add(1, Ordering::Relaxed);
            while !fresh() {
                lock = pool.wake.wait(lock).unwrap_or_else(|e| e.into_inner());
            }
            pool.asleep.fetch_sub(1, Ordering::Relaxed);
        }
        #[cfg(loom)]
        if pool.stop.load(Ordering::Acquire) {
            return;
        }
        // Announced before the claim: the caller waits for `running` only
        // once every task is claimed, so a claimed task is always counted,
        // and an announcement that claims nothing only delays it briefly.
        pool.running.fetch_add(1, Ordering::AcqRel);
        // The claim is on the job current now, which may be newer than the
        // one that woke this helper (then it is that job's task that runs).
        let bit = 1u64 << index;
        let before = pool.state.fetch_or(bit, Ordering::AcqRel);
        seen = before >> 32;
        if before & bit == 0 {
            // SAFETY: the caller wrote the job before publishing its
            // generation and keeps it until `running` is zero.
            if let Some(job) = unsafe { pool.job.get() } {
                // A panic must not leave the caller waiting for this helper.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(index)));
                if outcome.is_err() {
                    pool.helper_panicked.store(true, Ordering::Relaxed);
                }
            }
        }
        if pool.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            drop(pool.sleep.lock().unwrap_or_else(|e| e.into_inner()));
            pool.done.notify_one();
        }
    }
}

#[cfg(all(test, not(loom)))]
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
    fn a_task_whose_helper_never_runs_is_run_by_the_caller() {
        // A pool whose helper thread was never started stands for one whose
        // helper gets no core: the caller claims and runs its task.
        let pool = Pool::new(1);
        for _ in 0..3 {
            let hits: Vec<AtomicUsize> = (0..2).map(|_| AtomicUsize::new(0)).collect();
            // (Waiting for the helper instead would never return.)
            run_on(&pool, 2, &|t| {
                hits[t].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            // SAFETY: no job runs now.
            assert!(unsafe { pool.job.get() }.is_none(), "the job is cleared");
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

/// Every interleaving of the hand-off, explored by `loom`: run with
/// `RUSTFLAGS="--cfg loom" cargo test -p autodiff-runtime --lib --release loom`.
#[cfg(all(test, loom))]
mod tests {
    use super::*;
    use loom::sync::Arc;

    const PREEMPTIONS: usize = 3;

    /// A pool of `helpers` threads that runs `jobs` jobs of `helpers + 1`
    /// tasks, each task adding its index + 1, then stops its helpers.
    fn model(helpers: usize, jobs: usize) {
        // Interleavings with up to three preemptions: bugs of a hand-off
        // need few, and the full space is too large to finish.
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(PREEMPTIONS);
        builder.check(move || {
            let pool = Arc::new(Pool::new(helpers));
            let threads: Vec<_> = (1..=helpers)
                .map(|index| {
                    let pool = pool.clone();
                    loom::thread::spawn(move || helper(&pool, index))
                })
                .collect();
            for _ in 0..jobs {
                let sum = AtomicUsize::new(0);
                run_on(&pool, helpers + 1, &|t| {
                    sum.fetch_add(t + 1, Ordering::Relaxed);
                });
                // Every task ran, and finished before `run_on` returned.
                let n = helpers + 1;
                assert_eq!(sum.load(Ordering::Relaxed), n * (n + 1) / 2);
                // SAFETY: no job runs now; loom checks the access.
                assert!(unsafe { pool.job.get() }.is_none(), "the job is cleared");
            }
            pool.stop.store(true, Ordering::Release);
            drop(pool.sleep.lock().unwrap());
            pool.wake.notify_all();
            for t in threads {
                t.join().unwrap();
            }
        });
    }

    #[test]
    fn loom_one_helper_one_job() {
        model(1, 1);
    }

    #[test]
    fn loom_two_helpers_one_job() {
        // `running` counts down from two: the last helper, whichever it is,
        // wakes the caller; a task no helper claimed runs on the caller.
        model(2, 1);
    }

    #[test]
    fn loom_one_helper_two_jobs() {
        // The second job's generation must wake a helper that finished the
        // first, whether it is spinning, about to wait or waiting.
        model(1, 2);
    }
}
