//! A model's layers by position: `.iter().enumerate()`, `.iter().zip(data)`
//! with constant data, and both; `net.layers[i]` with a constant `i`,
//! `.first().unwrap()`, `.last().unwrap()`. Each layer's gradient lands at
//! its index.

mod common;

use autodiff::prelude::*;
use common::{assert_model_gradient, random};

#[derive(Params, Debug, Clone)]
struct Dense {
    w: Array2<f64>,
    b: Array1<f64>,
}

impl Dense {
    #[differentiable(wrt(self, x))]
    fn forward(&self, x: &Array2<f64>) -> Array2<f64> {
        tanh(&linear(x, &self.w, &self.b))
    }
}

#[derive(Params, Debug, Clone)]
struct Net {
    layers: Vec<Dense>,
}

impl Net {
    /// The first layer's output is rectified too, found by its index.
    #[differentiable(wrt(self))]
    fn by_index(&self, x: &Array2<f64>) -> f64 {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h);
            if i == 0 {
                h = relu(&h);
            }
            h *= 1.0 + i as f64;
        }
        sum(&(&h * &h))
    }

    /// Each layer's output scaled by a constant of its own.
    #[differentiable(wrt(self))]
    fn zipped(&self, x: &Array2<f64>, scales: &[f64]) -> f64 {
        let mut h = x.clone();
        for (layer, scale) in self.layers.iter().zip(scales) {
            h = layer.forward(&h) * *scale;
        }
        sum(&(&h * &h))
    }

    /// Both: a residual connection after every layer but the last.
    #[differentiable(wrt(self))]
    fn both(&self, x: &Array2<f64>, scales: &[f64]) -> f64 {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, (layer, scale)) in self.layers.iter().zip(scales.iter()).enumerate() {
            let y = layer.forward(&h);
            h = if i < last { &h + &(y * *scale) } else { y };
        }
        sum(&(&h * &h))
    }
}

impl Net {
    /// The first layer, then every middle one by index with a skip
    /// connection, then the last one's weights used directly.
    #[differentiable(wrt(self))]
    fn by_position(&self, x: &Array2<f64>) -> f64 {
        let mut h = self.layers.first().unwrap().forward(x);
        for i in 1..self.layers.len() - 1 {
            let layer = &self.layers[i];
            h = layer.forward(&h) + &h * 0.5;
        }
        let last = self.layers.len() - 1;
        let y = linear(&h, &self.layers[last].w, &self.layers.last().unwrap().b);
        sum(&(&y * &self.layers[0].forward(x)))
    }

    /// An index inside a branch, and the same layer used twice.
    #[differentiable(wrt(self))]
    fn chosen(&self, x: &Array2<f64>, k: usize) -> f64 {
        let twice = &self.layers[k];
        let h = if k > 0 {
            twice.forward(&self.layers[k].forward(x))
        } else {
            self.layers[0].forward(x)
        };
        sum(&(&h * &h))
    }

    /// An early return between two indexed layers.
    #[differentiable(wrt(self))]
    fn returns(&self, x: &Array2<f64>, stop: bool) -> f64 {
        let h = self.layers[1].forward(x);
        if stop {
            return sum(&h);
        }
        sum(&self.layers[2].forward(&h))
    }
}

#[test]
fn an_index_first_and_last_send_each_gradient_to_its_layer() {
    let (model, x) = (net(4), random((4, 3), 3));
    let (value, g) = model.by_position_grad(&x);
    assert_eq!(value, model.by_position(&x));
    assert_model_gradient(|m: &Net| m.by_position(&x), &model, &g.self_);
    for stop in [false, true] {
        let (value, g) = model.returns_grad(&x, stop);
        assert_eq!(value, model.returns(&x, stop));
        assert_model_gradient(|m: &Net| m.returns(&x, stop), &model, &g.self_);
    }
    for k in [0, 2] {
        let (value, g) = model.chosen_grad(&x, k);
        assert_eq!(value, model.chosen(&x, k));
        assert_model_gradient(|m: &Net| m.chosen(&x, k), &model, &g.self_);
    }
}

fn net(depth: usize) -> Net {
    Net {
        layers: (0..depth as u64)
            .map(|i| Dense {
                w: random((3, 3), 10 + 2 * i) * 0.6,
                b: random(3, 11 + 2 * i) * 0.1,
            })
            .collect(),
    }
}

#[test]
fn enumerate_gives_the_index_and_each_layer_its_gradient() {
    let (model, x) = (net(3), random((4, 3), 1));
    let (value, g) = model.by_index_grad(&x);
    assert_eq!(value, model.by_index(&x));
    assert_model_gradient(|m: &Net| m.by_index(&x), &model, &g.self_);
}

#[test]
fn zip_pairs_each_layer_with_its_data() {
    let (model, x) = (net(3), random((4, 3), 2));
    // Fewer scales than layers: the last layer is not visited.
    let scales = [0.5, -1.5];
    let (value, g) = model.zipped_grad(&x, &scales);
    assert_eq!(value, model.zipped(&x, &scales));
    assert_model_gradient(|m: &Net| m.zipped(&x, &scales), &model, &g.self_);
    assert!(g.self_.layers[2].w.iter().all(|&v| v == 0.0));
    let (value, g) = model.both_grad(&x, &[0.5, 2.0, 1.0]);
    assert_eq!(value, model.both(&x, &[0.5, 2.0, 1.0]));
    assert_model_gradient(|m: &Net| m.both(&x, &[0.5, 2.0, 1.0]), &model, &g.self_);
}
