//! Functions with several outputs: a `#[differentiable]` function or method
//! returning a tuple is a module whose VJP takes one upstream gradient per
//! output (`None` for one nothing used).

mod common;

use autodiff::prelude::*;
use common::{assert_gradients, assert_model_gradient, d2, random};

/// A gate: `x·wᵀ + h·uᵀ + b`.
#[derive(Params, Debug, Clone)]
struct Gate {
    w: Array2<f64>,
    u: Array2<f64>,
    b: Array1<f64>,
}

impl Gate {
    #[differentiable(wrt(self, x, h))]
    fn pre(&self, x: &Array2<f64>, h: &Array2<f64>) -> Array2<f64> {
        linear(x, &self.w, &self.b) + linear(h, &self.u, &self.b)
    }
}

#[derive(Params, Debug, Clone)]
struct LstmCell {
    i: Gate,
    f: Gate,
    g: Gate,
    o: Gate,
}

impl LstmCell {
    /// One step: the new hidden state and the new cell state.
    #[differentiable(wrt(self, x, h, c))]
    fn step(&self, x: &Array2<f64>, h: &Array2<f64>, c: &Array2<f64>) -> (Array2<f64>, Array2<f64>) {
        let i = sigmoid(&self.i.pre(x, h));
        let f = sigmoid(&self.f.pre(x, h));
        let g = tanh(&self.g.pre(x, h));
        let o = sigmoid(&self.o.pre(x, h));
        let c2 = f * c + i * g;
        let h2 = o * tanh(&c2);
        (h2, c2)
    }
}

#[derive(Params, Debug, Clone)]
struct Lstm {
    cell: LstmCell,
    head: Array2<f64>,
}

impl Lstm {
    #[differentiable(wrt(self))]
    fn loss(&self, xs: &[Array2<f64>], labels: &[usize]) -> f64 {
        let zeros = Array2::zeros((xs[0].nrows(), self.cell.i.u.ncols()));
        let (mut h, mut c) = (zeros.clone(), zeros);
        for x in xs {
            (h, c) = self.cell.step(x, &h, &c);
        }
        cross_entropy(&matmul(&h, &self.head), labels)
    }

    /// The same, with the outputs bound to new names first, and the first
    /// step's state declared `let (mut h, mut c)`.
    #[differentiable(wrt(self))]
    fn loss_by_names(&self, xs: &[Array2<f64>], labels: &[usize]) -> f64 {
        let zeros = Array2::zeros((xs[0].nrows(), self.cell.i.u.ncols()));
        let (mut h, mut c) = self.cell.step(&xs[0], &zeros, &zeros);
        for x in &xs[1..] {
            let (h2, c2) = self.cell.step(x, &h, &c);
            h = h2;
            c = c2;
        }
        cross_entropy(&matmul(&h, &self.head), labels)
    }
}

fn gate(hidden: usize, inputs: usize, seed: u64) -> Gate {
    Gate {
        w: random((hidden, inputs), seed) * 0.5,
        u: random((hidden, hidden), seed + 1) * 0.5,
        b: random(hidden, seed + 2) * 0.1,
    }
}

fn lstm(hidden: usize, inputs: usize, classes: usize) -> Lstm {
    Lstm {
        cell: LstmCell {
            i: gate(hidden, inputs, 1),
            f: gate(hidden, inputs, 4),
            g: gate(hidden, inputs, 7),
            o: gate(hidden, inputs, 10),
        },
        head: random((hidden, classes), 13),
    }
}

#[test]
fn a_tuple_returning_method_called_in_a_loop_matches_finite_differences() {
    let model = lstm(3, 2, 4);
    let xs: Vec<Array2<f64>> = (0..4).map(|t| random((5, 2), 20 + t)).collect();
    let labels = [0, 3, 1, 2, 1];
    let (value, grad) = model.loss_grad(&xs, &labels);
    assert_eq!(value, model.loss(&xs, &labels));
    assert_model_gradient(|m: &Lstm| m.loss(&xs, &labels), &model, &grad.self_);
    let (value, grad) = model.loss_by_names_grad(&xs, &labels);
    assert_eq!(value, model.loss_by_names(&xs, &labels));
    assert_model_gradient(|m: &Lstm| m.loss_by_names(&xs, &labels), &model, &grad.self_);
}

/// A module with two outputs split inside a loop, each output used.
#[differentiable(wrt(w))]
fn split_in_a_loop(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let mut h = matmul(x, w);
    for _ in 0..3 {
        let (a, b) = duplicate(&h);
        h = tanh(&(a * sigmoid(&b)));
    }
    sum(&h)
}

