// Every mistake of a `module!` declaration is reported at once, each at its span.
use autodiff::prelude::*;

module! {
    /// A module whose gradient names an input it does not have, gives another
    /// twice, and whose second gradcheck case forgets an input.
    pub fn scaled<F: Float>(x: &ArrayRef2<F>, k: F) -> Array2<F> {
        x.mapv(|v| v * k)
    }
    backward(y, g, need) {
        grad x = g.mapv(|v| v * k);
        grad z = g.clone();
        grad x = g;
    }
    gradcheck {
        x: random([2, 2]), k: 2.0;
        x: random([2, 2]);
    }
}

fn main() {}
