use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let s = sum(w);
    s += l2(w);
    s
}

fn main() {}
