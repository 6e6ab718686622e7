//! `matmul(a, b)`: the 2-D matrix product y = a·b.
//!
//! Shapes: a `[n, k]`, b `[k, m]`, y `[n, m]`. With g = ∂C/∂y:
//! ∂C/∂a = g·bᵀ (`[n, k]`), ∂C/∂b = aᵀ·g (`[k, m]`).

use ndarray::Array2;

use crate::float::Float;
use crate::gemm::gemm;

fn check_shapes<F: Float>(a: &Array2<F>, b: &Array2<F>) {
    if a.ncols() != b.nrows() {
        panic!(
            "matmul: a has shape {:?} but b has shape {:?}; b must be [{}, _]",
            a.shape(),
            b.shape(),
            a.ncols()
        );
    }
}

/// Matrix product `a·b`.
pub fn matmul<F: Float>(a: &Array2<F>, b: &Array2<F>) -> Array2<F> {
    check_shapes(a, b);
    gemm(a, b)
}

/// VJP of [`matmul`].
pub fn matmul_vjp<F: Float>(
    a: &Array2<F>,
    b: &Array2<F>,
    _y: &Array2<F>,
    g: Array2<F>,
    need: [bool; 2],
) -> (Option<Array2<F>>, Option<Array2<F>>) {
    check_shapes(a, b);
    if g.dim() != (a.nrows(), b.ncols()) {
        panic!(
            "matmul: upstream gradient has shape {:?}, output is [{}, {}]",
            g.shape(),
            a.nrows(),
            b.ncols()
        );
    }
    let grads = (need[0].then(|| gemm(&g, &b.t())), need[1].then(|| gemm(&a.t(), &g)));
    crate::workspace::recycle_array(g);
    grads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_vjp, d2, random};

    #[test]
    fn vjp_matches_finite_differences() {
        for (n, k, m) in [(1, 1, 1), (3, 4, 2), (1, 5, 3), (4, 2, 6)] {
            assert_vjp(
                &[random((n, k), 1).into_dyn(), random((k, m), 2).into_dyn()],
                |v| matmul(&d2(&v[0]), &d2(&v[1])),
                |v, y, g| {
                    let (ga, gb) = matmul_vjp(&d2(&v[0]), &d2(&v[1]), y, g, [true; 2]);
                    vec![ga.map(|a| a.into_dyn()), gb.map(|a| a.into_dyn())]
                },
            );
        }
    }

    #[test]
    fn f32_agrees_with_f64() {
        let (a, b) = (random((3, 4), 1), random((4, 2), 2));
        let y32 = matmul(&a.mapv(|v| v as f32), &b.mapv(|v| v as f32));
        assert!(
            y32.iter()
                .zip(matmul(&a, &b).iter())
                .all(|(x, y)| (f64::from(*x) - y).abs() < 1e-4)
        );
    }

    #[test]
    #[should_panic(expected = "matmul: a has shape [2, 3] but b has shape [4, 2]")]
    fn shape_mismatch_names_module_and_shapes() {
        matmul(&random((2, 3), 1), &random((4, 2), 2));
    }
}
