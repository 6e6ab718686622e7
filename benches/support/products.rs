//! The matrix products of one training step of the benches' three MLPs, with
//! the transposed views the runtime's kernels pass. Shared by
//! `benches/gemm.rs` and `bench-peers/`.

use autodiff::Float;
use autodiff::ndarray::{Array2, ArrayView2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// (name, batch, layer sizes) of each step.
pub const SIZES: [(&str, usize, &[usize]); 3] = [
    ("small", 16, &[64, 32, 10]),
    ("mnist", 128, &[784, 256, 10]),
    ("deep", 64, &[784, 512, 512, 512, 10]),
];

/// One product: C ← A·B, with A and B given as owned storage and whether to
/// read each transposed.
pub struct Product<F> {
    pub a: Array2<F>,
    pub a_t: bool,
    pub b: Array2<F>,
    pub b_t: bool,
    pub c: Array2<F>,
}

impl<F: Float> Product<F> {
    pub fn views(&self) -> (ArrayView2<'_, F>, ArrayView2<'_, F>) {
        let a = if self.a_t { self.a.t() } else { self.a.view() };
        let b = if self.b_t { self.b.t() } else { self.b.view() };
        (a, b)
    }
}

/// The products of a step: per layer (in → out, batch n), forward X·Wᵀ,
/// then ∂W = Gᵀ·X and, except for the first layer, ∂X = G·W.
pub fn products<F: Float>(batch: usize, sizes: &[usize]) -> Vec<Product<F>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut random = |shape: (usize, usize)| Array2::from_shape_simple_fn(shape, || F::of(rng.random_range(-1.0..1.0)));
    let mut all = Vec::new();
    for (layer, io) in sizes.windows(2).enumerate() {
        let (inputs, outputs) = (io[0], io[1]);
        let (x, w, g) = (
            random((batch, inputs)),
            random((outputs, inputs)),
            random((batch, outputs)),
        );
        all.push(Product {
            a: x.clone(),
            a_t: false,
            b: w.clone(),
            b_t: true,
            c: Array2::zeros((batch, outputs)),
        });
        all.push(Product {
            a: g.clone(),
            a_t: true,
            b: x,
            b_t: false,
            c: Array2::zeros((outputs, inputs)),
        });
        if layer > 0 {
            all.push(Product {
                a: g,
                a_t: false,
                b: w,
                b_t: false,
                c: Array2::zeros((batch, inputs)),
            });
        }
    }
    all
}
