use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let h = relu(w);
    let e = h.mapv(f64::exp);
    sum(&e)
}

fn main() {}
