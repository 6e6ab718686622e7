//! Losses to a scalar: `cross_entropy`, `nll_loss`, `mse_loss`.
//!
//! `cross_entropy(z, y)` is `nll_loss(log_softmax(z), y)` fused: one pass, no
//! probabilities materialised in the forward, and a backward that is just
//! (softmax(z) − onehot(y)) / batch.

use ndarray::{Array, Array2, ArrayRef, ArrayRef2, Axis, Dimension, Zip};

use crate::elementwise::{lane_max, lane_sum};
use crate::float::Float;

use super::arith::{copy, rows_of};

fn check_labels<F>(module: &str, scores: &ArrayRef2<F>, labels: &[usize]) {
    if scores.nrows() != labels.len() {
        panic!(
            "{module}: input has shape {:?} but there are {} labels; need one label per row",
            scores.shape(),
            labels.len()
        );
    }
    if scores.nrows() == 0 {
        panic!("{module}: input has shape {:?}: the batch is empty", scores.shape());
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= scores.ncols()) {
        panic!(
            "{module}: label {bad} is out of range for input of shape {:?}",
            scores.shape()
        );
    }
}

/// log Σⱼ e^{zⱼ} of one row, stable: m + log Σ e^{zⱼ−m}.
fn log_sum_exp<'a, F: Float>(row: impl Iterator<Item = &'a F> + Clone) -> F {
    let m = row.clone().fold(F::neg_infinity(), |m, &v| m.max(v));
    m + row.fold(F::zero(), |s, &v| s + (v - m).fast_exp()).ln()
}

/// Rows of `classes` contiguous values, each shifted by its maximum and then
/// exponentiated, `v ← e^{v − max(row)}`, in one pass over all rows that the
/// compiler vectorises (a pass per row of 10 logits would not). Returns
/// Σ over rows of the shifted value at the row's label.
fn exp_shifted_rows<F: Float>(values: &mut [F], classes: usize, labels: &[usize]) -> F {
    let mut at_labels = F::zero();
    for (row, &label) in values.chunks_exact_mut(classes).zip(labels) {
        let m = lane_max(row);
        row.iter_mut().for_each(|v| *v -= m);
        at_labels += row[label];
    }
    values.iter_mut().for_each(|v| *v = v.fast_exp());
    at_labels
}

