use autodiff::prelude::*;

#[differentiable]
fn five(x: &Array1<f64>) -> (Array1<f64>, Array1<f64>, Array1<f64>, Array1<f64>, Array1<f64>) {
    let a = tanh(x);
    (relu(&a), tanh(&a), relu(&a), sigmoid(&a), relu(x))
}

fn main() {}
