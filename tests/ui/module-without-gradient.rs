// A module that declares no gradient at all, and whose input is a pattern.
use autodiff::prelude::*;

module! {
    pub fn first<F: Float>((a, _b): (F, F)) -> F {
        a
    }
    backward(y, g, need) {
        let _ = g;
    }
    gradcheck {
        a: 1.0;
    }
}

fn main() {}
