//! LeNet-5 (LeCun et al. 1998) on 28×28 images, as tutorial 09 trains it:
//! two 5×5 convolutions with max pooling, then three dense layers.

use autodiff::ndarray::s;
use autodiff::prelude::*;

/// The filters and biases of the two convolutions, the weights and biases
/// of the three dense layers.
#[derive(Params, Clone)]
pub struct LeNet5 {
    pub conv1: Array4<f32>,
    pub conv1_b: Array1<f32>,
    pub conv2: Array4<f32>,
    pub conv2_b: Array1<f32>,
    pub fc1: Array2<f32>,
    pub fc1_b: Array1<f32>,
    pub fc2: Array2<f32>,
    pub fc2_b: Array1<f32>,
    pub fc3: Array2<f32>,
    pub fc3_b: Array1<f32>,
}

impl LeNet5 {
    /// Zeros of every shape (initialise them before training).
    pub fn zeros() -> LeNet5 {
        LeNet5 {
            conv1: Array4::zeros((6, 1, 5, 5)),
            conv1_b: Array1::zeros(6),
            conv2: Array4::zeros((16, 6, 5, 5)),
            conv2_b: Array1::zeros(16),
            fc1: Array2::zeros((120, 16 * 5 * 5)),
            fc1_b: Array1::zeros(120),
            fc2: Array2::zeros((84, 120)),
            fc2_b: Array1::zeros(84),
            fc3: Array2::zeros((10, 84)),
            fc3_b: Array1::zeros(10),
        }
    }
}

/// The training loss of a minibatch `x` `[n, 1, 28, 28]`.
#[differentiable(wrt(m))]
pub fn loss(m: &LeNet5, x: &ArrayRef4<f32>, labels: &[usize]) -> f32 {
    let h = max_pool2d(&relu(&conv2d(x, &m.conv1, &m.conv1_b, 1, 2)), 2, 2); // [n, 6, 14, 14]
    let h = max_pool2d(&relu(&conv2d(&h, &m.conv2, &m.conv2_b, 1, 0)), 2, 2); // [n, 16, 5, 5]
    let h = relu(&linear(&flatten(&h), &m.fc1, &m.fc1_b)); // [n, 120]
    let h = relu(&linear(&h, &m.fc2, &m.fc2_b)); // [n, 84]
    cross_entropy(&linear(&h, &m.fc3, &m.fc3_b), labels)
}

/// The same network's logits, for evaluation. (A `#[differentiable]`
/// `logits` called by `loss` would work too, but its VJP runs its forward
/// pass again: a third more work per step.)
pub fn logits(m: &LeNet5, x: &ArrayRef4<f32>) -> Array2<f32> {
    let h = max_pool2d(&relu(&conv2d(x, &m.conv1, &m.conv1_b, 1, 2)), 2, 2);
    let h = max_pool2d(&relu(&conv2d(&h, &m.conv2, &m.conv2_b, 1, 0)), 2, 2);
    let h = relu(&linear(&flatten(&h), &m.fc1, &m.fc1_b));
    let h = relu(&linear(&h, &m.fc2, &m.fc2_b));
    linear(&h, &m.fc3, &m.fc3_b)
}

/// Rows of `[N, 784]` pixels as images `[N, 1, 28, 28]`.
pub fn images(rows: Array2<f32>) -> Array4<f32> {
    let n = rows.nrows();
    rows.into_shape_with_order((n, 1, 28, 28)).expect("784 pixels per row")
}

/// Mean cross-entropy and accuracy over a large set, 500 images at a time
/// (each chunk a view: no copy).
pub fn evaluate(model: &LeNet5, x: &Array4<f32>, labels: &[usize]) -> (f64, f64) {
    crate::evaluate(labels, 500, |rows| logits(model, &x.slice(s![rows, .., .., ..])))
}
