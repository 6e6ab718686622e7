use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let mut h = relu(w);
    let r = &mut h;
    sum(w)
}

fn main() {}
