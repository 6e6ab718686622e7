//! A multilayer perceptron of two hidden ReLU layers with dropout, as
//! tutorials 06 and 10 train it on MNIST (784-500-150-10).

use autodiff::ndarray::s;
use autodiff::prelude::*;

/// The weights `[out, in]` and biases of three layers.
#[derive(Params, Clone)]
pub struct Mlp {
    pub w1: Array2<f32>,
    pub b1: Array1<f32>,
    pub w2: Array2<f32>,
    pub b2: Array1<f32>,
    pub w3: Array2<f32>,
    pub b3: Array1<f32>,
}

impl Mlp {
    /// Zeros for layers of `sizes[0]` inputs, `sizes[1]` and `sizes[2]`
    /// hidden units and `sizes[3]` outputs (initialise them before training).
    pub fn zeros(sizes: [usize; 4]) -> Mlp {
        let layer = |o: usize, i: usize| (Array2::zeros((o, i)), Array1::zeros(o));
        let ((w1, b1), (w2, b2), (w3, b3)) = (
            layer(sizes[1], sizes[0]),
            layer(sizes[2], sizes[1]),
            layer(sizes[3], sizes[2]),
        );
        Mlp { w1, b1, w2, b2, w3, b3 }
    }
}

/// The training loss of a minibatch, with the dropout masks of the two
/// hidden layers (units kept with probability `keep`).
#[differentiable(wrt(model))]
pub fn loss(
    model: &Mlp,
    x: &ArrayRef2<f32>,
    labels: &[usize],
    mask1: &Array2<f32>,
    mask2: &Array2<f32>,
    keep: f32,
) -> f32 {
    let h1 = dropout(&relu(&linear(x, &model.w1, &model.b1)), mask1, keep);
    let h2 = dropout(&relu(&linear(&h1, &model.w2, &model.b2)), mask2, keep);
    cross_entropy(&linear(&h2, &model.w3, &model.b3), labels)
}

/// The logits, without dropout (evaluation).
pub fn logits(model: &Mlp, x: &ArrayRef2<f32>) -> Array2<f32> {
    let h1 = relu(&linear(x, &model.w1, &model.b1));
    let h2 = relu(&linear(&h1, &model.w2, &model.b2));
    linear(&h2, &model.w3, &model.b3)
}

/// Mean cross-entropy and accuracy over a set, 1,000 rows at a time.
pub fn evaluate(model: &Mlp, x: &Array2<f32>, labels: &[usize]) -> (f64, f64) {
    crate::evaluate(labels, 1000, |rows| logits(model, &x.slice(s![rows, ..])))
}
