use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn loss(w: &Array1<f64>, mode: usize) -> f64 {
    sum(&relu(&match mode {
        0 => w * 2.0,
        _ => w * 3.0,
    }))
}

fn main() {}
