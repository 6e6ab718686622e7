use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let later = async { 1.0 };
    sum(w)
}

fn main() {}
