//! Run-time misuse of every module gets a message naming the module and the
//! shapes or values, or a defined result; never an index-out-of-bounds panic
//! from inside ndarray, never a silent wrong number.

mod common;

use autodiff::prelude::*;
use common::panic_message as message;

fn a2(r: usize, c: usize) -> Array2<f64> {
    Array2::from_shape_fn((r, c), |(i, j)| (i * c + j) as f64 * 0.1 - 0.3)
}

fn a4(shape: [usize; 4]) -> Array4<f64> {
    let n = shape.iter().product::<usize>() as f64;
    Array4::from_shape_fn(shape, |(i, j, k, l)| ((i * 7 + j * 5 + k * 3 + l) as f64 / n) - 0.5)
}

type Case = (&'static str, Box<dyn FnOnce() + std::panic::UnwindSafe>);

#[test]
fn misuse_is_reported_with_the_module_and_the_shapes() {
    let cases: Vec<Case> = vec![
        (
            "linear: x has shape [2, 3] but w has shape [4, 5]",
            Box::new(|| {
                linear(&a2(2, 3), &a2(4, 5), &Array1::zeros(4));
            }),
        ),
        (
            "linear: w has shape [4, 3] but b has shape [5]",
            Box::new(|| {
                linear(&a2(2, 3), &a2(4, 3), &Array1::zeros(5));
            }),
        ),
        (
            "linear: upstream gradient has shape [3, 4], output has shape [2, 4]",
            Box::new(|| {
                let (x, w, b) = (a2(2, 3), a2(4, 3), Array1::zeros(4));
                let y = linear(&x, &w, &b);
                linear_vjp(&x, &w, &b, &y, a2(3, 4), [true, true, true]);
            }),
        ),
        (
            "matmul: a has shape [2, 3] but b has shape [4, 2]",
            Box::new(|| {
                matmul(&a2(2, 3), &a2(4, 2));
            }),
        ),
        (
            "matmul: upstream gradient has shape [4, 2], output has shape [2, 4]",
            Box::new(|| {
                let (a, b) = (a2(2, 3), a2(3, 4));
                let y = matmul(&a, &b);
                matmul_vjp(&a, &b, &y, a2(4, 2), [true, true]);
            }),
        ),
        (
            "cross_entropy: input has shape [2, 3] but there are 3 labels",
            Box::new(|| {
                cross_entropy(&a2(2, 3), &[0, 1, 2]);
            }),
        ),
        (
            "cross_entropy: label 3 is out of range for input of shape [2, 3]",
            Box::new(|| {
                cross_entropy(&a2(2, 3), &[0, 3]);
            }),
        ),
        (
            "cross_entropy: input has shape [0, 3]: the batch is empty",
            Box::new(|| {
                cross_entropy(&a2(0, 3), &[]);
            }),
        ),
        (
            "nll_loss: label 3 is out of range for input of shape [2, 3]",
            Box::new(|| {
                nll_loss(&a2(2, 3), &[0, 3]);
            }),
        ),
        (
            "mse_loss: prediction has shape [2, 3] but target has shape [3, 2]",
            Box::new(|| {
                mse_loss(&a2(2, 3), &a2(3, 2));
            }),
        ),
        (
            "mse_loss: empty input of shape [0, 3]",
            Box::new(|| {
                mse_loss(&a2(0, 3), &a2(0, 3));
            }),
        ),
        (
            "mean: empty input of shape [0, 3]",
            Box::new(|| {
                mean(&a2(0, 3));
            }),
        ),
        (
            "add: shapes [2, 3] and [4] cannot be broadcast together",
            Box::new(|| {
                add(&a2(2, 3), &Array1::<f64>::zeros(4));
            }),
        ),
        (
            "max: shapes [2, 3] and [3, 2] cannot be broadcast together",
            Box::new(|| {
                max(&a2(2, 3), &a2(3, 2));
            }),
        ),
        (
            "dropout: x has shape [2, 3] but mask has shape [3, 2]",
            Box::new(|| {
                dropout(&a2(2, 3), &a2(3, 2), 0.5);
            }),
        ),
        (
            "dropout: keep probability p = 0 is outside (0, 1]",
            Box::new(|| {
                dropout(&a2(2, 3), &a2(2, 3), 0.0);
            }),
        ),
        (
            "relu: upstream gradient has shape [3, 2], input has shape [2, 3]",
            Box::new(|| {
                let x = a2(2, 3);
                relu_vjp(&x, &relu(&x), a2(3, 2), [true]);
            }),
        ),
        (
            "add: upstream gradient has shape [3, 2], output has shape [2, 3]",
            Box::new(|| {
                let x = a2(2, 3);
                add_vjp(&x, &x, &add(&x, &x), a2(3, 2), [true, true]);
            }),
        ),
        (
            "softmax: upstream gradient has shape [3, 2], input has shape [2, 3]",
            Box::new(|| {
                let x = a2(2, 3);
                softmax_vjp(&x, &softmax(&x), a2(3, 2), [true]);
            }),
        ),
        (
            "conv2d: x has shape [2, 3, 8, 8] (3 channels) but w has shape [4, 1, 3, 3] (1 input channels)",
            Box::new(|| {
                conv2d(&a4([2, 3, 8, 8]), &a4([4, 1, 3, 3]), &Array1::zeros(4), 1, 0);
            }),
        ),
        (
            "conv2d: w has shape [4, 3, 3, 3] but b has shape [3]; b must be [4]",
            Box::new(|| {
                conv2d(&a4([2, 3, 8, 8]), &a4([4, 3, 3, 3]), &Array1::zeros(3), 1, 0);
            }),
        ),
        (
            "conv2d: the 9×9 kernel of w [1, 1, 9, 9] does not fit the 8×8 input of x [1, 1, 8, 8] with padding 0",
            Box::new(|| {
                conv2d(&a4([1, 1, 8, 8]), &a4([1, 1, 9, 9]), &Array1::zeros(1), 1, 0);
            }),
        ),
        (
            "conv2d: stride must be at least 1",
            Box::new(|| {
                conv2d(&a4([1, 1, 8, 8]), &a4([1, 1, 3, 3]), &Array1::zeros(1), 0, 0);
            }),
        ),
        (
            "conv2d: upstream gradient has shape [1, 1, 5, 5], output has shape [1, 1, 6, 6]",
            Box::new(|| {
                let (x, w, b) = (a4([1, 1, 8, 8]), a4([1, 1, 3, 3]), Array1::zeros(1));
                let y = conv2d(&x, &w, &b, 1, 0);
                conv2d_vjp(&x, &w, &b, 1, 0, &y, a4([1, 1, 5, 5]), [true, true, true, false, false]);
            }),
        ),
        (
            "max_pool2d: the 3×3 window does not fit the 2×2 input of x [1, 1, 2, 2]",
            Box::new(|| {
                max_pool2d(&a4([1, 1, 2, 2]), 3, 1);
            }),
        ),
        (
            "avg_pool2d: the 4×4 window does not fit the 8×3 input of x [1, 2, 8, 3]",
            Box::new(|| {
                avg_pool2d(&a4([1, 2, 8, 3]), 4, 4);
            }),
        ),
        (
            "embedding: id 7 at position 2 is out of range for a table of shape [5, 3] (5 rows)",
            Box::new(|| {
                embedding(&[0, 4, 7], &a2(5, 3));
            }),
        ),
        (
            "reshape: x has shape [2, 3] (6 elements), which cannot become shape [5] (5 elements)",
            Box::new(|| {
                let _: Array1<f64> = reshape(&a2(2, 3), 5);
            }),
        ),
        (
            "concat: a has shape [2, 3] but b has shape [3, 2]; they must agree on every axis but 1",
            Box::new(|| {
                concat(&a2(2, 3), &a2(3, 2), 1);
            }),
        ),
        (
            "batch_norm: x has shape [4, 3] (3 channels) but gamma has shape [4] and beta [4]; both must be [3]",
            Box::new(|| {
                batch_norm(&a2(4, 3), &Array1::ones(4), &Array1::zeros(4), 1e-5);
            }),
        ),
        (
            "batch_norm: x has shape [0, 3]: no elements to take statistics of",
            Box::new(|| {
                batch_norm(&a2(0, 3), &Array1::ones(3), &Array1::zeros(3), 1e-5);
            }),
        ),
        (
            "layer_norm: x has shape [4, 3] (last axis 3) but gamma has shape [2] and beta [3]; both must be [3]",
            Box::new(|| {
                layer_norm(&a2(4, 3), &Array1::ones(2), &Array1::zeros(3), 1e-5);
            }),
        ),
        (
            "flatten: x is a scalar (shape []); it needs a batch axis",
            Box::new(|| {
                flatten(&ndarray::arr0(1.0));
            }),
        ),
    ];
    for (expected, f) in cases {
        let got = message(f);
        assert!(got.contains(expected), "expected {expected:?}, got {got:?}");
    }
}

#[test]
fn edge_cases_have_defined_results() {
    // Rows of no classes: softmax and log-softmax of nothing are nothing.
    assert_eq!(softmax(&a2(2, 0)).dim(), (2, 0));
    assert_eq!(log_softmax(&a2(2, 0)).dim(), (2, 0));
    // An empty batch through the convolutional modules is an empty batch.
    let empty = Array4::<f64>::zeros((0, 1, 6, 6));
    let y = conv2d(&empty, &a4([2, 1, 3, 3]), &Array1::zeros(2), 1, 0);
    assert_eq!(y.shape(), &[0, 2, 4, 4]);
    assert_eq!(max_pool2d(&y, 2, 2).shape(), &[0, 2, 2, 2]);
    assert_eq!(flatten(&y).dim(), (0, 32));
    let (gx, gw, gb, _, _) = conv2d_vjp(
        &empty,
        &a4([2, 1, 3, 3]),
        &Array1::zeros(2),
        1,
        0,
        &y,
        y.clone(),
        [true; 5],
    );
    assert_eq!(
        (gx.unwrap().shape(), gw.unwrap()),
        (&[0, 1, 6, 6][..], Array4::zeros((2, 1, 3, 3)))
    );
    assert_eq!(gb.unwrap(), Array1::<f64>::zeros(2));
    // No ids: an empty embedding, and a zero gradient for the table.
    let table = a2(4, 3);
    let y = embedding(&[], &table);
    assert_eq!(y.dim(), (0, 3));
    assert_eq!(
        embedding_vjp(&[], &table, &y, y.clone(), [false, true]).1.unwrap(),
        Array2::<f64>::zeros((4, 3))
    );
    // A workspace shared by functions of different shapes hands each the
    // arrays it needs.
    let mut ws = Workspace::new();
    for (r, c) in [(2, 3), (5, 7), (2, 3), (1, 1)] {
        let (x, w) = (a2(r, c), a2(4, c));
        let y = ws.run(|| linear(&x, &w, &Array1::zeros(4)));
        assert_eq!(y, linear(&x, &w, &Array1::zeros(4)));
        ws.recycle(y);
    }
}
