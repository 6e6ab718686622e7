//! The reference models of the tutorials, benchmarks and tests, written once:
//! a multilayer perceptron with dropout, LeNet-5, and the Elman and GRU
//! recurrent networks, each a `#[derive(Params)]` struct with its
//! `#[differentiable]` loss, its logits and its evaluation over a large set.
//!
//! The tutorials explain them; the benchmarks time them against
//! hand-written steps; the tests check that their steps allocate nothing.

pub mod gpt;
pub mod lenet;
pub mod mlp;
pub mod rnn;

use autodiff::prelude::*;

/// Mean cross-entropy and accuracy over a set, `chunk` rows at a time
/// (bounded memory): `logits(start..end)` computes the logits of those rows.
pub fn evaluate(
    labels: &[usize],
    chunk: usize,
    mut logits: impl FnMut(std::ops::Range<usize>) -> Array2<f32>,
) -> (f64, f64) {
    let (mut loss, mut correct) = (0.0, 0.0);
    for start in (0..labels.len()).step_by(chunk) {
        let end = (start + chunk).min(labels.len());
        let z = logits(start..end);
        let n = (end - start) as f64;
        loss += f64::from(cross_entropy(&z, &labels[start..end])) * n;
        correct += autodiff::train::accuracy(&z, &labels[start..end]) * n;
    }
    let n = labels.len() as f64;
    (loss / n, correct / n)
}
