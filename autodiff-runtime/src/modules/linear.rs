//! `linear(x, w, b)`: y = x·wᵀ + b, the lecture's Y = W·X with the batch in rows.
//!
//! Shapes: x `[batch, in]`, w `[out, in]`, b `[out]`, y `[batch, out]`.
//! Jacobian-vector products (g = ∂C/∂y, `[batch, out]`):
//! ∂C/∂x = g·w (`[batch, in]`), ∂C/∂w = gᵀ·x (`[out, in]`), ∂C/∂b = Σ_batch g.
//! These are the lecture's dC/dX = Wᵀ·dC/dY and dC/dW = dC/dY·Xᵀ, transposed
//! into row-batch form.

use ndarray::{Array1, Array2};

use crate::float::Float;
use crate::gemm::{gemm, gemm_into};
use crate::workspace::{array_from_iter, recycle_array, take, zeros};

fn check_shapes<F: Float>(x: &Array2<F>, w: &Array2<F>, b: &Array1<F>) {
    if x.ncols() != w.ncols() {
        panic!(
            "linear: x has shape {:?} but w has shape {:?}; w must be [out, {}]",
            x.shape(),
            w.shape(),
            x.ncols()
        );
    }
    if b.len() != w.nrows() {
        panic!(
            "linear: w has shape {:?} but b has shape {:?}; b must be [{}]",
            w.shape(),
            b.shape(),
            w.nrows()
        );
    }
}

/// Σ over rows: the bias gradient (a plain loop over contiguous rows, which
/// the compiler vectorises).
fn column_sums<F: Float>(g: &Array2<F>) -> Array1<F> {
    let mut sums: Array1<F> = zeros(g.ncols());
    match (g.as_slice(), sums.as_slice_mut()) {
        (Some(values), Some(out)) if !out.is_empty() => {
            for row in values.chunks_exact(out.len()) {
                for (s, &v) in out.iter_mut().zip(row) {
                    *s += v;
                }
            }
        }
        _ => {
            for row in g.rows() {
                sums += &row;
            }
        }
    }
    sums
}

/// Fully connected layer: `y = x·wᵀ + b`.
pub fn linear<F: Float>(x: &Array2<F>, w: &Array2<F>, b: &Array1<F>) -> Array2<F> {
    check_shapes(x, w, b);
    // Start from the broadcast bias and let the GEMM accumulate onto it (β = 1):
    // the output is written by one fill and one GEMM, with no temporary.
    let (rows, out) = (x.nrows(), w.nrows());
    let mut y = match b.as_slice() {
        Some(bias) => {
            let mut buffer = take(rows * out);
            for _ in 0..rows {
                buffer.extend_from_slice(bias);
            }
            Array2::from_shape_vec((rows, out), buffer).expect("rows × out values")
        }
        None => array_from_iter((rows, out), (0..rows).flat_map(|_| b.iter().copied())),
    };
    gemm_into(F::one(), x, &w.t(), F::one(), &mut y);
    y
}

