use autodiff::prelude::*;

#[differentiable]
fn loss(w: f64) -> f64 {
    w % 2.0
}

fn main() {}
