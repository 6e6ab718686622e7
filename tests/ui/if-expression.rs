use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let s = sum(w);
    if s > 0.0 { s } else { -s }
}

fn main() {}
