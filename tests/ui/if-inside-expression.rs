use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn loss(w: &Array1<f64>, big: bool) -> f64 {
    sum(&relu(&if big { w * 2.0 } else { w * 3.0 }))
}

fn main() {}
