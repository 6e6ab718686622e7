use autodiff::prelude::*;

fn checked(w: &Array1<f64>) -> Result<f64, String> {
    Ok(sum(w))
}

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let s = checked(w)?;
    s
}

fn main() {}
