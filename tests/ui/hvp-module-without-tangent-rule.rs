// A function with `hvp` calls a module declared without tangent rules: one
// error at the call, naming the module.
use autodiff::prelude::*;

module! {
    /// `2x`, with a gradient but no tangent rules.
    pub fn double<F: Float>(x: &ArrayRef2<F>) -> Array2<F> {
        x.mapv(|v| v + v)
    }
    backward(y, g, need) {
        grad x = g.mapv(|v| v + v);
    }
    gradcheck {
        x: random([2, 2]);
    }
}

#[differentiable(wrt(x), hvp)]
fn doubled(x: &Array2<f64>) -> f64 {
    sum(&double(x))
}

fn main() {}
