use autodiff::prelude::*;

#[differentiable(wrt(w, bias))]
fn loss(w: &Array1<f64>) -> f64 {
    let mut h = relu(w);
    for _ in 0..2 {}
    let c = |v: f64| v;
    println!("{}", 1);
    sum(&h)
}

fn main() {}
