//! The tutorials' recurrent networks (`models::rnn`): each loss's gradient
//! against central differences in f64, and the gradient through time that
//! `gradient_through_time` computes by running the cells' VJPs backwards by
//! hand against differences of the loss in the starting state.

mod common;

use autodiff::prelude::*;
use common::{assert_model_gradient, random};
use models::rnn::{Elman, Gru, Lstm};

const HIDDEN: usize = 3;
const INPUTS: usize = 2;
const CLASSES: usize = 4;
const LABELS: [usize; 3] = [1, 0, 3];

fn sequence() -> Vec<Array2<f64>> {
    (0..5).map(|t| random((3, INPUTS), 70 + t)).collect()
}

fn elman() -> Elman<f64> {
    Elman {
        wx: random((HIDDEN, INPUTS), 1) * 0.5,
        b: random(HIDDEN, 2) * 0.1,
        u: random((HIDDEN, HIDDEN), 3) * 0.5,
        wo: random((CLASSES, HIDDEN), 4),
        bo: random(CLASSES, 5) * 0.1,
    }
}

fn gru() -> Gru<f64> {
    let m = |seed| random((HIDDEN, HIDDEN), seed) * 0.5;
    let w = |seed| random((HIDDEN, INPUTS), seed) * 0.5;
    let b = |seed| random(HIDDEN, seed) * 0.1;
    Gru {
        wz: w(10),
        bz: b(11),
        uz: m(12),
        wr: w(13),
        br: b(14),
        ur: m(15),
        wn: w(16),
        bn: b(17),
        un: m(18),
        wo: random((CLASSES, HIDDEN), 19),
        bo: random(CLASSES, 20) * 0.1,
    }
}

fn lstm() -> Lstm<f64> {
    Lstm {
        wx: random((4 * HIDDEN, INPUTS), 60) * 0.5,
        b: random(4 * HIDDEN, 61) * 0.1,
        u: random((4 * HIDDEN, HIDDEN), 62) * 0.5,
        wo: random((CLASSES, HIDDEN), 63),
        bo: random(CLASSES, 64) * 0.1,
    }
}

#[test]
fn the_losses_match_finite_differences() {
    let xs = sequence();
    let (value, grad) = elman().loss_grad(&xs, &LABELS);
    assert_eq!(value, elman().loss(&xs, &LABELS));
    assert_model_gradient(|m: &Elman<f64>| m.loss(&xs, &LABELS), &elman(), &grad.self_);
    let (value, grad) = gru().loss_grad(&xs, &LABELS);
    assert_eq!(value, gru().loss(&xs, &LABELS));
    assert_model_gradient(|m: &Gru<f64>| m.loss(&xs, &LABELS), &gru(), &grad.self_);
}

/// ‖∂C/∂h‖ at `h` by central differences of `loss`.
fn norm_by_differences(h: &Array2<f64>, loss: impl Fn(&Array2<f64>) -> f64) -> f64 {
    let step = 1e-6;
    let mut squares = 0.0;
    for i in 0..h.len() {
        let (mut up, mut down) = (h.clone(), h.clone());
        up.as_slice_mut().unwrap()[i] += step;
        down.as_slice_mut().unwrap()[i] -= step;
        squares += ((loss(&up) - loss(&down)) / (2.0 * step)).powi(2);
    }
    squares.sqrt()
}

/// ‖∂C/∂h₀‖, where `loss(h0)` runs the network from the state `h0`
/// instead of zeros.
fn norm_at_start(loss: impl Fn(&Array2<f64>) -> f64) -> f64 {
    norm_by_differences(&Array2::zeros((LABELS.len(), HIDDEN)), loss)
}

fn assert_close(by_hand: f64, differences: f64) {
    assert!(
        (by_hand - differences).abs() <= 1e-7 * differences.max(1e-3),
        "{by_hand} by hand, {differences} by differences"
    );
}

#[test]
fn the_gradient_through_time_matches_finite_differences() {
    let xs = sequence();
    let head = |h: &Array2<f64>, wo: &Array2<f64>, bo: &Array1<f64>| cross_entropy(&linear(h, wo, bo), &LABELS);

    let m = elman();
    let norms = m.gradient_through_time(&xs, &LABELS);
    assert_eq!(norms.len(), xs.len() + 1);
    assert_close(
        norms[0],
        norm_at_start(|h0| {
            let h = xs.iter().fold(h0.clone(), |h, x| m.step(x, &h));
            head(&h, &m.wo, &m.bo)
        }),
    );

    let m = gru();
    let norms = m.gradient_through_time(&xs, &LABELS);
    assert_close(
        norms[0],
        norm_at_start(|h0| {
            let h = xs.iter().fold(h0.clone(), |h, x| m.step(x, &h));
            head(&h, &m.wo, &m.bo)
        }),
    );

    // The LSTM's starting cell state stays at zero: ∂C/∂h₀ alone.
    let m = lstm();
    let norms = m.gradient_through_time(&xs, &LABELS);
    assert_close(
        norms[0],
        norm_at_start(|h0| {
            let c0 = Array2::zeros(h0.raw_dim());
            let (h, _) = xs.iter().fold((h0.clone(), c0), |(h, c), x| m.step(x, &h, &c));
            head(&h, &m.wo, &m.bo)
        }),
    );
    // The last state's gradient is the output layer's alone.
    let h = xs
        .iter()
        .fold((Array2::zeros((3, HIDDEN)), Array2::zeros((3, HIDDEN))), |(h, c), x| {
            m.step(x, &h, &c)
        });
    let last = norm_by_differences(&h.0, |h| head(h, &m.wo, &m.bo));
    assert_close(norms[xs.len()], last);
}