crate::module! {
    /// Mean over the batch of −log softmax(z)\[label\]: logits `[batch, classes]`,
    /// one label per row.
    ///
    /// # Panics
    /// If the batch is empty, the label count differs from the rows, or a
    /// label is not a class, naming the shape and the label.
    pub fn cross_entropy<F: Float, D: Dimension>(logits: &ArrayRef<F, D>, labels: &[usize]) -> F {
        if logits.ndim() == 0 {
            panic!("cross_entropy: logits must be [.., classes], got a scalar");
        }
        let logits = rows_of(logits);
        let logits = &*logits;
        check_labels("cross_entropy", logits, labels);
        let total = match logits.as_slice() {
            // Σ rows (log Σ e^{z−m} − (z_label − m)), the exponentials of a block
            // of rows in one pass, on the stack: nothing is allocated.
            Some(values) if logits.ncols() > 0 => {
                let classes = logits.ncols();
                let mut exps = [F::zero(); 256];
                let rows = (exps.len() / classes).max(1);
                let mut total = F::zero();
                for (block, labels) in values.chunks(rows * classes).zip(labels.chunks(rows)) {
                    if block.len() > exps.len() {
                        // One row longer than the stack buffer.
                        total += log_sum_exp(block.iter()) - block[labels[0]];
                        continue;
                    }
                    let exps = &mut exps[..block.len()];
                    exps.copy_from_slice(block);
                    total -= exp_shifted_rows(exps, classes, labels);
                    for row in exps.chunks_exact(classes) {
                        total += lane_sum(row, |e| e).ln();
                    }
                }
                total
            }
            _ => logits
                .outer_iter()
                .zip(labels)
                .fold(F::zero(), |s, (row, &label)| s + log_sum_exp(row.iter()) - row[label]),
        };
        total / F::of_usize(labels.len())
    }

    /// `g·(softmax(z) − onehot(label)) / batch`.
    backward(loss, g, need) {
        let rows = rows_of(logits);
        check_labels("cross_entropy", &rows, labels);
        grad logits: Array<F, D> = {
            let scale = g / F::of_usize(labels.len());
            // A standard-layout copy: its rows are contiguous slices.
            let mut grad = copy(&*rows);
            let classes = grad.ncols().max(1);
            let values = grad.as_slice_mut().expect("a standard-layout copy");
            exp_shifted_rows(values, classes, labels);
            for (row, &label) in values.chunks_exact_mut(classes).zip(labels) {
                // scale·(softmax − onehot)
                let k = scale / lane_sum(row, |e| e);
                row.iter_mut().for_each(|e| *e *= k);
                row[label] -= scale;
            }
            grad.into_shape_with_order(logits.raw_dim()).expect("rows × classes values")
        };
    }

    /// With p = softmax(z) per row and n rows: ẏ = Σ⟨p − onehot, ż⟩ / n;
    /// the VJP's tangent (ġ·(p − onehot) + g·p ⊙ (ż − ⟨p, ż⟩)) / n.
    tangent(loss) {
        let rows = rows_of(logits);
        check_labels("cross_entropy", &rows, labels);
        match logits_t {
            Some(t) => {
                let (p, t) = (softmax_rows(&rows), rows_of(t));
                let mut total = F::zero();
                for ((pr, tr), &label) in p.outer_iter().zip(t.outer_iter()).zip(labels) {
                    total += pr.iter().zip(tr.iter()).fold(F::zero(), |s, (&p, &t)| s + p * t) - tr[label];
                }
                crate::workspace::recycle_array(p);
                total / F::of_usize(labels.len())
            }
            None => F::zero(),
        }
    }

    backward_tangent(loss, loss_t, g, g_t, need) {
        let rows = rows_of(logits);
        check_labels("cross_entropy", &rows, labels);
        let n = F::of_usize(labels.len());
        let (g, tg) = (*g / n, g_t.copied().unwrap_or(F::zero()) / n);
        let mut out = softmax_rows(&rows);
        let t = logits_t.map(|t| rows_of(t));
        for (i, (mut row, &label)) in out.outer_iter_mut().zip(labels).enumerate() {
            let dot = t.as_ref().map_or(F::zero(), |t| row.iter().zip(t.row(i).iter()).fold(F::zero(), |s, (&p, &t)| s + p * t));
            for (j, p) in row.iter_mut().enumerate() {
                let tz = t.as_ref().map_or(F::zero(), |t| t[[i, j]]);
                let onehot = if j == label { F::one() } else { F::zero() };
                *p = tg * (*p - onehot) + g * *p * (tz - dot);
            }
        }
        grad logits: Array<F, D> = out.into_shape_with_order(logits.raw_dim()).expect("rows × classes values");
    }

    gradcheck {
        logits: random([1, 2]), labels: indices(1, 2);
        logits: random([4, 3]), labels: indices(4, 3);
        logits: random([3, 10]), labels: indices(3, 10);
        logits: random([2, 3, 4]), labels: indices(6, 4);
    }
}

