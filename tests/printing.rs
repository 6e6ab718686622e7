//! Printing macros and assertions may read active values: they run in the
//! forward pass of `NAME_grad`, see the values under their own names (a float
//! by value, an array by reference), and get no gradient code.

mod common;

use std::cell::RefCell;
use std::fmt::Write as _;

use autodiff::prelude::*;
use common::{assert_gradients, d2, panic_message, random};

#[differentiable(wrt(w))]
fn logged(x: &Array2<f64>, w: &Array2<f64>, log: &RefCell<String>) -> f64 {
    let mut h = matmul(x, w);
    for step in 0..2 {
        h = tanh(&h);
        let total = sum(&h);
        writeln!(log.borrow_mut(), "step {step}: sum {total:.6}, shape {:?}", h.shape()).unwrap();
    }
    let loss = mean(&(&h * &h));
    assert!(loss >= 0.0, "a mean of squares is never negative: {loss}");
    debug_assert_eq!(h.nrows(), x.nrows());
    write!(log.borrow_mut(), "loss {loss:.6}").unwrap();
    loss
}

#[test]
fn macros_see_the_forward_values() {
    let (x, w) = (random((4, 3), 1), random((3, 2), 2));
    let log = RefCell::new(String::new());
    let (value, grad) = logged_grad(&x, &w, &log);
    let mut expected = String::new();
    let mut h = x.dot(&w);
    for step in 0..2 {
        h = h.mapv(f64::tanh);
        writeln!(expected, "step {step}: sum {:.6}, shape {:?}", h.sum(), h.shape()).unwrap();
    }
    write!(expected, "loss {value:.6}").unwrap();
    assert_eq!(*log.borrow(), expected);
    let quiet = RefCell::new(String::new());
    assert_gradients(
        |v| logged(&x, &d2(&v[0]), &quiet),
        &[w.clone().into_dyn()],
        &[grad.w.into_dyn()],
    );
}

#[differentiable(wrt(w))]
fn checked(w: &Array1<f64>) -> f64 {
    let s = sum(w);
    assert!(s < 10.0, "the sum {s} is too large");
    s * s
}

#[test]
fn an_assertion_on_an_active_value_fails_in_the_forward_pass() {
    assert_eq!(checked_grad(&Array1::from_elem(3, 1.0)).0, 9.0);
    let message = panic_message(|| {
        checked_grad(&Array1::from_elem(3, 5.0));
    });
    assert_eq!(message, "the sum 15 is too large");
}

/// Used as a module, the function prints once per forward pass of the
/// caller: its VJP, which recomputes the forward pass, does not print again.
#[differentiable(wrt(w))]
fn inner(w: &Array1<f64>, log: &RefCell<String>) -> Array1<f64> {
    let h = tanh(w);
    writeln!(log.borrow_mut(), "inner {:.3}", h[0]).unwrap();
    h
}

#[differentiable(wrt(w))]
fn outer(w: &Array1<f64>, log: &RefCell<String>) -> f64 {
    sum(&inner(w, log))
}

#[test]
fn a_module_prints_in_the_forward_pass_only() {
    let log = RefCell::new(String::new());
    outer_grad(&Array1::from_elem(2, 0.5), &log);
    assert_eq!(*log.borrow(), "inner 0.462\n");
}
