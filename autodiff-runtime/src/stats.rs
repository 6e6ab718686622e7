//! Counters for tests and diagnostics. Every matrix product of the runtime goes
//! through [`gemm`] and [`gemm_into`], which count calls per thread: a test can
//! check that a generated gradient performs exactly the products a hand-written
//! backward performs (no ∂x for data, for instance).

use std::cell::Cell;

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
    count();
    a.dot(b)
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
    general_mat_mul(alpha, a, b, beta, c);
}
