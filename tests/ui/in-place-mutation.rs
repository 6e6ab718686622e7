use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let mut h = relu(w);
    h.mapv_inplace(|v| v * 2.0);
    sum(&h)
}

fn main() {}
