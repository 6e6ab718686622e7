use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn loss(w: &mut Array2<f64>) -> f64 {
    sum(w)
}

#[differentiable]
fn labels_by_default(z: &Array2<f64>, labels: &'static [usize]) -> f64 {
    cross_entropy(z, labels)
}

fn main() {}
