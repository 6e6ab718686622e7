use autodiff::prelude::*;

#[differentiable]
fn loss<F: Float>(w: &Array1<F>) -> F {
    sum(w)
}

fn main() {}
