//! `causal_mask(scores)`: attention scores `[.., t, t]` with every entry
//! above the diagonal (a query looking at a later key) set to −∞, so that a
//! softmax over the last axis gives those keys exactly zero weight. Written
//! by hand rather than with `module!`: its output holds −∞, which the
//! generated finite-difference check cannot project; the check here goes
//! through the softmax that always follows it.

use ndarray::{Array, ArrayRef, Axis, Dimension};

use crate::elementwise::in_row_parts;
use crate::float::Float;
use crate::value::check_shape;

use super::arith::copy;

/// Checks that the last two axes are square.
fn check_square<F, D: Dimension>(module: &str, x: &ArrayRef<F, D>) -> usize {
    let shape = x.shape();
    let n = shape.len();
    if n < 2 || shape[n - 1] != shape[n - 2] {
        panic!("{module}: scores must be [.., t, t] (square in the last two axes), got shape {shape:?}");
    }
    shape[n - 1]
}

/// Entries above the diagonal of the last two axes set to `value`.
fn fill_above<F: Float, D: Dimension>(x: &mut Array<F, D>, t: usize, value: F) {
    let Some(values) = x.as_slice_mut() else {
        let n = x.ndim();
        // Rows of the last axis, in order: row i of each t×t matrix is lane i mod t.
        for (k, mut row) in x.lanes_mut(Axis(n - 1)).into_iter().enumerate() {
            row.iter_mut().skip(k % t + 1).for_each(|v| *v = value);
        }
        return;
    };
    // Row k of the contiguous values is row k mod t of its matrix; large
    // arrays split over the threads by rows.
    let d = t.max(1);
    in_row_parts(values, d, |r, part| {
        for (k, row) in (r.start / d..).zip(part.chunks_exact_mut(t)) {
            row[k % t + 1..].fill(value);
        }
    });
}

/// Scores `[.., t, t]` with the entries above the diagonal set to −∞: query
/// `i` attends to keys `0..=i` only (the diagonal stays, so no row is all
/// −∞ and its softmax is exact).
///
/// # Panics
/// If the last two axes are not square.
pub fn causal_mask<F: Float, D: Dimension>(scores: &ArrayRef<F, D>) -> Array<F, D> {
    let t = check_square("causal_mask", scores);
    let (Some(src), true) = (scores.as_slice(), t > 0) else {
        let mut y = copy(scores);
        fill_above(&mut y, t, F::neg_infinity());
        return y;
    };
    // One pass, row by row: the kept entries copied, the others set, so the
    // masked half of the scores is not read.
    let mut y = crate::workspace::take_scratch(scores.raw_dim());
    let values = y.as_slice_mut().expect("a new array is contiguous");
    in_row_parts(values, t, |r, part| {
        let rows = r.start / t..;
        for (k, (row, src)) in rows.zip(part.chunks_exact_mut(t).zip(src[r].chunks_exact(t))) {
            let keep = k % t + 1;
            crate::elementwise::copy_short(src, &mut row[..keep]);
            row[keep..].fill(F::neg_infinity());
        }
    });
    y
}

/// The upstream gradient with the masked entries zeroed: they are constants.
pub fn causal_mask_vjp<F: Float, D: Dimension>(
    scores: &ArrayRef<F, D>,
    _y: &Array<F, D>,
    g: Array<F, D>,
    need: [bool; 1],
) -> (Option<Array<F, D>>,) {
    let t = check_square("causal_mask", scores);
    check_shape("causal_mask", "input", scores.shape(), g.shape());
    if !need[0] {
        crate::workspace::recycle_array(g);
        return (None,);
    }
    let mut g = crate::elementwise::standard(g);
    fill_above(&mut g, t, F::zero());
    (Some(g),)
}

