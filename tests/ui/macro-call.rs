use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let h = relu(w);
    let shown = format!("{h:?}");
    println!("{shown} {:?}", h);
    sum(&h)
}

fn main() {}
