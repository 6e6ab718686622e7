//! `#[differentiable]` methods with `&self`, and differentiable methods of
//! sub-models called inside other differentiable code.

mod common;

use autodiff::prelude::*;
use common::{assert_gradients, assert_model_gradient, d2, random};

#[derive(Params, Debug, Clone)]
struct Dense {
    w: Array2<f64>,
    b: Array1<f64>,
}

impl Dense {
    /// A layer as a method: a module whose first argument is the receiver.
    #[differentiable(wrt(self, x))]
    fn forward(&self, x: &Array2<f64>) -> Array2<f64> {
        tanh(&linear(x, &self.w, &self.b))
    }
}

#[derive(Params, Debug, Clone)]
struct Model {
    encoder: Dense,
    layers: Vec<Dense>,
    head: Dense,
}

impl Model {
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Array2<f64>, labels: &[usize]) -> f64 {
        let mut h = self.encoder.forward(x);
        for layer in &self.layers {
            h = layer.forward(&h);
        }
        cross_entropy(&linear(&h, &self.head.w, &self.head.b), labels)
    }

    #[differentiable(wrt(self, x))]
    fn energy(&self, x: &Array2<f64>) -> f64 {
        sum(&self.encoder.forward(x))
    }
}

fn dense(rows: usize, cols: usize, seed: u64) -> Dense {
    Dense {
        w: random((rows, cols), seed) * 0.5,
        b: random(rows, seed + 1),
    }
}

fn model(depth: usize) -> Model {
    Model {
        encoder: dense(4, 3, 1),
        layers: (0..depth as u64).map(|i| dense(4, 4, 10 + 2 * i)).collect(),
        head: dense(3, 4, 40),
    }
}

#[test]
fn a_method_differentiates_its_receiver() {
    let x = random((5, 3), 2);
    let labels = [0, 1, 2, 1, 0];
    for depth in [0, 2] {
        let m = model(depth);
        let (value, g) = m.loss_grad(&x, &labels);
        assert_eq!(value, m.loss(&x, &labels));
        // The receiver's gradient is `self_`, a model of gradients.
        assert_eq!(g.self_.layers.len(), depth);
        assert_model_gradient(|n: &Model| n.loss(&x, &labels), &m, &g.self_);
    }
}

#[test]
fn a_method_differentiates_its_other_parameters_too() {
    let m = model(1);
    let x = random((2, 3), 3);
    let (value, g) = m.energy_grad(&x);
    assert_eq!(value, m.energy(&x));
    let (gx,) = g.args;
    assert_gradients(|v| m.energy(&d2(&v[0])), &[x.clone().into_dyn()], &[gx.into_dyn()]);
    assert_model_gradient(|n: &Model| n.energy(&x), &m, &g.self_);
}

// A free function calling a model's method.
#[differentiable(wrt(model))]
fn outside(model: &Model, x: &Array2<f64>, labels: &[usize]) -> f64 {
    model.loss(x, labels) * 2.0
}

#[test]
fn a_method_called_from_a_function() {
    let (m, x) = (model(1), random((3, 3), 4));
    let labels = [2, 0, 1];
    let (value, g) = outside_grad(&m, &x, &labels);
    assert_eq!(value, outside(&m, &x, &labels));
    assert_model_gradient(|n| outside(n, &x, &labels), &m, &g.model);
}

#[test]
fn a_method_in_a_workspace() {
    let (m, x) = (model(2), random((3, 3), 5));
    let labels = [1, 1, 0];
    let mut ws = Workspace::new();
    let (first, g1) = m.loss_grad_with(&mut ws, &x, &labels);
    let (second, g2) = m.loss_grad_with(&mut ws, &x, &labels);
    assert_eq!(first, second);
    assert_eq!(g1.self_.head.w, g2.self_.head.w);
}
