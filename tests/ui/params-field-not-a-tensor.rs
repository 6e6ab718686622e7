use autodiff::prelude::*;

#[derive(Params)]
struct Mlp {
    w1: Array2<f64>,
    name: String,
}

fn main() {}
