use autodiff::prelude::*;

#[differentiable]
fn loss(z: &Array2<f64>, labels: &[usize]) -> f64 {
    cross_entropy(z, labels)
}

fn main() {}
