use autodiff::prelude::*;

#[differentiable(with(w))]
fn loss(w: &Array1<f64>) -> f64 {
    sum(w)
}

fn main() {}
