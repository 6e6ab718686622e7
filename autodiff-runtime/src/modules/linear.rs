//! `linear(x, w, b)`: y = x·wᵀ + b, that is Y = W·X with the batch in rows.
//!
//! Shapes: x `[batch, in]`, w `[out, in]`, b `[out]`, y `[batch, out]`; or,
//! as `nn.Linear`, x `[.., in]` and y `[.., out]` over the last axis (the
//! leading axes are rows of one product).
//! Jacobian-vector products (g = ∂C/∂y, `[batch, out]`):
//! ∂C/∂x = g·w (`[batch, in]`), ∂C/∂w = gᵀ·x (`[out, in]`), ∂C/∂b = Σ_batch g.
//! These are dC/dX = Wᵀ·dC/dY and dC/dW = dC/dY·Xᵀ of the column form,
//! transposed into row-batch form.

use ndarray::{Array, Array1, Array2, ArrayRef, ArrayRef1, ArrayRef2, ArrayView1, ArrayView2, Dimension};

use crate::float::{Float, back_as, view_as};
use crate::gemm::{gemm_bias, gemm_into};
use crate::workspace::{recycle_array, take_scratch, zeros};

use super::arith::rows_of;

fn check_shapes<F, D: Dimension>(x: &ArrayRef<F, D>, w: &ArrayRef2<F>, b: &ArrayRef1<F>) {
    let inputs = x.shape().last().copied();
    if x.ndim() == 0 || inputs != Some(w.ncols()) {
        panic!(
            "linear: x has shape {:?} but w has shape {:?}; w must be [out, {}]",
            x.shape(),
            w.shape(),
            inputs.unwrap_or(0)
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
fn column_sums<F: Float>(g: &ArrayRef2<F>) -> Array1<F> {
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

/// Up to two products `a·b` summed.
type Terms<'a, F> = [Option<(&'a ArrayRef2<F>, &'a ArrayRef2<F>)>; 2];

/// `out ← Σ a·b` over the terms (zeros if there are none): the first product
/// overwrites `out` (β = 0), the others add to it.
fn sum_into<F: Float>(terms: &Terms<F>, out: &mut Array2<F>) {
    let mut beta = F::zero();
    for (a, b) in terms.iter().flatten() {
        gemm_into(F::one(), *a, *b, beta, out);
        beta = F::one();
    }
    if beta.is_zero() {
        out.fill(beta);
    }
}

/// Two independent [`sum_into`]s, on two threads at once when both are large
/// enough to be worth a hand-off (each then runs whole on its own thread,
/// rather than every product split over both).
fn two_sums<F: Float>(first: Option<(Terms<F>, &mut Array2<F>)>, second: Option<(Terms<F>, &mut Array2<F>)>) {
    let work = |side: &Option<(Terms<F>, &mut Array2<F>)>| {
        side.as_ref().map_or(0, |(terms, _)| {
            terms
                .iter()
                .flatten()
                .map(|(a, b)| a.nrows() * a.ncols() * b.ncols())
                .sum::<usize>()
        })
    };
    let run = |side: Option<(Terms<F>, &mut Array2<F>)>| {
        if let Some((terms, out)) = side {
            sum_into(&terms, out);
        }
    };
    if work(&first).min(work(&second)) >= JOIN_WORK {
        crate::parallel::join(|| run(first), || run(second));
    } else {
        run(first);
        run(second);
    }
}

// The forward and backward passes of the rows `[rows, in]`, by their f32 or
// f64 instance compiled in this crate (see `float::view_as`): generic, they
// would be compiled and optimised again in every crate whose generated code
// calls `linear`.

/// `x2·wᵀ + b`: the GEMM writes the bias into each tile of the output just
/// before it adds the product onto it, no pass of its own, no temporary.
fn forward_rows<F: Float>(x2: ArrayView2<'_, F>, w: ArrayView2<'_, F>, b: ArrayView1<'_, F>) -> Array2<F> {
    fn typed<F: Float>(x2: ArrayView2<'_, F>, w: ArrayView2<'_, F>, b: ArrayView1<'_, F>) -> Array2<F> {
        gemm_bias(&x2, &w.t(), &b)
    }
    #[inline(never)]
    fn on_f32(x2: ArrayView2<'_, f32>, w: ArrayView2<'_, f32>, b: ArrayView1<'_, f32>) -> Array2<f32> {
        typed(x2, w, b)
    }
    #[inline(never)]
    fn on_f64(x2: ArrayView2<'_, f64>, w: ArrayView2<'_, f64>, b: ArrayView1<'_, f64>) -> Array2<f64> {
        typed(x2, w, b)
    }
    let f32s = (view_as::<F, f32, _>(x2.view()), view_as(w.view()), view_as(b.view()));
    if let (Some(x2), Some(w), Some(b)) = f32s {
        return back_as(on_f32(x2, w, b));
    }
    let f64s = (view_as::<F, f64, _>(x2), view_as(w), view_as(b));
    let (Some(x2), Some(w), Some(b)) = f64s else {
        unreachable!("`Float` is f32 or f64")
    };
    back_as(on_f64(x2, w, b))
}

/// The gradients asked for by `need` (x, w, b) from the rows of x and of
/// the upstream gradient.
type Grads<F> = (Option<Array2<F>>, Option<Array2<F>>, Option<Array1<F>>);

fn grads<F: Float>(x2: ArrayView2<'_, F>, w: ArrayView2<'_, F>, g2: ArrayView2<'_, F>, need: [bool; 3]) -> Grads<F> {
    fn typed<F: Float>(
        x2: ArrayView2<'_, F>,
        w: ArrayView2<'_, F>,
        g2: ArrayView2<'_, F>,
        need: [bool; 3],
    ) -> Grads<F> {
        let mut gx = need[0].then(|| take_scratch((g2.nrows(), w.ncols())));
        let mut gw = need[1].then(|| take_scratch(w.raw_dim()));
        let g_rows = g2.t();
        two_sums(
            gx.as_mut().map(|gx| ([Some((&*g2, &*w)), None], gx)),
            gw.as_mut().map(|gw| ([Some((&*g_rows, &*x2)), None], gw)),
        );
        (gx, gw, need[2].then(|| column_sums(&g2)))
    }
    #[inline(never)]
    fn on_f32(x2: ArrayView2<'_, f32>, w: ArrayView2<'_, f32>, g2: ArrayView2<'_, f32>, need: [bool; 3]) -> Grads<f32> {
        typed(x2, w, g2, need)
    }
    #[inline(never)]
    fn on_f64(x2: ArrayView2<'_, f64>, w: ArrayView2<'_, f64>, g2: ArrayView2<'_, f64>, need: [bool; 3]) -> Grads<f64> {
        typed(x2, w, g2, need)
    }
    let f32s = (view_as::<F, f32, _>(x2.view()), view_as(w.view()), view_as(g2.view()));
    if let (Some(x2), Some(w), Some(g2)) = f32s {
        let (gx, gw, gb) = on_f32(x2, w, g2, need);
        return (gx.map(back_as), gw.map(back_as), gb.map(back_as));
    }
    let f64s = (view_as::<F, f64, _>(x2), view_as(w), view_as(g2));
    let (Some(x2), Some(w), Some(g2)) = f64s else {
        unreachable!("`Float` is f32 or f64")
    };
    let (gx, gw, gb) = on_f64(x2, w, g2, need);
    (gx.map(back_as), gw.map(back_as), gb.map(back_as))
}

/// Below this many multiply-adds on either side, two products run one after
/// the other (each split over the threads if large enough).
const JOIN_WORK: usize = 1 << 18;

crate::module! {
    /// Fully connected layer: `y = x·wᵀ + b`.
    ///
    /// # Panics
    /// If the shapes of `x`, `w` and `b` do not chain, naming them.
    pub fn linear<F: Float, D: Dimension>(x: &ArrayRef<F, D>, w: &ArrayRef2<F>, b: &ArrayRef1<F>) -> Array<F, D> {
        check_shapes(x, w, b);
        let x2 = rows_of(x);
        let y = forward_rows(x2.view(), w.view(), b.view());
        let mut shape = x.raw_dim();
        let last = shape.ndim() - 1;
        shape[last] = w.nrows();
        y.into_shape_with_order(shape).expect("rows × out values")
    }

    /// dC/dX = Wᵀ·dC/dY and dC/dW = dC/dY·Xᵀ in row-batch form.
    backward(y, g, need) {
        check_shapes(x, w, b);
        if g.shape() != y.shape() {
            panic!("linear: upstream gradient has shape {:?}, output has shape {:?}", g.shape(), y.shape());
        }
        let (x2, g2) = (rows_of(x), rows_of(&g));
        let flags = [need.x, need.w, need.b];
        let (gx, gw, gb) = grads(x2.view(), w.view(), g2.view(), flags);
        grad x = gx.expect("asked for").into_shape_with_order(x.raw_dim()).expect("rows × in values");
        grad w = gw.expect("asked for");
        grad b = gb.expect("asked for");
        drop(g2);
        recycle_array(g);
    }

    /// The product rule: ẏ = ẋ·wᵀ + x·ẇᵀ + ḃ; ġ_x = ġ·w + g·ẇ,
    /// ġ_w = ġᵀ·x + gᵀ·ẋ, ġ_b = the column sums of ġ. The first product into
    /// a buffer overwrites it (β = 0), the others add to it.
    tangent(y) {
        let x2 = rows_of(x);
        let shape = (x2.nrows(), w.nrows());
        let mut t2: Array2<F> = take_scratch(shape);
        let (tx2, w_rows, tw_rows) = (x_t.map(|tx| rows_of(tx)), w.t(), w_t.map(|tw| tw.t()));
        let (first, second) = (tx2.as_ref().map(|tx| (&**tx, &*w_rows)), tw_rows.as_ref().map(|tw| (&*x2, &**tw)));
        if let (Some(first), Some(second)) = (first, second) {
            // The two products at once, the second into a buffer of its own.
            let mut other: Array2<F> = take_scratch(shape);
            two_sums(Some(([Some(first), None], &mut t2)), Some(([Some(second), None], &mut other)));
            t2 += &other;
            recycle_array(other);
        } else {
            sum_into(&[first, second], &mut t2);
        }
        if let Some(tb) = b_t {
            t2 += &tb.view();
        }
        t2.into_shape_with_order(y.raw_dim()).expect("rows × out values")
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (x2, g2) = (rows_of(x), rows_of(g));
        let tg2 = g_t.map(|tg| rows_of(tg));
        // ġ_x and ġ_w: only those asked for, from the products that are not zero.
        let tx2 = x_t.map(|tx| rows_of(tx));
        let (tg_t, g_t2) = (tg2.as_ref().map(|tg| tg.t()), g2.t());
        let mut tgx = need.x.then(|| take_scratch(x2.raw_dim()));
        let mut tgw = need.w.then(|| take_scratch(w.raw_dim()));
        two_sums(
            tgx.as_mut().map(|out| ([tg2.as_ref().map(|tg| (&**tg, w)), w_t.map(|tw| (&*g2, tw))], out)),
            tgw.as_mut().map(|out| {
                let terms = [tg_t.as_ref().map(|t| (&**t, &*x2)), tx2.as_ref().map(|tx| (&*g_t2, &**tx))];
                (terms, out)
            }),
        );
        grad x = tgx.expect("asked for").into_shape_with_order(x.raw_dim()).expect("rows × in values");
        grad w = tgw.expect("asked for");
        grad b = match &tg2 {
            Some(tg2) => column_sums(tg2),
            None => zeros(w.nrows()),
        };
    }

    gradcheck {
        x: random([1, 3]), w: random([2, 3]), b: random([2]);
        x: random([4, 3]), w: random([5, 3]), b: random([5]);
        x: random([7, 1]), w: random([1, 1]), b: random([1]);
        x: random([2, 6]), w: random([3, 6]), b: random([3]);
        x: random([2, 3, 4]), w: random([5, 4]), b: random([5]);
        x: random([2, 2, 3, 2]), w: random([3, 2]), b: random([3]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random;

    #[test]
    fn closed_forms() {
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
