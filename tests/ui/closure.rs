use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let square = |v: f64| v * v;
    sum(w)
}

fn main() {}
