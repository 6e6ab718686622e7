//! Recurrent networks over a sequence of inputs `xs[t]` (`[batch, width]`
//! each), classifying from the last hidden state, as tutorial 07 trains them
//! on the rows of images.

use autodiff::prelude::*;

/// An Elman network: one hidden layer fed back into itself.
#[derive(Params)]
pub struct Elman {
    pub wx: Array2<f32>,
    pub b: Array1<f32>,
    pub u: Array2<f32>,
    pub wo: Array2<f32>,
    pub bo: Array1<f32>,
}

/// The Elman network's loss of a batch given as its rows `xs[t]`.
#[differentiable(wrt(rnn))]
pub fn elman_loss(rnn: &Elman, xs: &[Array2<f32>], labels: &[usize]) -> f32 {
    let mut h = tanh(&linear(&xs[0], &rnn.wx, &rnn.b));
    for x in &xs[1..] {
        h = tanh(&(linear(x, &rnn.wx, &rnn.b) + matmul(&h, &rnn.u)));
    }
    cross_entropy(&linear(&h, &rnn.wo, &rnn.bo), labels)
}

/// The Elman network's logits.
pub fn elman_logits(rnn: &Elman, xs: &[Array2<f32>]) -> Array2<f32> {
    let mut h = tanh(&linear(&xs[0], &rnn.wx, &rnn.b));
    for x in &xs[1..] {
        h = tanh(&(linear(x, &rnn.wx, &rnn.b) + matmul(&h, &rnn.u)));
    }
    linear(&h, &rnn.wo, &rnn.bo)
}

/// A gated recurrent unit: input weights `w*`, recurrent weights `u*` for the
/// update gate `z`, the reset gate `r` and the candidate state `n`.
#[derive(Params)]
pub struct Gru {
    pub wz: Array2<f32>,
    pub bz: Array1<f32>,
    pub uz: Array2<f32>,
    pub wr: Array2<f32>,
    pub br: Array1<f32>,
    pub ur: Array2<f32>,
    pub wn: Array2<f32>,
    pub bn: Array1<f32>,
    pub un: Array2<f32>,
    pub wo: Array2<f32>,
    pub bo: Array1<f32>,
}

/// The GRU's loss. The first step starts from `h = 0`, where the reset gate
/// has nothing to reset and the recurrent products vanish.
#[differentiable(wrt(gru))]
pub fn gru_loss(gru: &Gru, xs: &[Array2<f32>], labels: &[usize]) -> f32 {
    let z = sigmoid(&linear(&xs[0], &gru.wz, &gru.bz));
    let n = tanh(&linear(&xs[0], &gru.wn, &gru.bn));
    let mut h = (1.0 - &z) * n;
    for x in &xs[1..] {
        let z = sigmoid(&(linear(x, &gru.wz, &gru.bz) + matmul(&h, &gru.uz)));
        let r = sigmoid(&(linear(x, &gru.wr, &gru.br) + matmul(&h, &gru.ur)));
        let n = tanh(&(linear(x, &gru.wn, &gru.bn) + matmul(&(&r * &h), &gru.un)));
        h = &(1.0 - &z) * &n + &z * &h;
    }
    cross_entropy(&linear(&h, &gru.wo, &gru.bo), labels)
}

/// The GRU's logits.
pub fn gru_logits(gru: &Gru, xs: &[Array2<f32>]) -> Array2<f32> {
    let z = sigmoid(&linear(&xs[0], &gru.wz, &gru.bz));
    let n = tanh(&linear(&xs[0], &gru.wn, &gru.bn));
    let mut h = (1.0 - &z) * n;
    for x in &xs[1..] {
        let z = sigmoid(&(linear(x, &gru.wz, &gru.bz) + matmul(&h, &gru.uz)));
        let r = sigmoid(&(linear(x, &gru.wr, &gru.br) + matmul(&h, &gru.ur)));
        let n = tanh(&(linear(x, &gru.wn, &gru.bn) + matmul(&(&r * &h), &gru.un)));
        h = &(1.0 - &z) * &n + &z * &h;
    }
    linear(&h, &gru.wo, &gru.bo)
}
