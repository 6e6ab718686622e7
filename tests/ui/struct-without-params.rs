use autodiff::prelude::*;

// Forgot `#[derive(Params)]`.
struct Mlp {
    w1: Array2<f64>,
    b1: Array1<f64>,
}

#[differentiable(wrt(model))]
fn loss(model: &Mlp, x: &Array2<f64>) -> f64 {
    sum(&linear(x, &model.w1, &model.b1))
}

fn main() {}