/// The tangent of the scores with the masked entries zeroed: they are constants.
pub fn causal_mask_tangent<F: Float, D: Dimension>(
    scores: &ArrayRef<F, D>,
    y: &Array<F, D>,
    t: (Option<&ArrayRef<F, D>>,),
) -> Option<Array<F, D>> {
    let n = check_square("causal_mask", scores);
    check_shape("causal_mask", "output", scores.shape(), y.shape());
    t.0.map(|t| {
        check_shape("causal_mask", "tangent", scores.shape(), t.shape());
        let mut t = copy(t);
        fill_above(&mut t, n, F::zero());
        t
    })
}

/// The VJP, and the same masking of the upstream gradient's tangent (the
/// mask is linear: no second-order term).
#[allow(clippy::type_complexity)]
pub fn causal_mask_vjp_tangent<F: Float, D: Dimension>(
    scores: &ArrayRef<F, D>,
    _t: (Option<&ArrayRef<F, D>>,),
    y: &Array<F, D>,
    _y_t: Option<&Array<F, D>>,
    g: Array<F, D>,
    g_t: Option<Array<F, D>>,
    need: [bool; 1],
) -> ((Option<Array<F, D>>,), (Option<Array<F, D>>,)) {
    let tangent = match g_t {
        Some(g_t) => causal_mask_vjp(scores, y, g_t, need),
        None => (None,),
    };
    (causal_mask_vjp(scores, y, g, need), tangent)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array3, ArrayD, array};

    use super::*;
    use crate::gradcheck::{Tolerance, gradcheck};
    use crate::modules::{softmax, softmax_vjp};
    use crate::testing::random;

    /// Large stacks split over the threads by rows, at any row; a strided
    /// gradient is masked as a contiguous one is.
    #[test]
    fn a_large_stack_is_masked_as_each_matrix_alone() {
        let t = 33;
        let x = random((67, t, t), 5).into_dyn();
        let y = causal_mask(&x);
        let g = causal_mask_vjp(&x, &y, x.clone(), [true]).0.expect("needed");
        let strided = x
            .clone()
            .permuted_axes([0, 2, 1].as_slice())
            .as_standard_layout()
            .to_owned();
        let strided = strided.permuted_axes([0, 2, 1].as_slice());
        assert_eq!(causal_mask(&strided), y, "scores in another layout");
        let g_strided = causal_mask_vjp(&x, &y, strided, [true]).0.expect("needed");
        for ((m, i, j), &v) in x
            .view()
            .into_dimensionality::<ndarray::Ix3>()
            .expect("3-D")
            .indexed_iter()
        {
            let above = j > i;
            assert_eq!(
                y[[m, i, j]],
                if above { f64::NEG_INFINITY } else { v },
                "({m}, {i}, {j})"
            );
            assert_eq!(g[[m, i, j]], if above { 0.0 } else { v }, "({m}, {i}, {j})");
            assert_eq!(g_strided[[m, i, j]], g[[m, i, j]], "({m}, {i}, {j})");
        }
    }

    /// The mask and the softmax after it write every value of their outputs:
    /// a reused buffer's old values (NaN here) show through nowhere.
    #[test]
    fn a_reused_buffer_is_overwritten_completely() {
        let x: Array3<f64> = random((3, 5, 5), 9);
        let want = (causal_mask(&x), softmax(&causal_mask(&x)));
        let stale = || crate::workspace::recycle_array(Array3::from_elem((3, 5, 5), f64::NAN));
        let mut workspace = crate::workspace::Workspace::new();
        let (mask, p) = workspace.run(|| {
            stale();
            let mask = causal_mask(&x);
            stale();
            let p = softmax(&mask);
            (mask, p)
        });
        assert_eq!(mask, want.0);
        assert_eq!(p, want.1);
    }

    #[test]
    fn entries_above_the_diagonal_are_minus_infinity_and_softmax_is_exact() {
        let x = array![[1.0_f64, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]];
        let y = causal_mask(&x);
        assert_eq!(y[[0, 0]], 1.0);
        assert_eq!(y[[0, 1]], f64::NEG_INFINITY);
        assert_eq!(y[[1, 1]], 5.0);
        assert_eq!(y[[2, 0]], 7.0);
        let p = softmax(&y);
        assert_eq!(p.row(0).to_vec(), vec![1.0, 0.0, 0.0]);
        assert!((p[[1, 0]] - 1.0 / (1.0 + 1.0_f64.exp())).abs() < 1e-15);
        assert!(p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn vjp_matches_finite_differences() {
        // Through the softmax that follows the mask in attention, on a batch
        // of two heads of 4×4 scores: Σ r ⊙ softmax(mask(x)).
        let x: Array3<f64> = random((2, 4, 4), 11);
        let r: Array3<f64> = random((2, 4, 4), 12);
        let f = |v: &[ArrayD<f64>]| {
            let x = v[0].clone().into_dimensionality::<ndarray::Ix3>().expect("rank 3");
            (&softmax(&causal_mask(&x)) * &r).sum()
        };
        let masked = causal_mask(&x);
        let p = softmax(&masked);
        let (gm,) = softmax_vjp(&masked, &p, r.clone(), [true]);
        let (gx,) = causal_mask_vjp(&x, &masked, gm.expect("asked"), [true]);
        let gx = gx.expect("asked");
        if let Err(e) = gradcheck(f, &[x.into_dyn()], &[gx.clone().into_dyn()], Tolerance::default()) {
            panic!("causal_mask: {e}");
        }
        assert!(gx.indexed_iter().all(|((_, i, j), &v)| j <= i || v == 0.0));
    }

    #[test]
    fn tangents_match_finite_differences() {
        // Through the softmax again: the tangent of softmax(mask(x)) along t,
        // and the tangent of the chained VJP along (t, ġ).
        use crate::modules::{softmax_tangent, softmax_vjp_tangent};
        let x: Array3<f64> = random((2, 4, 4), 13);
        let t: Array3<f64> = random((2, 4, 4), 14);
        let (r, tr): (Array3<f64>, Array3<f64>) = (random((2, 4, 4), 15), random((2, 4, 4), 16));
        let chain = |x: &Array3<f64>, r: Array3<f64>| {
            let masked = causal_mask(x);
            let p = softmax(&masked);
            let (gm,) = softmax_vjp(&masked, &p, r, [true]);
            (
                p,
                causal_mask_vjp(x, &masked, gm.expect("asked"), [true])
                    .0
                    .expect("asked"),
            )
        };
        let masked = causal_mask(&x);
        let p = softmax(&masked);
        let tm = causal_mask_tangent(&x, &masked, (Some(&t),)).expect("a tangent");
        let tp = softmax_tangent(&masked, &p, (Some(&tm),)).expect("a tangent");
        let ((gm,), (tgm,)) = softmax_vjp_tangent(
            &masked,
            (Some(&tm),),
            &p,
            Some(&tp),
            r.clone(),
            Some(tr.clone()),
            [true],
        );
        let (_, (tgx,)) = causal_mask_vjp_tangent(&x, (Some(&t),), &masked, Some(&tm), gm.expect("asked"), tgm, [true]);
        let tgx = tgx.expect("asked");
        let h = 1e-6;
        let (p_plus, g_plus) = chain(&(&x + &(&t * h)), &r + &(&tr * h));
        let (p_minus, g_minus) = chain(&(&x - &(&t * h)), &r - &(&tr * h));
        for (a, (p, m)) in tp.iter().zip(p_plus.iter().zip(&p_minus)) {
            assert!(
                (a - (p - m) / (2.0 * h)).abs() < 1e-7,
                "the tangent of softmax(mask(x))"
            );
        }
        for (a, (p, m)) in tgx.iter().zip(g_plus.iter().zip(&g_minus)) {
            assert!((a - (p - m) / (2.0 * h)).abs() < 1e-7, "the tangent of the VJP");
        }
        assert!(tm.indexed_iter().all(|((_, i, j), &v)| j <= i || v == 0.0));
    }

    #[test]
    #[should_panic(expected = "causal_mask: scores must be [.., t, t] (square in the last two axes), got shape [2, 3]")]
    fn scores_that_are_not_square_are_an_error() {
        causal_mask(&ndarray::Array2::<f64>::zeros((2, 3)));
    }
}
