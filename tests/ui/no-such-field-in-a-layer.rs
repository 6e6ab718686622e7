use autodiff::prelude::*;

#[derive(Params)]
struct Layer {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Params)]
struct Net {
    layers: Vec<Layer>,
    head: Layer,
}

#[differentiable(wrt(net))]
fn loss(net: &Net, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for layer in &net.layers {
        h = relu(&linear(&h, &layer.ww, &layer.b));
    }
    sum(&linear(&h, &net.head.w, &net.haed.b))
}

fn main() {}
