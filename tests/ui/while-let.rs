use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn loss(w: &Array1<f64>, steps: &[usize]) -> f64 {
    let mut h = w * 1.0;
    let mut rest = steps.iter();
    while let Some(_) = rest.next() {
        h = tanh(&h);
    }
    sum(&h)
}

fn main() {}
