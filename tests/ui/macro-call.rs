use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let h = relu(w);
    println!("{:?}", h);
    sum(&h)
}

fn main() {}
