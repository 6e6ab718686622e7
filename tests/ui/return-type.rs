use autodiff::prelude::*;

#[differentiable]
fn result(w: &Array1<f64>) -> Result<f64, String> {
    Ok(sum(w))
}

#[differentiable]
fn reference(w: &Array1<f64>) -> &Array1<f64> {
    w
}

#[differentiable]
fn count(w: &Array1<f64>) -> (Array1<f64>, usize) {
    (relu(w), w.len())
}

fn main() {}
