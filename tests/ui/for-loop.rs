use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let h = relu(w);
    for _ in 0..3 {}
    sum(&h)
}

fn main() {}