/// VJP of [`linear`]: gradients for x, w and b, each computed only if `need`s it.
pub fn linear_vjp<F: Float>(
    x: &Array2<F>,
    w: &Array2<F>,
    b: &Array1<F>,
    _y: &Array2<F>,
    g: Array2<F>,
    need: [bool; 3],
) -> (Option<Array2<F>>, Option<Array2<F>>, Option<Array1<F>>) {
    check_shapes(x, w, b);
    if g.dim() != (x.nrows(), w.nrows()) {
        panic!(
            "linear: upstream gradient has shape {:?}, output is [{}, {}]",
            g.shape(),
            x.nrows(),
            w.nrows()
        );
    }
    let gx = need[0].then(|| gemm(&g, w));
    let gw = need[1].then(|| gemm(&g.t(), x));
    let gb = need[2].then(|| column_sums(&g));
    recycle_array(g);
    (gx, gw, gb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_vjp, d1, d2, random};

    #[test]
    fn vjp_matches_finite_differences() {
        for (batch, inp, out) in [(1, 3, 2), (4, 3, 5), (7, 1, 1), (2, 6, 3)] {
            let inputs = [
                random((batch, inp), 1).into_dyn(),
                random((out, inp), 2).into_dyn(),
                random(out, 3).into_dyn(),
            ];
            assert_vjp(
                &inputs,
                |v| linear(&d2(&v[0]), &d2(&v[1]), &d1(&v[2])),
                |v, y, g| {
                    let (gx, gw, gb) = linear_vjp(&d2(&v[0]), &d2(&v[1]), &d1(&v[2]), y, g, [true; 3]);
                    vec![
                        gx.map(|a| a.into_dyn()),
                        gw.map(|a| a.into_dyn()),
                        gb.map(|a| a.into_dyn()),
                    ]
                },
            );
        }
    }

    #[test]
    fn closed_forms_of_the_lecture() {
        // dC/dX = dC/dY·W and dC/dW = dC/dYᵀ·X (row-batch form of Wᵀ·dC/dY, dC/dY·Xᵀ).
        let (x, w, b) = (random((3, 4), 4), random((2, 4), 5), random(2, 6));
        let y = linear(&x, &w, &b);
        let g = random((3, 2), 7);
        let (gx, gw, gb) = linear_vjp(&x, &w, &b, &y, g.clone(), [true; 3]);
        for i in 0..3 {
            for j in 0..4 {
                let expected: f64 = (0..2).map(|k| g[[i, k]] * w[[k, j]]).sum();
                assert!((gx.as_ref().unwrap()[[i, j]] - expected).abs() < 1e-12);
            }
        }
        for k in 0..2 {
            for j in 0..4 {
                let expected: f64 = (0..3).map(|i| g[[i, k]] * x[[i, j]]).sum();
                assert!((gw.as_ref().unwrap()[[k, j]] - expected).abs() < 1e-12);
            }
            let expected: f64 = (0..3).map(|i| g[[i, k]]).sum();
            assert!((gb.as_ref().unwrap()[k] - expected).abs() < 1e-12);
        }
        // And the forward against its definition.
        for i in 0..3 {
            for k in 0..2 {
                let expected: f64 = (0..4).map(|j| x[[i, j]] * w[[k, j]]).sum::<f64>() + b[k];
                assert!((y[[i, k]] - expected).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn computes_only_what_is_needed() {
        let (x, w, b) = (random((3, 4), 1), random((2, 4), 2), random(2, 3));
        let y = linear(&x, &w, &b);
        let (gx, gw, gb) = linear_vjp(&x, &w, &b, &y, y.clone(), [false, true, false]);
        assert!(gx.is_none() && gw.is_some() && gb.is_none());
    }

    #[test]
    fn works_in_f32() {
        let x = random((2, 3), 1).mapv(|v| v as f32);
        let w = random((4, 3), 2).mapv(|v| v as f32);
        let b = random(4, 3).mapv(|v| v as f32);
        let y = linear(&x, &w, &b);
        let y64 = linear(&x.mapv(f64::from), &w.mapv(f64::from), &b.mapv(f64::from));
        assert!(y.iter().zip(&y64).all(|(a, b)| (f64::from(*a) - b).abs() < 1e-4));
        let (gx, _, _) = linear_vjp(&x, &w, &b, &y, y.clone(), [true, false, false]);
        assert_eq!(gx.unwrap().shape(), &[2, 3]);
    }

    #[test]
    #[should_panic(expected = "linear: x has shape [2, 3] but w has shape [4, 5]")]
    fn shape_mismatch_names_module_and_shapes() {
        linear(&random((2, 3), 1), &random((4, 5), 2), &random(4, 3));
    }

    #[test]
    #[should_panic(expected = "linear: w has shape [4, 3] but b has shape [5]")]
    fn bias_mismatch_names_module_and_shapes() {
        linear(&random((2, 3), 1), &random((4, 3), 2), &random(5, 3));
    }
}
