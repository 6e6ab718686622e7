use autodiff::prelude::*;

#[derive(Params)]
struct Model {
    w: Array1<f64>,
}

impl Model {
    #[differentiable]
    fn loss(&mut self, x: &Array1<f64>) -> f64 {
        sum(&(x * &self.w))
    }
}

fn main() {}
