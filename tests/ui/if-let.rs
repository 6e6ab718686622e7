use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn loss(w: &Array1<f64>, k: Option<f64>) -> f64 {
    let mut s = sum(w);
    if let Some(k) = k {
        s = s * k;
    }
    s
}

fn main() {}
