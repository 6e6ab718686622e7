use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn loss(w: &Array1<f64>) -> f64 {
    fn helper(x: f64) -> f64 {
        x * 2.0
    }
    sum(w) * helper(1.0)
}

fn main() {}
