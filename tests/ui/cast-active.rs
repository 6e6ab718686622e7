use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let s = sum(w) as f32;
    f64::from(s)
}

fn main() {}
