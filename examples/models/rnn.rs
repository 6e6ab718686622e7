//! Recurrent networks over a sequence of inputs `xs[t]` (`[batch, width]`
//! each), classifying from the last hidden state, as tutorial 07 trains them
//! on the rows of images.
//!
//! Each network is written once: its cell is a `#[differentiable]` method,
//! `step`, that reads one input and returns the next state; `logits` runs the
//! cell over the sequence from a zero state and applies the output layer;
//! `loss` is the cross-entropy of the logits. `gradient_through_time`
//! computes ‖∂C/∂h_t‖ for every step by running the cell's generated VJP
//! backwards by hand: backpropagation through time, one step at a time.
//! Generic over the float type, so that the gradients are checked in f64.

use autodiff::prelude::*;

/// An Elman network: one hidden layer fed back into itself,
/// `h = tanh(x·Wxᵀ + b + h·U)`.
#[derive(Params, Clone)]
pub struct Elman<F: Float> {
    pub wx: Array2<F>,
    pub b: Array1<F>,
    pub u: Array2<F>,
    pub wo: Array2<F>,
    pub bo: Array1<F>,
}

/// A gated recurrent unit (Cho et al. 2014): input weights `w*`, recurrent
/// weights `u*` for the update gate `z`, the reset gate `r` and the
/// candidate state `n`.
#[derive(Params, Clone)]
pub struct Gru<F: Float> {
    pub wz: Array2<F>,
    pub bz: Array1<F>,
    pub uz: Array2<F>,
    pub wr: Array2<F>,
    pub br: Array1<F>,
    pub ur: Array2<F>,
    pub wn: Array2<F>,
    pub bn: Array1<F>,
    pub un: Array2<F>,
    pub wo: Array2<F>,
    pub bo: Array1<F>,
}

/// A long short-term memory network (Hochreiter and Schmidhuber 1997, with
/// the forget gate of Gers et al. 2000): one product of the input and one of
/// the hidden state give the four gates stacked `[i, f, g, o]` (input,
/// forget, candidate, output); the cell state `c` carries memory through
/// time, changed only by the gates' products.
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

/// The cross-entropy of the output layer `wo`, `bo` on the last hidden
/// state: where the gradient through time starts.
#[differentiable(wrt(h))]
fn head_loss<F: Float>(h: &Array2<F>, wo: &Array2<F>, bo: &Array1<F>, labels: &[usize]) -> F {
    cross_entropy(&linear(h, wo, bo), labels)
}

/// The Frobenius norm of a gradient.
fn norm<F: Float>(g: &Array2<F>) -> f64 {
    autodiff::train::grad_norm(g).to_f64_lossless()
}

/// ‖∂C/∂h_t‖ for t = 0 (the zero start `h0`) to T of a cell whose state is
/// `h` alone: the states forward, then ∂C/∂h_t from ∂C/∂h_{t+1} by the
/// cell's VJP for its input h, `back(x_t, h_t, h_{t+1}, ∂C/∂h_{t+1})`.
fn through_time<F: Float>(
    xs: &[Array2<F>],
    h0: Array2<F>,
    step: impl Fn(&Array2<F>, &Array2<F>) -> Array2<F>,
    back: impl Fn(&Array2<F>, &Array2<F>, &Array2<F>, Array2<F>) -> Array2<F>,
    (wo, bo, labels): (&Array2<F>, &Array1<F>, &[usize]),
) -> Vec<f64> {
    let mut states = vec![h0];
    for x in xs {
        let next = step(x, states.last().expect("the start"));
        states.push(next);
    }
    let (_, g) = head_loss_grad(states.last().expect("T ≥ 0"), wo, bo, labels);
    let mut g = g.h;
    let mut norms = vec![norm(&g)];
    for t in (0..xs.len()).rev() {
        g = back(&xs[t], &states[t], &states[t + 1], g);
        norms.push(norm(&g));
    }
    norms.reverse();
    norms
}

impl<F: Float> Elman<F> {
    /// One step: the state after reading `x` from state `h`.
    #[differentiable(wrt(self, x, h))]
    pub fn step(&self, x: &Array2<F>, h: &Array2<F>) -> Array2<F> {
        tanh(&(linear(x, &self.wx, &self.b) + matmul(h, &self.u)))
    }

    /// The logits of the last hidden state.
    #[differentiable(wrt(self))]
    pub fn logits(&self, xs: &[Array2<F>]) -> Array2<F> {
        let mut h = Array2::zeros((xs[0].nrows(), self.u.nrows()));
        for x in xs {
            h = self.step(x, &h);
        }
        linear(&h, &self.wo, &self.bo)
    }

    /// The loss of a batch given as its rows `xs[t]`.
    #[differentiable(wrt(self))]
    pub fn loss(&self, xs: &[Array2<F>], labels: &[usize]) -> F {
        cross_entropy(&self.logits(xs), labels)
    }

