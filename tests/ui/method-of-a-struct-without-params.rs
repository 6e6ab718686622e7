use autodiff::prelude::*;

struct Model {
    w: Array1<f64>,
}

impl Model {
    #[differentiable]
    fn loss(&self, x: &Array1<f64>) -> f64 {
        sum(x)
    }
}

fn main() {}
