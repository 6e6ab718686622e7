use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn loss(w: &Array1<f64>, big: bool) -> f64 {
    let s = sum(w);
    let t = if big { s * 2.0 };
    t
}

fn main() {}
