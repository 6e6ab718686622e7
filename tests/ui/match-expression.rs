use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let s = sum(w);
    let t = match 3 {
        0 => s,
        _ => l2(w),
    };
    t
}

fn main() {}
