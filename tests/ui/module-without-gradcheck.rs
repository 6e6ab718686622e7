// A module without a gradcheck case is not trusted: it does not compile.
use autodiff::prelude::*;

module! {
    pub fn double<F: Float>(x: &ArrayRef2<F>) -> Array2<F> {
        x.mapv(|v| v + v)
    }
    backward(y, g, need) {
        grad x = g.mapv(|v| v + v);
    }
    gradcheck {}
}

fn main() {}
