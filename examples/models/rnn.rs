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

/// A long short-term memory network: one product of the input and one of the
/// hidden state give the four gates stacked `[i, f, g, o]` (input, forget,
/// candidate, output); the cell state `c` carries memory through time,
/// changed only by the gates' products. Generic over the float type, so
/// that its gradient is checked in f64.
#[derive(Params, Clone)]
pub struct Lstm<F: Float> {
    /// `[4·hidden, in]`.
    pub wx: Array2<F>,
    /// `[4·hidden]`.
    pub b: Array1<F>,
    /// `[4·hidden, hidden]`.
    pub u: Array2<F>,
    pub wo: Array2<F>,
    pub bo: Array1<F>,
}

impl<F: Float> Lstm<F> {
    /// One step of the cell: the new hidden state and the new cell state.
    #[differentiable(wrt(self, x, h, c))]
    pub fn step(&self, x: &Array2<F>, h: &Array2<F>, c: &Array2<F>) -> (Array2<F>, Array2<F>) {
        let n = h.ncols();
        let gates = linear(x, &self.wx, &self.b) + h.dot(&self.u.t());
        let i = sigmoid(&gates.slice(s![.., 0..n]));
        let f = sigmoid(&gates.slice(s![.., n..2 * n]));
        let g = tanh(&gates.slice(s![.., 2 * n..3 * n]));
        let o = sigmoid(&gates.slice(s![.., 3 * n..]));
        let c = f * c + i * g;
        let h = o * tanh(&c);
        (h, c)
    }

    /// The logits of the last hidden state.
    #[differentiable(wrt(self))]
    pub fn logits(&self, xs: &[Array2<F>]) -> Array2<F> {
        let zeros = Array2::zeros((xs[0].nrows(), self.u.ncols()));
        let (mut h, mut c) = (zeros.clone(), zeros);
        for x in xs {
            (h, c) = self.step(x, &h, &c);
        }
        linear(&h, &self.wo, &self.bo)
    }

    /// The loss of a batch given as its rows `xs[t]`.
    #[differentiable(wrt(self))]
    pub fn loss(&self, xs: &[Array2<F>], labels: &[usize]) -> F {
        cross_entropy(&self.logits(xs), labels)
    }
}
