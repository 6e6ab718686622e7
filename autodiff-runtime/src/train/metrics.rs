//! Classification accuracy.

use ndarray::Array2;

use crate::float::Float;

/// The index of the largest score of each row (the first one on ties).
pub fn argmax_rows<F: Float>(scores: &Array2<F>) -> Vec<usize> {
    scores
        .outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(
                    (0, F::neg_infinity()),
                    |best, (i, &v)| if v > best.1 { (i, v) } else { best },
                )
                .0
        })
        .collect()
}

/// The fraction of rows whose largest score is at the label.
pub fn accuracy<F: Float>(scores: &Array2<F>, labels: &[usize]) -> f64 {
    assert_eq!(
        scores.nrows(),
        labels.len(),
        "accuracy: {} rows but {} labels",
        scores.nrows(),
        labels.len()
    );
    if labels.is_empty() {
        return 0.0;
    }
    let correct = argmax_rows(scores).iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f64 / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_correct_predictions() {
        let scores = ndarray::arr2(&[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.5, 0.5]]);
        assert_eq!(argmax_rows(&scores), vec![1, 0, 1, 0]);
        assert_eq!(accuracy(&scores, &[1, 0, 0, 0]), 0.75);
    }
}
