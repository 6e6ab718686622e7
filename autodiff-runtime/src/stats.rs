//! Counters for tests and diagnostics: matrix products per thread, and a
//! counting global allocator. Every matrix product of the runtime goes
//! through [`crate::gemm::gemm_into`], which counts calls per thread: a test
//! can check that a generated gradient performs exactly the products a
//! hand-written backward performs (no ∂x for data, for instance).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

thread_local! {
    static GEMM_CALLS: Cell<usize> = const { Cell::new(0) };
}

/// The number of matrix products the runtime has computed on this thread.
pub fn gemm_calls() -> usize {
    GEMM_CALLS.with(Cell::get)
}

pub(crate) fn count_gemm() {
    add_gemm_calls(1);
}

/// Adds products computed for this thread by another (one side of a join).
pub(crate) fn add_gemm_calls(calls: usize) {
    GEMM_CALLS.with(|n| n.set(n.get() + calls));
}

/// A global allocator that counts, for measuring what a step allocates:
///
/// ```
/// use autodiff_runtime::stats::{CountingAllocator, heap_usage};
///
/// #[global_allocator]
/// static ALLOCATOR: CountingAllocator = CountingAllocator;
///
/// let usage = heap_usage(|| drop(vec![0.0_f32; 1000]));
/// assert_eq!((usage.allocations, usage.bytes, usage.peak), (1, 4000, 4000));
/// ```
///
/// The counters are global (all threads), so measure one thing at a time.
pub struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are only atomics.
unsafe impl GlobalAlloc for CountingAllocator {
    /// # Safety
    /// As for [`GlobalAlloc::alloc`].
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    /// # Safety
    /// As for [`GlobalAlloc::dealloc`].
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// What [`heap_usage`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapUsage {
    /// Number of allocations.
    pub allocations: usize,
    /// Bytes allocated in all.
    pub bytes: usize,
    /// The highest number of live bytes above the level at the start.
    pub peak: usize,
}

/// The heap usage of `f`, as counted by [`CountingAllocator`] (all zeros if it
/// is not the global allocator).
pub fn heap_usage(f: impl FnOnce()) -> HeapUsage {
    let (allocations, bytes, live) = (ALLOCATIONS.load(Relaxed), BYTES.load(Relaxed), LIVE.load(Relaxed));
    PEAK.store(live, Relaxed);
    f();
    HeapUsage {
        allocations: ALLOCATIONS.load(Relaxed) - allocations,
        bytes: BYTES.load(Relaxed) - bytes,
        peak: PEAK.load(Relaxed).saturating_sub(live),
    }
}
