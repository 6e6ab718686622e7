// `tangent linear` says the module is linear in its one differentiable
// input; a module with two needs its rules written out.
use autodiff::prelude::*;

module! {
    pub fn both<F: Float>(a: &ArrayRef2<F>, b: &ArrayRef2<F>) -> Array2<F> {
        a + b
    }
    backward(y, g, need) {
        grad a = g.clone();
        grad b = g;
    }
    tangent linear;
    gradcheck {
        a: random([2, 2]), b: random([2, 2]);
    }
}

fn main() {}
