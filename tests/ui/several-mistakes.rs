use autodiff::prelude::*;

#[differentiable(wrt(w, bias))]
fn loss(w: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let mut h = relu(w);
    let spread = h.var(0.0);
    for v in h.iter() {}
    h[0] = 1.0;
    let y = unsafe { 1.0 };
    sum(&h)
}

fn main() {}