    /// ‖∂C/∂h_t‖ for t = 0 (the zero start) to T (the last state).
    pub fn gradient_through_time(&self, xs: &[Array2<F>], labels: &[usize]) -> Vec<f64> {
        let h0 = Array2::zeros((xs[0].nrows(), self.u.nrows()));
        let back = |x: &_, h: &_, y: &_, g| self.step_vjp(x, h, y, g, [false, false, true]).2.expect("asked for");
        through_time(xs, h0, |x, h| self.step(x, h), back, (&self.wo, &self.bo, labels))
    }
}

/// The Elman network's loss as one loop with the cell written inline: the
/// form the benchmarks time against backpropagation through time by hand,
/// and whose steady-state steps allocate nothing (`tests/memory.rs`). A
/// `#[differentiable]` function called inside another, like `step` inside
/// `logits`, computes its forward pass again in its VJP and takes its
/// buffers from the heap, not from the caller's workspace.
#[differentiable(wrt(rnn))]
pub fn elman_loss(rnn: &Elman<f32>, xs: &[Array2<f32>], labels: &[usize]) -> f32 {
    let mut h = tanh(&linear(&xs[0], &rnn.wx, &rnn.b));
    for x in &xs[1..] {
        h = tanh(&(linear(x, &rnn.wx, &rnn.b) + matmul(&h, &rnn.u)));
    }
    cross_entropy(&linear(&h, &rnn.wo, &rnn.bo), labels)
}

impl<F: Float> Gru<F> {
    /// One step: `(1 − z)·n + z·h`, written `n + z·(h − n)`. From `h = 0`
    /// the reset gate has nothing to reset and the recurrent products vanish.
    #[differentiable(wrt(self, x, h))]
    pub fn step(&self, x: &Array2<F>, h: &Array2<F>) -> Array2<F> {
        let z = sigmoid(&(linear(x, &self.wz, &self.bz) + matmul(h, &self.uz)));
        let r = sigmoid(&(linear(x, &self.wr, &self.br) + matmul(h, &self.ur)));
        let n = tanh(&(linear(x, &self.wn, &self.bn) + matmul(&(&r * h), &self.un)));
        &n + &(&z * &(h - &n))
    }

    /// The logits of the last hidden state.
    #[differentiable(wrt(self))]
    pub fn logits(&self, xs: &[Array2<F>]) -> Array2<F> {
        let mut h = Array2::zeros((xs[0].nrows(), self.uz.nrows()));
        for x in xs {
            h = self.step(x, &h);
        }
        linear(&h, &self.wo, &self.bo)
    }

    /// The loss of a batch given as its rows `xs[t]`.
    #[differentiable(wrt(self))]
    pub fn loss(&self, xs: &[Array2<F>], labels: &[usize]) -> F {
        cross_entropy(&self.logits(xs), labels)
    }

    /// ‖∂C/∂h_t‖ for t = 0 (the zero start) to T (the last state).
    pub fn gradient_through_time(&self, xs: &[Array2<F>], labels: &[usize]) -> Vec<f64> {
        let h0 = Array2::zeros((xs[0].nrows(), self.uz.nrows()));
        let back = |x: &_, h: &_, y: &_, g| self.step_vjp(x, h, y, g, [false, false, true]).2.expect("asked for");
        through_time(xs, h0, |x, h| self.step(x, h), back, (&self.wo, &self.bo, labels))
    }
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

    /// ‖∂C/∂h_t‖ for t = 0 (the zero start) to T (the last state): the
    /// gradient of the hidden state, with what reaches it through the cell
    /// state of later steps.
    pub fn gradient_through_time(&self, xs: &[Array2<F>], labels: &[usize]) -> Vec<f64> {
        let zeros = Array2::zeros((xs[0].nrows(), self.u.ncols()));
        let mut states = vec![(zeros.clone(), zeros)];
        for x in xs {
            let (h, c) = states.last().expect("the start");
            let next = self.step(x, h, c);
            states.push(next);
        }
        let (_, g) = head_loss_grad(&states.last().expect("T ≥ 0").0, &self.wo, &self.bo, labels);
        // The last cell state reaches C only through the last hidden state.
        let (mut g_h, mut g_c) = (g.h, None);
        let mut norms = vec![norm(&g_h)];
        for t in (0..xs.len()).rev() {
            let (h, c) = &states[t];
            let (_, _, gh, gc) = self.step_vjp(
                &xs[t],
                h,
                c,
                &states[t + 1],
                (Some(g_h), g_c),
                [false, false, true, true],
            );
            g_h = gh.expect("asked for");
            g_c = gc;
            norms.push(norm(&g_h));
        }
        norms.reverse();
        norms
    }
}
