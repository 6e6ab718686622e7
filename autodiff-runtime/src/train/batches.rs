//! Shuffled minibatches. Shuffling every epoch keeps consecutive updates from
//! seeing one class at a time (which would drag the last layer's biases class
//! by class); minibatches trade a noisier gradient for many more updates.

use ndarray::{Array2, Axis};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::float::Float;

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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

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