#[test]
fn a_split_inside_a_loop_matches_finite_differences() {
    let (x, w) = (random((4, 3), 50), random((3, 3), 51));
    let (value, grad) = split_in_a_loop_grad(&x, &w);
    assert_eq!(value, split_in_a_loop(&x, &w));
    assert_gradients(
        |v| split_in_a_loop(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[grad.w.into_dyn()],
    );
}

/// `split` into an array of parts, one part unused (its gradient is zero),
/// one used twice, inside a loop.
#[differentiable(wrt(w))]
fn split_parts(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let mut h = matmul(x, w);
    for _ in 0..2 {
        let [a, _, c] = split(&h, 3, 1);
        h = concat(&tanh(&(&a * &c)), &concat(&a, &sigmoid(&c), 1), 1);
    }
    sum(&h)
}

#[test]
fn a_split_into_an_array_of_parts_matches_finite_differences() {
    let (x, w) = (random((4, 3), 52), random((3, 6), 53));
    let (value, grad) = split_parts_grad(&x, &w);
    assert_eq!(value, split_parts(&x, &w));
    assert_gradients(
        |v| split_parts(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[grad.w.into_dyn()],
    );
    // The parts' gradients land side by side; an unused part's are zeros.
    let h = matmul(&x, &w);
    let parts: [Array2<f64>; 3] = split(&h, 3, 1);
    let g = [Some(Array2::ones((4, 2))), None, Some(Array2::from_elem((4, 2), 2.0))];
    let (gh, _, _) = split_vjp(&h, 3, 1, &parts, g, [true, false, false]);
    let gh = gh.expect("asked for");
    assert_eq!(gh.column(0).to_vec(), vec![1.0; 4]);
    assert_eq!(gh.column(3).to_vec(), vec![0.0; 4]);
    assert_eq!(gh.column(5).to_vec(), vec![2.0; 4]);
}

#[test]
#[should_panic(expected = "split: axis 1 of length 6 cannot be cut into 4 equal parts (input of shape [4, 6])")]
fn a_split_that_does_not_divide_the_axis_is_an_error() {
    let [_a, _b, _c, _d]: [Array2<f64>; 4] = split(&random((4, 6), 54), 4, 1);
}

#[test]
#[should_panic(expected = "split: 3 parts asked for but the result is bound to 2")]
fn a_split_bound_to_another_count_is_an_error() {
    let [_a, _b]: [Array2<f64>; 2] = split(&random((4, 6), 55), 3, 1);
}

/// Called directly, the VJP takes one upstream gradient per output, and an
/// output given `None` contributes nothing.
#[test]
fn the_vjp_takes_one_upstream_gradient_per_output() {
    let cell = lstm(3, 2, 4).cell;
    let (x, h, c) = (random((5, 2), 30), random((5, 3), 31), random((5, 3), 32));
    let y = cell.step(&x, &h, &c);
    let (gh, gc) = (random((5, 3), 33), random((5, 3), 34));
    for (upstream, weights) in [
        ((Some(gh.clone()), Some(gc.clone())), (1.0, 1.0)),
        ((Some(gh.clone()), None), (1.0, 0.0)),
        ((None, Some(gc.clone())), (0.0, 1.0)),
    ] {
        let (_, gx, g_h, g_c) = cell.step_vjp(&x, &h, &c, &y, upstream, [true; 4]);
        let projected = |v: &[ArrayD<f64>]| {
            let (h2, c2) = cell.step(&d2(&v[0]), &d2(&v[1]), &d2(&v[2]));
            weights.0 * (&h2 * &gh).sum() + weights.1 * (&c2 * &gc).sum()
        };
        let inputs = [x.clone().into_dyn(), h.clone().into_dyn(), c.clone().into_dyn()];
        let grads = [gx.unwrap().into_dyn(), g_h.unwrap().into_dyn(), g_c.unwrap().into_dyn()];
        assert_gradients(projected, &inputs, &grads);
    }
}

/// A free function with three outputs, one of them a scalar; the caller
/// uses two of them.
#[differentiable(wrt(w))]
fn moments(x: &Array2<f64>, w: &Array2<f64>) -> (Array2<f64>, f64, Array2<f64>) {
    let y = matmul(x, w);
    let m = mean(&y);
    let z = tanh(&y);
    (y, m, z)
}

#[differentiable(wrt(w))]
fn uses_two(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let (_, m, z) = moments(x, w);
    m * sum(&z)
}

#[test]
fn a_free_function_with_three_outputs_matches_finite_differences() {
    let (x, w) = (random((4, 3), 40), random((3, 2), 41));
    let (value, grad) = uses_two_grad(&x, &w);
    assert_eq!(value, uses_two(&x, &w));
    assert_gradients(
        |v| uses_two(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[grad.w.into_dyn()],
    );
}

/// The tutorials' LSTM: gates stacked in one product and cut with
/// `.slice(s![..])`, the cell a method returning `(h, c)`.
#[test]
fn the_tutorials_lstm_matches_finite_differences() {
    let (hidden, inputs, classes) = (3, 2, 4);
    let model = models::rnn::Lstm {
        wx: random((4 * hidden, inputs), 60) * 0.5,
        b: random(4 * hidden, 61) * 0.1,
        u: random((4 * hidden, hidden), 62) * 0.5,
        wo: random((classes, hidden), 63),
        bo: random(classes, 64) * 0.1,
    };
    let xs: Vec<Array2<f64>> = (0..5).map(|t| random((3, inputs), 70 + t)).collect();
    let labels = [1, 0, 3];
    let (value, grad) = model.loss_grad(&xs, &labels);
    assert_eq!(value, model.loss(&xs, &labels));
    assert_model_gradient(|m: &models::rnn::Lstm<f64>| m.loss(&xs, &labels), &model, &grad.self_);
}