crate::module! {
    /// Mean over the batch of −logp\[label\]: log-probabilities `[batch, classes]`.
    ///
    /// # Panics
    /// As [`cross_entropy`].
    pub fn nll_loss<F: Float>(logp: &ArrayRef2<F>, labels: &[usize]) -> F {
        check_labels("nll_loss", logp, labels);
        let total = logp
            .outer_iter()
            .zip(labels)
            .fold(F::zero(), |s, (row, &label)| s - row[label]);
        total / F::of_usize(labels.len())
    }

    /// `−g/batch` at each row's label, zero elsewhere.
    backward(loss, g, need) {
        check_labels("nll_loss", logp, labels);
        grad logp: Array2<F> = {
            let mut grad: Array2<F> = crate::workspace::zeros(logp.raw_dim());
            for (mut row, &label) in grad.axis_iter_mut(Axis(0)).zip(labels) {
                row[label] = -g / F::of_usize(labels.len());
            }
            grad
        };
    }

    tangent linear;

    gradcheck {
        logp: random([1, 2]), labels: indices(1, 2);
        logp: random([4, 3]), labels: indices(4, 3);
    }
}

/// softmax of each row, for the tangent rules (not on `_grad`'s path).
fn softmax_rows<F: Float>(rows: &ArrayRef2<F>) -> Array2<F> {
    let mut p = copy(rows);
    for mut row in p.outer_iter_mut() {
        let m = row.fold(F::neg_infinity(), |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - m).exp());
        let total = row.sum();
        row.mapv_inplace(|v| v / total);
    }
    p
}

fn check_same<F, D: Dimension>(module: &str, a: &ArrayRef<F, D>, b: &ArrayRef<F, D>) {
    if a.shape() != b.shape() {
        panic!(
            "{module}: prediction has shape {:?} but target has shape {:?}",
            a.shape(),
            b.shape()
        );
    }
    if a.is_empty() {
        panic!("{module}: empty input of shape {:?}", a.shape());
    }
}

