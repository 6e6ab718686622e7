// An compound assignment to a binding without `mut`: rustc's own error (E0384) at
// the assignment is what the user sees; the macro adds none of its own.
use autodiff::prelude::*;

#[differentiable]
fn loss(w: &Array1<f64>) -> f64 {
    let s = sum(w);
    s += l2(w);
    s
}

fn main() {}
