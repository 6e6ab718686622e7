use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let v = vec![1.0, 2.0];
    sum(w)
}

fn main() {}
