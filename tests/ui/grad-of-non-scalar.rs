use autodiff::prelude::*;

// A valid module: its output is an array.
#[differentiable]
fn layer(x: &Array2<f64>, w: &Array2<f64>) -> Array2<f64> {
    relu(&matmul(x, w))
}

fn main() {
    let x = Array2::<f64>::zeros((2, 3));
    let w = Array2::<f64>::zeros((3, 4));
    let (_y, _g) = layer_grad(&x, &w);
}
