//! Counters for tests and diagnostics: matrix products per thread, and a
//! counting global allocator. Every matrix product of the runtime goes
//! through [`gemm`] and [`gemm_into`], which count calls per thread: a test can
//! check that a generated gradient performs exactly the products a hand-written
//! backward performs (no ∂x for data, for instance).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[cfg(not(feature = "gemm"))]
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayBase, Data, DataMut, Ix2};

use crate::float::Float;

thread_local! {
    static GEMM_CALLS: Cell<usize> = const { Cell::new(0) };
}

/// The number of matrix products the runtime has computed on this thread.
pub fn gemm_calls() -> usize {
    GEMM_CALLS.with(Cell::get)
}

fn count() {
    GEMM_CALLS.with(|n| n.set(n.get() + 1));
}

/// `a·b` into a new array.
pub(crate) fn gemm<F: Float, S1: Data<Elem = F>, S2: Data<Elem = F>>(
    a: &ArrayBase<S1, Ix2>,
    b: &ArrayBase<S2, Ix2>,
) -> Array2<F> {
    // β = 0: neither GEMM library reads the output's old values.
    let mut c = crate::workspace::scratch((a.nrows(), b.ncols()));
    gemm_into(F::one(), a, b, F::zero(), &mut c);
    c
}

/// `c ← α·a·b + β·c`.
pub(crate) fn gemm_into<F: Float, S1: Data<Elem = F>, S2: Data<Elem = F>, S3: DataMut<Elem = F>>(
    alpha: F,
    a: &ArrayBase<S1, Ix2>,
    b: &ArrayBase<S2, Ix2>,
    beta: F,
    c: &mut ArrayBase<S3, Ix2>,
) {
    count();
    #[cfg(feature = "gemm")]
    {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        assert!(
            b.nrows() == k && c.dim() == (m, n),
            "gemm: shapes {:?}·{:?} into {:?}",
            a.shape(),
            b.shape(),
            c.shape()
        );
        // Threads pay off only for large products.
        let parallelism = if m * n * k >= 1 << 21 {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        let (ars, acs) = (a.strides()[0], a.strides()[1]);
        let (brs, bcs) = (b.strides()[0], b.strides()[1]);
        let (crs, ccs) = (c.strides()[0], c.strides()[1]);
        // SAFETY: the pointers and strides come from live ndarray views of the
        // checked shapes; `c` is borrowed mutably, so it aliases neither input.
        // gemm computes dst ← α·dst + β·lhs·rhs, reading dst only if asked.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                ccs,
                crs,
                beta != F::zero(),
                a.as_ptr(),
                acs,
                ars,
                b.as_ptr(),
                bcs,
                brs,
                beta,
                alpha,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
    #[cfg(not(feature = "gemm"))]
    general_mat_mul(alpha, a, b, beta, c);
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
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
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
