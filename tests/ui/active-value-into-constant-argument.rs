use autodiff::prelude::*;

// `scale(x, c)` does not differentiate its factor `c`, but `c` is differentiated here.
#[differentiable]
fn loss(x: &Array1<f64>, c: f64) -> f64 {
    sum(&scale(x, c))
}

fn main() {}
