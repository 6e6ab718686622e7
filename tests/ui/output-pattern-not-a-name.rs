use autodiff::prelude::*;

// The parts of a split bind plain names: `ref` borrows a part instead.
#[differentiable]
fn loss(x: &Array2<f64>) -> f64 {
    let [a, ref b, c] = split(x, 3, 1);
    sum(&a) + sum(b) + sum(&c)
}

fn main() {}
