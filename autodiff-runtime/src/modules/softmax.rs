//! `softmax(x)` and `log_softmax(x)` over the last axis.
//!
//! softmax(x)ᵢ = e^{xᵢ} / Σⱼ e^{xⱼ}; log_softmax(x)ᵢ = xᵢ − log Σⱼ e^{xⱼ}.
//! Both subtract the lane's maximum m first (e^{xᵢ−m} ≤ 1 never overflows, and
//! the largest term is exactly 1 so the sum never underflows to 0).
//!
//! Why log-softmax: for saturated logits softmax's outputs are 0 or 1, its
//! Jacobian y(δ − y) vanishes, and log(softmax) then gives −∞. log_softmax's
//! Jacobian δ − softmax(x) stays of order one: the gradient does not vanish.

use ndarray::{Array, ArrayRef, Axis, Dimension, Zip};

use crate::elementwise::{ROWS, lane_max, lane_sum, lane_sum_zip, rows_zip_in_place};
use crate::float::Float;
use crate::value::check_shape;

use super::arith::copy;

fn last_axis(module: &str, ndim: usize) -> Axis {
    if ndim == 0 {
        panic!("{module}: needs an array of rank ≥ 1, got a scalar");
    }
    Axis(ndim - 1)
}

crate::module! {
    /// Softmax over the last axis: each lane becomes a probability distribution.
    pub fn softmax<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> Array<F, D> {
        let axis = last_axis("softmax", x.ndim());
        let d = x.len_of(axis);
        // The rows are read once, into the output, while they are in cache;
        // an input of another layout is first copied into one that is not.
        let copied = x.as_slice().is_none().then(|| copy(x));
        let src = copied.as_ref().map_or_else(|| x.as_slice(), |c| c.as_slice()).expect("contiguous");
        let mut y = crate::workspace::take_scratch(x.raw_dim());
        // Inlined into the AVX2 instance of the loop over rows, so that the
        // exponential vectorises for it.
        // Each pass over up to ROWS rows at a time (see `rows_zip_in_place`).
        let out = y.as_slice_mut().expect("a new array is contiguous");
        rows_zip_in_place(out, src, d, #[inline(always)] |rows, src| {
            let (mut maxima, mut scales) = ([F::zero(); ROWS], [F::zero(); ROWS]);
            for (m, row) in maxima.iter_mut().zip(src.chunks_exact(d)) {
                *m = lane_max(row);
            }
            for ((&m, row), src) in maxima.iter().zip(rows.chunks_exact_mut(d)).zip(src.chunks_exact(d)) {
                row.iter_mut().zip(src).for_each(|(v, &x)| *v = (x - m).fast_exp());
            }
            // One division a row, not one per element.
            for (s, row) in scales.iter_mut().zip(rows.chunks_exact(d)) {
                *s = F::one() / lane_sum(row, |v| v);
            }
            for (&s, row) in scales.iter().zip(rows.chunks_exact_mut(d)) {
                row.iter_mut().for_each(|v| *v *= s);
            }
        });
        if let Some(copied) = copied {
            crate::workspace::recycle_array(copied);
        }
        y
    }

    /// `y ⊙ (g − ⟨g, y⟩)` per lane (the Jacobian is diag(y) − y·yᵀ).
    backward(y, g, need) {
        check_shape("softmax", "input", x.shape(), g.shape());
        let axis = last_axis("softmax", x.ndim());
        grad x = {
            let mut gx = crate::elementwise::standard(g);
            let d = gx.len_of(axis);
            let y = y.as_standard_layout();
            let ys = y.as_slice().expect("standard layout");
            rows_zip_in_place(gx.as_slice_mut().expect("standard layout"), ys, d, #[inline(always)] |gs, ys| {
                let mut dots = [F::zero(); ROWS];
                for ((dot, gl), yl) in dots.iter_mut().zip(gs.chunks_exact(d)).zip(ys.chunks_exact(d)) {
                    *dot = lane_sum_zip(gl, yl, |g, y| g * y);
                }
                for ((&dot, gl), yl) in dots.iter().zip(gs.chunks_exact_mut(d)).zip(ys.chunks_exact(d)) {
                    gl.iter_mut().zip(yl).for_each(|(g, &y)| *g = y * (*g - dot));
                }
            });
            gx
        };
    }

    /// ẏ = y ⊙ (ẋ − ⟨y, ẋ⟩); the VJP's tangent
    /// ẏ ⊙ (g − ⟨g, y⟩) + y ⊙ (ġ − ⟨ġ, y⟩ − ⟨g, ẏ⟩), per lane.
    tangent(y) {
        let axis = last_axis("softmax", x.ndim());
        let mut ty: Array<F, D> = Array::zeros(y.raw_dim());
        if let Some(tx) = x_t {
            Zip::from(ty.lanes_mut(axis)).and(y.lanes(axis)).and(tx.lanes(axis)).for_each(|mut tl, yl, xl| {
                let dot = yl.iter().zip(xl.iter()).fold(F::zero(), |s, (&y, &t)| s + y * t);
                Zip::from(&mut tl).and(&yl).and(&xl).for_each(|t, &y, &x| *t = y * (x - dot));
            });
        }
        ty
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let axis = last_axis("softmax", x.ndim());
        let zeros: Array<F, D> = Array::zeros(y.raw_dim());
        let tg = g_t.unwrap_or(&zeros);
        let mut out: Array<F, D> = Array::zeros(x.raw_dim());
        Zip::from(out.lanes_mut(axis))
            .and(y.lanes(axis))
            .and(y_t.lanes(axis))
            .and(g.lanes(axis))
            .and(tg.lanes(axis))
            .for_each(|mut ol, yl, tyl, gl, tgl| {
                let dot = |a: &ndarray::ArrayView1<F>, b: &ndarray::ArrayView1<F>| {
                    a.iter().zip(b.iter()).fold(F::zero(), |s, (&a, &b)| s + a * b)
                };
                let (gy, tgy, gty) = (dot(&gl, &yl), dot(&tgl, &yl), dot(&gl, &tyl));
                Zip::from(&mut ol).and(&yl).and(&tyl).and(&gl).and(&tgl).for_each(|o, &y, &ty, &g, &tg| {
                    *o = ty * (g - gy) + y * (tg - tgy - gty);
                });
            });
        grad x = out;
    }

    gradcheck {
        x: random([1, 1]);
        x: random([1, 5]);
        x: random([4, 3]);
        x: random([2, 7]);
        x: random([6]);
    }
}

