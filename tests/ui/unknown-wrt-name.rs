use autodiff::prelude::*;

#[differentiable(wrt(w1, w9))]
fn loss(x: &Array2<f64>, w1: &Array2<f64>) -> f64 {
    sum(&matmul(x, w1))
}

fn main() {}
