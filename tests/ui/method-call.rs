use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let h = w.relu();
    sum(&h)
}

fn main() {}
