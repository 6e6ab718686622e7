// The backward block is introduced by `backward(y, g, need)`: a misspelling
// is reported at the word.
use autodiff::prelude::*;

module! {
    pub fn double<F: Float>(x: &ArrayRef2<F>) -> Array2<F> {
        x.mapv(|v| v + v)
    }
    gradient(y, g, need) {
        grad x = g.mapv(|v| v + v);
    }
    gradcheck {
        x: random([2, 2]);
    }
}

fn main() {}
