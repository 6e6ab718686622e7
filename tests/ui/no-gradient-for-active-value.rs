use autodiff::prelude::*;

// An ordinary function: no `clip_vjp`, so it cannot be differentiated.
fn clip(x: &Array1<f64>) -> Array1<f64> {
    x.mapv(|v| v.clamp(-1.0, 1.0))
}

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    sum(&clip(w))
}

fn main() {}
