//! Static activity analysis: no gradient is computed that the result does not
//! need. A probe module records the `need` mask its VJP receives.

use std::cell::RefCell;

use autodiff::prelude::*;

thread_local! {
    static ASKED: RefCell<Vec<[bool; 2]>> = const { RefCell::new(Vec::new()) };
}

/// `probe(a, b) = a ⊙ b`, whose VJP logs which gradients were requested.
fn probe(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a * b
}

fn probe_vjp(
    a: &Array2<f64>,
    b: &Array2<f64>,
    _y: &Array2<f64>,
    g: Array2<f64>,
    need: [bool; 2],
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    ASKED.with(|asked| asked.borrow_mut().push(need));
    (need[0].then(|| &g * b), need[1].then(|| &g * a))
}

fn asked() -> Vec<[bool; 2]> {
    ASKED.with(|asked| asked.take())
}

#[differentiable(wrt(w))]
fn data_times_weight(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    sum(&probe(x, w))
}

#[differentiable(wrt(w))]
fn constant_call(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    // Both probe arguments are data: a constant call, evaluated with no VJP.
    let c = probe(x, x);
    let y = probe(&c, w);
    sum(&y)
}

#[differentiable(wrt(w))]
fn dead_branch(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    // Depends on w but does not reach the output: no backward step.
    let _unused = probe(w, w);
    sum(&probe(w, x))
}

#[test]
fn no_gradient_for_data_inputs() {
    let x = Array2::from_elem((2, 2), 3.0);
    let w = Array2::from_elem((2, 2), 0.5);
    asked();
    let (_, g) = data_times_weight_grad(&x, &w);
    assert_eq!(asked(), vec![[false, true]], "dL/dx must not be requested");
    assert_eq!(g.w, x);

    constant_call_grad(&x, &w);
    assert_eq!(asked(), vec![[false, true]], "one VJP call: the constant call has none");

    dead_branch_grad(&x, &w);
    assert_eq!(asked(), vec![[true, false]], "the dead branch has no VJP call");
}

// Inside a differentiable function used as a module, the caller's mask decides:
// with data `x`, the inner probe is not asked for dL/dx either.
#[differentiable]
fn inner(x: &Array2<f64>, w: &Array2<f64>) -> Array2<f64> {
    probe(x, w)
}

#[differentiable(wrt(w))]
fn outer(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    sum(&inner(x, w))
}

#[test]
fn the_callers_mask_reaches_nested_functions() {
    let x = Array2::from_elem((2, 2), 3.0);
    let w = Array2::from_elem((2, 2), 0.5);
    asked();
    let (_, g) = outer_grad(&x, &w);
    assert_eq!(asked(), vec![[false, true]]);
    assert_eq!(g.w, x);
}

// The linear layer of an MLP with data input: `linear_vjp` gets [false, true, true].
fn counting_linear(x: &Array2<f64>, w: &Array2<f64>) -> Array2<f64> {
    x.dot(&w.t())
}

thread_local! {
    static GEMMS: RefCell<usize> = const { RefCell::new(0) };
}

fn counting_linear_vjp(
    x: &Array2<f64>,
    w: &Array2<f64>,
    _y: &Array2<f64>,
    g: Array2<f64>,
    need: [bool; 2],
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    let gx = need[0].then(|| {
        GEMMS.with(|n| *n.borrow_mut() += 1);
        g.dot(w)
    });
    let gw = need[1].then(|| {
        GEMMS.with(|n| *n.borrow_mut() += 1);
        g.t().dot(x)
    });
    (gx, gw)
}

#[differentiable(wrt(w1, w2))]
fn two_layers(x: &Array2<f64>, labels: &[usize], w1: &Array2<f64>, w2: &Array2<f64>) -> f64 {
    let h = relu(&counting_linear(x, w1));
    cross_entropy(&counting_linear(&h, w2), labels)
}

#[test]
fn backward_gemm_count_matches_hand_written_backprop() {
    // Hand-written backprop of a two-layer MLP does 3 backward GEMMs:
    // dW2 = gᵀ·h, dH = g·W2, dW1 = dHᵀ·x (no dX: x is data).
    let x = Array2::from_elem((4, 3), 0.2);
    let (w1, w2) = (Array2::from_elem((5, 3), 0.1), Array2::from_elem((2, 5), -0.3));
    GEMMS.with(|n| *n.borrow_mut() = 0);
    two_layers_grad(&x, &[0, 1, 1, 0], &w1, &w2);
    assert_eq!(GEMMS.with(|n| *n.borrow()), 3);
}

// The mnist-sized MLP with the runtime's own `linear`: the generated step
// performs exactly the matrix products of hand-written backprop, 2 forward and
// 3 backward (dW2, dH, dW1), and no dX.
#[differentiable(wrt(w1, b1, w2, b2))]
fn mnist_mlp(
    x: &Array2<f32>,
    labels: &[usize],
    w1: &Array2<f32>,
    b1: &Array1<f32>,
    w2: &Array2<f32>,
    b2: &Array1<f32>,
) -> f32 {
    let h = relu(&linear(x, w1, b1));
    cross_entropy(&linear(&h, w2, b2), labels)
}

#[test]
fn the_mnist_step_performs_the_hand_written_gemms() {
    use autodiff::stats::gemm_calls;
    let x = Array2::from_elem((128, 784), 0.01_f32);
    let labels: Vec<usize> = (0..128).map(|i| i % 10).collect();
    let (w1, b1) = (Array2::from_elem((256, 784), 0.01_f32), Array1::zeros(256));
    let (w2, b2) = (Array2::from_elem((10, 256), 0.01_f32), Array1::zeros(10));

    let before = gemm_calls();
    let _ = mnist_mlp_grad(&x, &labels, &w1, &b1, &w2, &b2);
    let generated = gemm_calls() - before;

    let before = gemm_calls();
    let z1 = linear(&x, &w1, &b1);
    let h = relu(&z1);
    let z2 = linear(&h, &w2, &b2);
    let loss = cross_entropy(&z2, &labels);
    let g = cross_entropy_vjp(&z2, &labels, &loss, 1.0, [true, false]).0.unwrap();
    let (g, _, _) = linear_vjp(&h, &w2, &b2, &z2, g, [true, true, true]);
    let g = relu_vjp(&z1, &h, g.unwrap(), [true]).0.unwrap();
    let _ = linear_vjp(&x, &w1, &b1, &z1, g, [false, true, true]);
    let hand_written = gemm_calls() - before;

    assert_eq!(hand_written, 5);
    assert_eq!(generated, hand_written);
}
