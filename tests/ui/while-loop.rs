use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let h = relu(w);
    let s = while false {};
    sum(&h)
}

fn main() {}
