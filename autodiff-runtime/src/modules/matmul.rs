//! `matmul(a, b)`: the 2-D matrix product y = a·b.
//!
//! Shapes: a `[n, k]`, b `[k, m]`, y `[n, m]`. With g = ∂C/∂y:
//! ∂C/∂a = g·bᵀ (`[n, k]`), ∂C/∂b = aᵀ·g (`[k, m]`).

use ndarray::{Array2, ArrayRef2};

use crate::float::Float;
use crate::gemm::gemm;

fn check_shapes<F>(a: &ArrayRef2<F>, b: &ArrayRef2<F>) {
    if a.ncols() != b.nrows() {
        panic!(
            "matmul: a has shape {:?} but b has shape {:?}; b must be [{}, _]",
            a.shape(),
            b.shape(),
            a.ncols()
        );
    }
}

crate::module! {
    /// Matrix product `a·b`.
    ///
    /// # Panics
    /// If the inner dimensions differ, naming both shapes.
    pub fn matmul<F: Float>(a: &ArrayRef2<F>, b: &ArrayRef2<F>) -> Array2<F> {
        check_shapes(a, b);
        gemm(a, b)
    }

    backward(y, g, need) {
        check_shapes(a, b);
        if g.dim() != (a.nrows(), b.ncols()) {
            panic!(
                "matmul: upstream gradient has shape {:?}, output is [{}, {}]",
                g.shape(),
                a.nrows(),
                b.ncols()
            );
        }
        grad a = gemm(&g, &b.t());
        grad b = gemm(&a.t(), &g);
        crate::workspace::recycle_array(g);
    }

    gradcheck {
        a: random([1, 1]), b: random([1, 1]);
        a: random([3, 4]), b: random([4, 2]);
        a: random([1, 5]), b: random([5, 3]);
        a: random([4, 2]), b: random([2, 6]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random;

    #[test]
    #[should_panic(expected = "matmul: a has shape [2, 3] but b has shape [4, 2]")]
    fn shape_mismatch_names_module_and_shapes() {
        matmul(&random((2, 3), 1), &random((4, 2), 2));
    }
}
