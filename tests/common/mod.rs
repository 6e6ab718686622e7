//! Helpers shared by the integration tests: random inputs, gradient checks,
//! and the MLP of the crate's first example.
#![allow(dead_code)]

use autodiff::gradcheck::{Tolerance, gradcheck};
use autodiff::ndarray::{Array, ArrayD, ArrayViewD, Dimension, IntoDimension};
use autodiff::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Uniform values in [-3, 3) from a fixed seed.
pub fn random<D: Dimension>(shape: impl IntoDimension<Dim = D>, seed: u64) -> Array<f64, D> {
    let mut rng = StdRng::seed_from_u64(seed);
    Array::from_shape_simple_fn(shape, || rng.random_range(-3.0..3.0))
}

pub fn d1(a: &ArrayD<f64>) -> Array1<f64> {
    a.clone().into_dimensionality().expect("rank 1")
}

pub fn d2(a: &ArrayD<f64>) -> Array2<f64> {
    a.clone().into_dimensionality().expect("rank 2")
}

/// Asserts that `grads` (the generated gradients) match central differences of
/// `f` at `inputs`, with the default tight f64 tolerances.
pub fn assert_gradients(f: impl Fn(&[ArrayD<f64>]) -> f64, inputs: &[ArrayD<f64>], grads: &[ArrayD<f64>]) {
    if let Err(e) = gradcheck(f, inputs, grads, Tolerance::default()) {
        panic!("generated gradient disagrees with finite differences: {e}");
    }
}

/// Asserts that `grad` (a model of gradients) matches central differences of
/// `f` at `model`, tensor by tensor in visiting order.
pub fn assert_model_gradient<M: autodiff::Params<Elem = f64> + Clone>(f: impl Fn(&M) -> f64, model: &M, grad: &M) {
    let inputs: Vec<ArrayD<f64>> = model.views().into_iter().map(|v| v.to_owned()).collect();
    let grads: Vec<ArrayD<f64>> = grad.views().into_iter().map(|v| v.to_owned()).collect();
    let rebuild = |values: &[ArrayD<f64>]| {
        let mut m = model.clone();
        let mut next = values.iter();
        m.visit_mut(&mut |_, mut view| view.assign(next.next().expect("one value per tensor")));
        m
    };
    assert_gradients(|v| f(&rebuild(v)), &inputs, &grads);
}

/// The message `f` panics with, without the default hook's report on stderr.
/// Panics if `f` returns.
pub fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    let e = caught.expect_err("the call panics");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

// The MLP of the crate's first example: linear → relu → linear → cross-entropy.
#[differentiable(wrt(w1, b1, w2, b2))]
pub fn mlp_loss(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
) -> f64 {
    let h = linear(x, w1, b1);
    let a = relu(&h);
    let z = linear(&a, w2, b2);
    cross_entropy(&z, labels)
}

/// Every tensor of an f32 gradient agrees with the f64 one (same shapes,
/// each value within `tolerance` times the larger of 1 and the f64 value).
pub fn assert_f32_agrees(g32: &[ArrayViewD<f32>], g64: &[ArrayViewD<f64>], tolerance: f64) {
    assert_eq!(g32.len(), g64.len(), "as many f32 tensors as f64 ones");
    for (k, (a, b)) in g32.iter().zip(g64).enumerate() {
        assert_eq!(a.shape(), b.shape(), "tensor {k}: shapes");
        for (x, y) in a.iter().zip(b) {
            assert!(
                (f64::from(*x) - y).abs() <= tolerance * y.abs().max(1.0),
                "tensor {k}: f32 {x} against f64 {y}"
            );
        }
    }
}

/// [`assert_f32_agrees`] for every tensor of two models' gradients.
pub fn assert_f32_model_agrees<A: Params<Elem = f32>, B: Params<Elem = f64>>(g32: &A, g64: &B, tolerance: f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    g32.visit(&mut |_, v| a.push(v));
    g64.visit(&mut |_, v| b.push(v));
    assert!(!a.is_empty(), "the models have tensors");
    assert_f32_agrees(&a, &b, tolerance);
}
