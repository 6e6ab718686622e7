//! The generated code must not depend on names in the user's scope: it names
//! the standard library through `::core` and the runtime through
//! `::autodiff::__private`, and its locals cannot collide with the user's.
#![allow(dead_code, non_camel_case_types)]

use ::autodiff::prelude::*;

// Shadow the prelude names generated code might reach for.
struct Option;
struct Some;
struct None;
struct Result;
struct Box;
struct Clone;
mod core {}
mod autodiff {}

// A local `relu` that is not the runtime's: twice the ReLU, with its own VJP.
// The generated code must call these, not the runtime's.
fn relu(x: &Array1<f64>) -> Array1<f64> {
    x.mapv(|v| if v > 0.0 { 2.0 * v } else { 0.0 })
}

fn relu_vjp(
    x: &Array1<f64>,
    _y: &Array1<f64>,
    g: Array1<f64>,
    need: [bool; 1],
) -> (::core::option::Option<Array1<f64>>,) {
    let d = x.mapv(|v| if v > 0.0 { 2.0 } else { 0.0 });
    (need[0].then(|| g * &d),)
}

// Parameters and bindings named like generated locals.
#[differentiable(wrt(__v0, __g1))]
fn clashing_names(__v0: &Array1<f64>, __g1: &Array1<f64>, __need: f64) -> f64 {
    let __c1_0 = relu(__v0);
    let __gout = __c1_0 * __g1;
    sum(&__gout) * __need
}

#[test]
fn generated_code_is_hygienic() {
    let a = ndarray::arr1(&[1.0, -2.0, 3.0]);
    let b = ndarray::arr1(&[0.5, 0.25, -1.0]);
    let (value, g) = clashing_names_grad(&a, &b, 2.0);
    assert_eq!(value, clashing_names(&a, &b, 2.0));
    // d/da Σ 2·relu2(a)·b = 2·b·relu2'(a), with relu2' = 2 where a > 0.
    assert_eq!(g.__v0, ndarray::arr1(&[2.0, 0.0, -4.0]));
    assert_eq!(g.__g1, ndarray::arr1(&[4.0, 0.0, 12.0]));
}

use ::autodiff::ndarray;
