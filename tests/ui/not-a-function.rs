use autodiff::prelude::*;

#[differentiable]
struct Model {
    w: Array1<f64>,
}

fn main() {}
