//! Run-time misuse of every module gets a message naming the module and the
//! shapes or values, or a defined result; never an index-out-of-bounds panic
//! from inside ndarray, never a silent wrong number.

mod common;

use autodiff::prelude::*;
use common::panic_message as message;

fn a2(r: usize, c: usize) -> Array2<f64> {
    Array2::from_shape_fn((r, c), |(i, j)| (i * c + j) as f64 * 0.1 - 0.3)
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
            "linear: upstream gradient has shape [3, 4], output is [2, 4]",
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
            "matmul: upstream gradient has shape [4, 2], output is [2, 4]",
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
