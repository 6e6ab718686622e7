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
        threads().min(n).max(1)
    }
}

/// The items of part `t` of `parts`: contiguous ranges of nearly equal length.
pub(crate) fn range(n: usize, parts: usize, t: usize) -> Range<usize> {
    n * t / parts..n * (t + 1) / parts
}

/// Runs `task(t)` for every part `t < parts`, in parallel when `parts > 1`.
pub(crate) fn run(parts: usize, task: &(dyn Fn(usize) + Sync)) {
    if parts == threads() && parts > 1 {
        pool::run(parts, task);
    } else {
        (0..parts).for_each(task);
    }
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