crate::module! {
    /// Mean squared error: mean of (pred − target)².
    ///
    /// # Panics
    /// If the shapes differ or the input is empty.
    pub fn mse_loss<F: Float, D: Dimension>(pred: &ArrayRef<F, D>, target: &ArrayRef<F, D>) -> F {
        check_same("mse_loss", pred, target);
        let total = Zip::from(pred)
            .and(target)
            .fold(F::zero(), |s, &p, &t| s + (p - t) * (p - t));
        total / F::of_usize(pred.len())
    }

    /// `2g(pred − target)/n` to pred, its negative to target.
    backward(loss, g, need) {
        check_same("mse_loss", pred, target);
        let k = F::of(2.0) * g / F::of_usize(pred.len());
        grad pred: Array<F, D> = Zip::from(pred).and(target).map_collect(|&p, &t| k * (p - t));
        grad target: Array<F, D> = Zip::from(pred).and(target).map_collect(|&p, &t| k * (t - p));
    }

    /// With d = pred − target and ḋ its tangent: ẏ = 2⟨d, ḋ⟩/n; the VJP's
    /// tangent 2(ġ·d + g·ḋ)/n to pred, its negative to target.
    tangent(loss) {
        check_same("mse_loss", pred, target);
        let zero = F::zero();
        let k = F::of(2.0) / F::of_usize(pred.len());
        let dp = pred_t.map_or(zero, |t| Zip::from(pred).and(target).and(t).fold(zero, |s, &p, &q, &t| s + (p - q) * t));
        let dt = target_t.map_or(zero, |t| Zip::from(pred).and(target).and(t).fold(zero, |s, &p, &q, &t| s + (p - q) * t));
        k * (dp - dt)
    }

    backward_tangent(loss, loss_t, g, g_t, need) {
        check_same("mse_loss", pred, target);
        let k = F::of(2.0) / F::of_usize(pred.len());
        let (g, tg) = (*g, g_t.copied().unwrap_or(F::zero()));
        let mut d: Array<F, D> = Zip::from(pred).and(target).map_collect(|&p, &t| k * tg * (p - t));
        if let Some(t) = pred_t {
            Zip::from(&mut d).and(t).for_each(|d, &t| *d += k * g * t);
        }
        if let Some(t) = target_t {
            Zip::from(&mut d).and(t).for_each(|d, &t| *d -= k * g * t);
        }
        grad target = d.mapv(|v| -v);
        grad pred = d;
    }

    gradcheck {
        pred: random([3, 2]), target: random([3, 2]);
        pred: random([5]), target: random([5]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::softmax::log_softmax;
    use crate::testing::random;
    use ndarray::{arr1, arr2};

    #[test]
    fn cross_entropy_is_nll_of_log_softmax() {
        let z = random((5, 4), 37);
        let labels = [0, 3, 1, 1, 2];
        let expected = nll_loss(&log_softmax(&z), &labels);
        assert!((cross_entropy(&z, &labels) - expected).abs() < 1e-14);
        // By hand for one row: −log(e^{z₀} / Σ e^{zⱼ}).
        let row = [1.0_f64, 2.0, 3.0];
        let by_hand = -(row[0].exp() / row.iter().map(|v| v.exp()).sum::<f64>()).ln();
        assert!((cross_entropy(&arr2(&[row]), &[0]) - by_hand).abs() < 1e-14);
        assert!((mse_loss(&arr1(&[1.0, 2.0]), &arr1(&[0.0, 0.0])) - 2.5_f64).abs() < 1e-15);
    }

    /// f32 (whose exponentials are the vectorised polynomial) against f64, on
    /// contiguous logits and on a transposed view, loss and VJP: rows that
    /// fit the forward's stack buffer many at a time, a few at a time, and
    /// rows longer than it.
    #[test]
    fn f32_agrees_with_f64() {
        for (classes, seed) in [(7, 5), (40, 6), (300, 7)] {
            let z64 = random((10, classes), seed) * 8.0;
            let labels: Vec<usize> = (0..10).map(|i| (i * 7 + 3) % classes).collect();
            let loss64 = cross_entropy(&z64, &labels);
            let (g64, _) = cross_entropy_vjp(&z64, &labels, &loss64, 1.0, [true, false]);
            let g64 = g64.unwrap();
            let z32 = z64.mapv(|v| v as f32);
            let transposed = z32.t().to_owned();
            for z in [z32.view(), transposed.t()] {
                let loss = cross_entropy(&z, &labels);
                assert!(
                    (f64::from(loss) - loss64).abs() < 1e-6 * loss64.abs(),
                    "{loss} vs {loss64}"
                );
                let (g, _) = cross_entropy_vjp(&z, &labels, &loss, 1.0, [true, false]);
                let worst = (&g.unwrap().mapv(f64::from) - &g64)
                    .iter()
                    .fold(0.0_f64, |m, d| m.max(d.abs()));
                assert!(worst < 1e-7, "{classes} classes: {worst}");
            }
        }
    }

    #[test]
    fn saturated_logits_give_finite_loss_and_gradient() {
        let z = arr2(&[[1e4_f32, -1e4, 0.0], [-1e4, 1e4, 1e4]]);
        let loss = cross_entropy(&z, &[1, 0]);
        assert!(loss.is_finite());
        // Row 1: 1e4 − (−1e4); row 2: two tied maxima, so 1e4 + ln 2 − (−1e4).
        assert!((loss - (2e4 + std::f32::consts::LN_2 / 2.0)).abs() < 1e-2);
        let (g, _) = cross_entropy_vjp(&z, &[1, 0], &loss, 1.0, [true, false]);
        assert!(g.unwrap().iter().all(|v| v.is_finite()));
    }

    #[test]
    #[should_panic(expected = "cross_entropy: input has shape [2, 3] but there are 3 labels")]
    fn label_count_mismatch() {
        cross_entropy(&random((2, 3), 1), &[0, 1, 2]);
    }

    #[test]
    #[should_panic(expected = "nll_loss: label 3 is out of range for input of shape [2, 3]")]
    fn label_out_of_range() {
        nll_loss(&random((2, 3), 1), &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "mse_loss: prediction has shape [2, 3] but target has shape [3, 2]")]
    fn mse_shape_mismatch() {
        mse_loss(&random((2, 3), 1), &random((3, 2), 2));
    }
}
