use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    let a = tanh(x);
    let mut b = relu(x);
    (a, b) = duplicate(&b);
    sum(&a) + sum(&b)
}

fn main() {}
