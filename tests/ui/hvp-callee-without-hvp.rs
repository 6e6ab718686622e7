// A function with `hvp` calls a differentiable function declared without it:
// the callee has no tangent functions.
use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn inner(x: &Array2<f64>, w: &Array2<f64>) -> Array2<f64> {
    tanh(&matmul(x, w))
}

#[differentiable(wrt(w), hvp)]
fn outer(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    sum(&inner(x, w))
}

fn main() {}