crate::module! {
    /// log(softmax(x)) over the last axis, computed as x − m − log Σ e^{x−m}.
    pub fn log_softmax<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> Array<F, D> {
        let axis = last_axis("log_softmax", x.ndim());
        let mut y = copy(x);
        for mut lane in y.lanes_mut(axis) {
            let m = lane.fold(F::neg_infinity(), |m, &v| m.max(v));
            let log_total = lane.fold(F::zero(), |s, &v| s + (v - m).exp()).ln();
            lane.mapv_inplace(|v| v - m - log_total);
        }
        y
    }

    /// `g − softmax(x)·Σg` per lane, with softmax = e^y.
    backward(y, g, need) {
        check_shape("log_softmax", "input", x.shape(), g.shape());
        let axis = last_axis("log_softmax", x.ndim());
        grad x = {
            let mut gx = g;
            Zip::from(gx.lanes_mut(axis)).and(y.lanes(axis)).for_each(|mut gl, yl| {
                let total = gl.sum();
                Zip::from(&mut gl).and(&yl).for_each(|g, &y| *g -= y.exp() * total);
            });
            gx
        };
    }

    /// ẏ = ẋ − ⟨p, ẋ⟩ with p = e^y; the VJP's tangent ġ − ṗ·Σg − p·Σġ, with
    /// ṗ = p ⊙ ẏ, per lane.
    tangent(y) {
        let axis = last_axis("log_softmax", x.ndim());
        let mut ty: Array<F, D> = Array::zeros(y.raw_dim());
        if let Some(tx) = x_t {
            Zip::from(ty.lanes_mut(axis)).and(y.lanes(axis)).and(tx.lanes(axis)).for_each(|mut tl, yl, xl| {
                let dot = yl.iter().zip(xl.iter()).fold(F::zero(), |s, (&y, &t)| s + y.exp() * t);
                Zip::from(&mut tl).and(&xl).for_each(|t, &x| *t = x - dot);
            });
        }
        ty
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let axis = last_axis("log_softmax", x.ndim());
        let zeros: Array<F, D> = Array::zeros(y.raw_dim());
        let tg = g_t.unwrap_or(&zeros);
        let mut out: Array<F, D> = Array::zeros(x.raw_dim());
        Zip::from(out.lanes_mut(axis))
            .and(y.lanes(axis))
            .and(y_t.lanes(axis))
            .and(g.lanes(axis))
            .and(tg.lanes(axis))
            .for_each(|mut ol, yl, tyl, gl, tgl| {
                let (total, total_t) = (gl.sum(), tgl.sum());
                Zip::from(&mut ol).and(&yl).and(&tyl).and(&tgl).for_each(|o, &y, &ty, &tg| {
                    let p = y.exp();
                    *o = tg - p * ty * total - p * total_t;
                });
            });
        grad x = out;
    }

    gradcheck {
        x: random([1, 1]);
        x: random([4, 3]);
        x: random([2, 7]);
        x: random([6]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random;
    use ndarray::arr2;

    #[test]
    fn against_the_formulas() {
        let x = random((3, 4), 24);
        let (s, ls) = (softmax(&x), log_softmax(&x));
        for i in 0..3 {
            let total: f64 = (0..4).map(|j| x[[i, j]].exp()).sum();
            for j in 0..4 {
                assert!((s[[i, j]] - x[[i, j]].exp() / total).abs() < 1e-14);
                assert!((ls[[i, j]] - (x[[i, j]] - total.ln())).abs() < 1e-13);
            }
            assert!((s.row(i).sum() - 1.0).abs() < 1e-14);
        }
    }

    /// Every backend, with the rows split over threads, gives the bits of
    /// the portable build on one row at a time.
    #[test]
    fn every_backend_and_split_gives_the_same_bits() {
        use crate::cpu::{Backend, with_backend};
        use crate::testing::random;
        // 70k elements in 1,001 rows of 70: split over threads, at a row
        // boundary (half the elements would fall mid-row), and a row length
        // that is not a multiple of a vector.
        let x: ndarray::Array2<f64> = random((1001, 70), 5);
        let g: ndarray::Array2<f64> = random((1001, 70), 6);
        let x32 = x.mapv(|v| v as f32);
        let g32 = g.mapv(|v| v as f32);
        let run = |backend| {
            with_backend(backend, || {
                let y = softmax(&x32);
                let (gx,) = softmax_vjp(&x32, &y, g32.clone(), [true]);
                (y, gx)
            })
        };
        let (y, gx) = run(Backend::Portable);
        // One row alone is never split.
        for i in [0, 500, 501, 1000] {
            let row = x32.slice(ndarray::s![i..i + 1, ..]);
            assert_eq!(softmax(&row).row(0), y.row(i));
        }
        for backend in Backend::supported() {
            let (y2, gx2) = run(backend);
            assert_eq!(y2, y, "softmax on {backend}");
            assert_eq!(gx2, gx, "softmax's VJP on {backend}");
        }
    }

    #[test]
    fn saturated_logits_give_no_nan() {
        let x = arr2(&[[1e4_f32, -1e4, 0.0], [-1e4, -1e4, -1e4]]);
        let (s, ls) = (softmax(&x), log_softmax(&x));
        assert!(s.iter().chain(ls.iter()).all(|v| v.is_finite()));
        assert_eq!(s[[0, 0]], 1.0);
        assert_eq!(ls[[0, 0]], 0.0);
        assert_eq!(ls[[0, 1]], -2e4);
        let g = arr2(&[[1.0_f32, 1.0, 1.0], [1.0, 0.0, 0.0]]);
        let gs = softmax_vjp(&x, &s, g.clone(), [true]).0.unwrap();
        let gl = log_softmax_vjp(&x, &ls, g, [true]).0.unwrap();
        assert!(gs.iter().chain(gl.iter()).all(|v| v.is_finite()));
        let x64 = arr2(&[[1e4_f64, -1e4]]);
        assert!(
            log_softmax(&x64)
                .iter()
                .chain(softmax(&x64).iter())
                .all(|v| v.is_finite())
        );
    }

    #[test]
    fn a_transposed_view_goes_in() {
        let x = random((3, 4), 25);
        let t = x.t();
        assert_eq!(softmax(&t), softmax(&t.to_owned()));
        assert_eq!(log_softmax(&t), log_softmax(&t.to_owned()));
    }
}
