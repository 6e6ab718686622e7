// A function with `hvp` calls a module that has no tangent rule: one error
// at the call, naming the module.
use autodiff::prelude::*;

#[differentiable(wrt(x, gamma, beta), hvp)]
fn normalised(x: &Array2<f64>, gamma: &Array1<f64>, beta: &Array1<f64>) -> f64 {
    let h = layer_norm(x, gamma, beta, 1e-5);
    sum(&(&h * &h))
}

fn main() {}
