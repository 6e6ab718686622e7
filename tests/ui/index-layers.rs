use autodiff::prelude::*;

#[derive(Params)]
struct Layer {
    w: Array2<f64>,
}

#[derive(Params)]
struct Net {
    layers: Vec<Layer>,
}

fn dense(layer: &Layer, x: &Array2<f64>) -> Array2<f64> {
    x.dot(&layer.w)
}

// The range's bound reads the model (its length), which is allowed; taking
// a layer by index is not.
#[differentiable(wrt(net))]
fn loss(net: &Net, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for i in 0..net.layers.len() {
        h = relu(&matmul(&h, &net.layers[i].w));
    }
    let out = dense(&net.layers[0], &h);
    sum(&out)
}

fn main() {}
