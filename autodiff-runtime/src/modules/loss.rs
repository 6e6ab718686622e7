//! Losses to a scalar: `cross_entropy`, `nll_loss`, `mse_loss`.
//!
//! `cross_entropy(z, y)` is `nll_loss(log_softmax(z), y)` fused: one pass, no
//! probabilities materialised in the forward, and a backward that is just
//! (softmax(z) − onehot(y)) / batch.

use ndarray::{Array, Array2, ArrayRef, ArrayRef2, Axis, Dimension, Zip};

use crate::float::Float;

use super::arith::copy;

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
    m + row.fold(F::zero(), |s, &v| s + (v - m).exp()).ln()
}

/// `row ← scale·(softmax(row) − onehot(label))`, with one exponential per logit.
fn softmax_minus_onehot<F: Float>(row: &mut [F], label: usize, scale: F) {
    let m = row.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
    let mut total = F::zero();
    for v in row.iter_mut() {
        *v = (*v - m).exp();
        total += *v;
    }
    let k = scale / total;
    row.iter_mut().for_each(|e| *e *= k);
    row[label] -= scale;
}

crate::module! {
    /// Mean over the batch of −log softmax(z)\[label\]: logits `[batch, classes]`,
    /// one label per row.
    ///
    /// # Panics
    /// If the batch is empty, the label count differs from the rows, or a
    /// label is not a class, naming the shape and the label.
    pub fn cross_entropy<F: Float>(logits: &ArrayRef2<F>, labels: &[usize]) -> F {
        check_labels("cross_entropy", logits, labels);
        // Rows as slices where the logits are contiguous: a batch of short rows
        // spends more on ndarray's row views than on the exponentials.
        let total = match logits.as_slice() {
            Some(values) if logits.ncols() > 0 => values
                .chunks_exact(logits.ncols())
                .zip(labels)
                .fold(F::zero(), |s, (row, &label)| s + log_sum_exp(row.iter()) - row[label]),
            _ => logits
                .outer_iter()
                .zip(labels)
                .fold(F::zero(), |s, (row, &label)| s + log_sum_exp(row.iter()) - row[label]),
        };
        total / F::of_usize(labels.len())
    }

    /// `g·(softmax(z) − onehot(label)) / batch`.
    backward(loss, g, need) {
        check_labels("cross_entropy", logits, labels);
        grad logits: Array2<F> = {
            let scale = g / F::of_usize(labels.len());
            // A standard-layout copy: its rows are contiguous slices.
            let mut grad = copy(logits);
            let classes = grad.ncols().max(1);
            let values = grad.as_slice_mut().expect("a standard-layout copy");
            for (row, &label) in values.chunks_exact_mut(classes).zip(labels) {
                softmax_minus_onehot(row, label, scale);
            }
            grad
        };
    }

    gradcheck {
        logits: random([1, 2]), labels: indices(1, 2);
        logits: random([4, 3]), labels: indices(4, 3);
        logits: random([3, 10]), labels: indices(3, 10);
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

    gradcheck {
        logp: random([1, 2]), labels: indices(1, 2);
        logp: random([4, 3]), labels: indices(4, 3);
    }
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
