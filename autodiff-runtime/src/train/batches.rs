//! Shuffled minibatches. Shuffling every epoch keeps consecutive updates from
//! seeing one class at a time (which would drag the last layer's biases class
//! by class); minibatches trade a noisier gradient for many more updates.

use ndarray::{Array2, Axis};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::float::Float;
use crate::workspace::refill;

/// The sample indices 0..n, shuffled by `rng`, in batches of `batch_size` (the
/// last one smaller if `n` is not a multiple). Call once per epoch.
pub fn minibatches(n: usize, batch_size: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "minibatches: batch size must be positive");
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order.chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// The rows of `x` at `indices`, in that order.
pub fn select_rows<F: Float>(x: &Array2<F>, indices: &[usize]) -> Array2<F> {
    x.select(Axis(0), indices)
}

/// The labels at `indices`, in that order.
pub fn select_labels(labels: &[usize], indices: &[usize]) -> Vec<usize> {
    indices.iter().map(|&i| labels[i]).collect()
}

/// [`select_rows`] into `out`, reusing its buffer: once `out` has held a batch
/// this large, selecting a batch allocates nothing.
///
/// # Panics
/// If an index is not a row of `x`.
pub fn select_rows_into<F: Float>(x: &Array2<F>, indices: &[usize], out: &mut Array2<F>) {
    let (rows, cols) = x.dim();
    refill(out, (indices.len(), cols), |buffer| {
        for &i in indices {
            assert!(i < rows, "select_rows_into: index {i} is out of range for {rows} rows");
            let row = x.row(i);
            match row.as_slice() {
                Some(values) => buffer.extend_from_slice(values),
                None => buffer.extend(row.iter().copied()),
            }
        }
    });
}

/// [`select_labels`] into `out`, reusing its buffer.
pub fn select_labels_into(labels: &[usize], indices: &[usize], out: &mut Vec<usize>) {
    out.clear();
    out.extend(indices.iter().map(|&i| labels[i]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ShapeBuilder;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn selecting_into_a_buffer_matches_selecting_anew() {
        let x = Array2::from_shape_fn((6, 3), |(i, j)| (10 * i + j) as f64);
        let labels = [5, 4, 3, 2, 1, 0];
        let (mut rows, mut picked) = (Array2::zeros((0, 0)), Vec::new());
        // Larger, smaller, then larger again: the shape follows the batch.
        for batch in [&[4, 0, 5][..], &[2], &[1, 3, 5, 0]] {
            select_rows_into(&x, batch, &mut rows);
            select_labels_into(&labels, batch, &mut picked);
            assert_eq!(rows, select_rows(&x, batch));
            assert_eq!(picked, select_labels(&labels, batch));
        }
        // A column-major source, whose rows are not contiguous.
        let mut column_major = Array2::zeros((6, 3).f());
        column_major.assign(&x);
        assert!(column_major.row(0).as_slice().is_none());
        select_rows_into(&column_major, &[1, 4], &mut rows);
        assert_eq!(rows, select_rows(&x, &[1, 4]));
    }

    #[test]
    #[should_panic(expected = "index 6 is out of range for 6 rows")]
    fn selecting_a_missing_row_names_it() {
        select_rows_into(&Array2::<f64>::zeros((6, 2)), &[6], &mut Array2::zeros((0, 0)));
    }

    #[test]
    fn every_sample_once_per_epoch_in_a_new_order() {
        let mut rng = StdRng::seed_from_u64(5);
        let first = minibatches(103, 10, &mut rng);
        let second = minibatches(103, 10, &mut rng);
        for epoch in [&first, &second] {
            assert_eq!(epoch.len(), 11);
            assert!(epoch[..10].iter().all(|b| b.len() == 10));
            assert_eq!(epoch[10].len(), 3);
            let mut seen: Vec<usize> = epoch.iter().flatten().copied().collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..103).collect::<Vec<_>>());
        }
        assert_ne!(first, second, "each epoch is shuffled anew");
        assert_eq!(first, minibatches(103, 10, &mut StdRng::seed_from_u64(5)), "seeded");
    }

    #[test]
    fn selects_rows_and_labels() {
        let x = ndarray::arr2(&[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]);
        assert_eq!(select_rows(&x, &[2, 0]), ndarray::arr2(&[[2.0, 2.0], [0.0, 0.0]]));
        assert_eq!(select_labels(&[7, 8, 9], &[2, 0]), vec![9, 7]);
    }
}
