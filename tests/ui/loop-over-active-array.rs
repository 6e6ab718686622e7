use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let h = relu(w);
    let mut total = 0.0;
    for v in h.iter() {
        total += v;
    }
    total
}

fn main() {}
