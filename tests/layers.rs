//! A model's layers visited by position: `.iter().enumerate()`,
//! `.iter().zip(data)` with constant data, and both; each layer's gradient
//! lands at its index.

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
