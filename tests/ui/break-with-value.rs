use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let s = loop {
        break sum(w);
    };
    s
}

fn main() {}
