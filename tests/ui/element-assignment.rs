use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let mut h = relu(w);
    h[0] = 1.0;
    sum(&h)
}

fn main() {}
