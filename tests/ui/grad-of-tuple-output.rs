use autodiff::prelude::*;

// A valid module with two outputs.
#[differentiable]
fn both(x: &Array2<f64>, w: &Array2<f64>) -> (Array2<f64>, f64) {
    let y = matmul(x, w);
    let s = sum(&y);
    (y, s)
}

fn main() {
    let x = Array2::<f64>::zeros((2, 3));
    let w = Array2::<f64>::zeros((3, 4));
    let (_y, _g) = both_grad(&x, &w);
}
