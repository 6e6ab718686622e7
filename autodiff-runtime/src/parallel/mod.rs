//! The runtime's helper threads ([`pool`]), which the GEMM splits large
//! products over, and work split over them by parts of a batch: each thread
//! takes a contiguous range of images and writes only its own part of the
//! outputs. Buffers are taken by the caller (from its workspace) before the
//! split, so helpers allocate nothing.

pub(crate) mod pool;

use std::marker::PhantomData;

pub use pool::threads;
use std::ops::Range;

/// Below this many multiply-adds a batch is not split: handing work to the
/// helpers costs a few microseconds.
const PARALLEL_WORK: usize = 1 << 20;

/// How many parts `n` items of `work` multiply-adds in all are split into:
/// every thread of the pool, or one.
pub(crate) fn parts(n: usize, work: usize) -> usize {
    if work < PARALLEL_WORK {
        1
    } else {
        pool::available().min(n).max(1)
    }
}

/// The items of part `t` of `parts`: contiguous ranges of nearly equal length.
pub(crate) fn range(n: usize, parts: usize, t: usize) -> Range<usize> {
    n * t / parts..n * (t + 1) / parts
}

/// Below this many elements a pass of element-wise or row-wise work stays on
/// the calling thread: handing half of it to a helper costs a few microseconds.
pub(crate) const PARALLEL_ELEMENTS: usize = 1 << 16;

/// `task(range)` for contiguous ranges of the `n` items (rows) of a pass over
/// `elements` values in all, that together cover `0..n`: on every thread of
/// the pool when the pass is large enough, else as one range here.
pub(crate) fn over_items(n: usize, elements: usize, task: &(dyn Fn(Range<usize>) + Sync)) {
    let parts = if elements < PARALLEL_ELEMENTS {
        1
    } else {
        pool::available().min(n).max(1)
    };
    run(parts, &|t| task(range(n, parts, t)));
}

/// Runs `task(t)` for every part `t < parts`, in parallel when `parts > 1`.
pub(crate) fn run(parts: usize, task: &(dyn Fn(usize) + Sync)) {
    if parts == threads() && parts > 1 {
        pool::run(parts, task);
    } else {
        (0..parts).for_each(task);
    }
}

/// `(a(), b())`, each on its own thread when the pool has exactly two (the
/// machines we measure on), one after the other otherwise. Two whole products
/// that share nothing, such as a linear layer's ∂C/∂x and ∂C/∂w, run faster
/// this way than each split over both threads: no hand-off between them, no
/// operand packed twice, and no thread waiting for the other's half. Work
/// inside `a` and `b` runs on its thread alone; buffers must be taken before
/// (a helper has no workspace).
pub fn join<RA: Send, RB: Send>(a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB + Send) -> (RA, RB) {
    use std::sync::Mutex;
    if pool::available() != 2 {
        return (a(), b());
    }
    // Each side runs exactly once; the mutexes only carry the closures and
    // their results across threads (never contended, and they allocate nothing).
    let (a, b) = (Mutex::new(Some(a)), Mutex::new(Some(b)));
    let (ra, rb) = (Mutex::new(None), Mutex::new(None));
    let caller = std::thread::current().id();
    pool::run(2, &|t| {
        if t == 0 {
            let a = a.lock().unwrap_or_else(|e| e.into_inner()).take();
            *ra.lock().unwrap_or_else(|e| e.into_inner()) = a.map(|a| a());
        } else {
            let b = b.lock().unwrap_or_else(|e| e.into_inner()).take();
            let before = crate::stats::gemm_calls();
            let result = b.map(|b| b());
            // Products computed on a helper count for the caller.
            let helped = if std::thread::current().id() == caller {
                0
            } else {
                crate::stats::gemm_calls() - before
            };
            *rb.lock().unwrap_or_else(|e| e.into_inner()) = result.map(|r| (r, helped));
        }
    });
    let ra = ra.into_inner().unwrap_or_else(|e| e.into_inner());
    let rb = rb.into_inner().unwrap_or_else(|e| e.into_inner());
    let (rb, helped) = rb.expect("each side of a join runs");
    crate::stats::add_gemm_calls(helped);
    (ra.expect("each side of a join runs"), rb)
}

/// A mutable slice handed to several threads, each of which takes a part of
/// it that no other takes.
pub(crate) struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: the slice is only reached through `part`, whose contract makes the
// parts of different threads disjoint; sending `&mut T` across threads needs
// `T: Send`.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    pub(crate) fn new(slice: &'a mut [T]) -> Self {
        Disjoint {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _borrow: PhantomData,
        }
    }

    /// The elements `range` of the slice.
    ///
    /// # Safety
    /// No two parts alive at the same time may overlap.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn part(&self, range: Range<usize>) -> &mut [T] {
        assert!(range.start <= range.end && range.end <= self.len, "part out of bounds");
        // SAFETY: in bounds (checked above) of a slice borrowed mutably for
        // 'a; the caller guarantees that no other live part overlaps.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_item_once() {
        for n in [0, 1, 5, 64] {
            for parts in 1..5 {
                let covered: Vec<usize> = (0..parts).flat_map(|t| range(n, parts, t)).collect();
                assert_eq!(covered, (0..n).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_join_runs_each_side_once_and_counts_the_products_of_both() {
        use crate::gemm::gemm_into;
        use crate::testing::random;
        let (a, b): (ndarray::Array2<f64>, ndarray::Array2<f64>) = (random((64, 96), 1), random((96, 80), 2));
        let want = a.dot(&b);
        for _ in 0..20 {
            let (mut c1, mut c2) = (ndarray::Array2::zeros((64, 80)), ndarray::Array2::zeros((64, 80)));
            let before = crate::stats::gemm_calls();
            let (inside_a, inside_b) = join(
                || {
                    gemm_into(1.0, &a, &b, 0.0, &mut c1);
                    pool::available()
                },
                || {
                    gemm_into(1.0, &a, &b, 0.0, &mut c2);
                    pool::available()
                },
            );
            assert_eq!(
                crate::stats::gemm_calls() - before,
                2,
                "both products counted for the caller"
            );
            assert!(
                (&c1 - &want)
                    .iter()
                    .chain((&c2 - &want).iter())
                    .all(|d| d.abs() < 1e-12)
            );
            // Work inside a side runs on its thread alone; outside, on all.
            if threads() == 2 {
                assert_eq!((inside_a, inside_b), (1, 1));
            }
            assert_eq!(pool::available(), threads());
        }
    }

    #[test]
    fn parts_write_their_own_elements() {
        let mut data = vec![0usize; 1000];
        let parts = threads().max(2);
        {
            let shared = Disjoint::new(&mut data);
            run(parts, &|t| {
                let r = range(1000, parts, t);
                // SAFETY: the ranges of different parts are disjoint.
                let part = unsafe { shared.part(r.clone()) };
                for (v, i) in part.iter_mut().zip(r) {
                    *v = i * 2;
                }
            });
        }
        assert!(data.iter().enumerate().all(|(i, &v)| v == 2 * i));
    }
}
