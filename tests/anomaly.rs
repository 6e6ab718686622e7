//! Anomaly mode: the first module call whose forward output or gradient is
//! not finite stops the step, naming the module and the line of the call.
//!
//! One test function: the switch is global to the process.

mod common;

use autodiff::prelude::*;
use common::panic_message;

#[differentiable(wrt(z))]
fn naive_cross_entropy(z: &Array2<f64>, labels: &[usize]) -> f64 {
    let p = softmax(z);
    nll_loss(&log(&p), labels)
}

#[differentiable(wrt(z))]
fn fused_cross_entropy(z: &Array2<f64>, labels: &[usize]) -> f64 {
    cross_entropy(z, labels)
}

#[differentiable(wrt(a, b))]
fn ratio(a: &Array1<f32>, b: &Array1<f32>) -> f32 {
    let r = a / b;
    sum(&r)
}

/// `file:line:column` of the first occurrence of `code` in this file.
fn location_of(code: &str) -> String {
    let source = include_str!("anomaly.rs");
    let (line, text) = source
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(code))
        .expect("the code is in this file");
    let column = text.find(code).expect("on its line") + 1;
    format!("tests/anomaly.rs:{}:{column}", line + 1)
}

#[test]
fn anomaly_mode_names_the_module_and_the_line() {
    // Logits far apart: softmax's smaller probability underflows to 0.
    let z = Array2::from_shape_vec((2, 2), vec![0.0, 800.0, 1.0, 2.0]).unwrap();
    let labels = [0, 1];

    // Off (the default): the infinity flows through, as it would without the mode.
    assert!(!autodiff::anomaly::enabled());
    let (value, _) = naive_cross_entropy_grad(&z, &labels);
    assert!(value.is_infinite(), "{value}");

    autodiff::anomaly::set_enabled(true);
    // On: stopped at the first non-finite forward output, `log` of a 0.
    let message = panic_message(|| {
        naive_cross_entropy_grad(&z, &labels);
    });
    let expected = format!(
        "the forward output of `log` at {} contains -inf at [0, 0] (1 of 4 values are not finite)",
        location_of("log(&p)")
    );
    assert!(message.contains(&expected), "{message}\nexpected: {expected}");
    // The same step written with the fused module is finite everywhere.
    let (value, g) = fused_cross_entropy_grad(&z, &labels);
    assert!(value.is_finite() && g.z.iter().all(|v| v.is_finite()));

    // A finite forward pass with an infinite gradient: ∂(a/b)/∂b = −a/b²
    // overflows f32 where a/b does not.
    let (a, b) = (Array1::from(vec![1e-20f32, 1.0]), Array1::from(vec![1e-30f32, 2.0]));
    let message = panic_message(|| {
        ratio_grad(&a, &b);
    });
    let expected = format!(
        "the gradient that `div_vjp` sends to argument 1 at {} contains -inf at [0]",
        location_of("a / b")
    );
    assert!(message.contains(&expected), "{message}\nexpected: {expected}");

    autodiff::anomaly::set_enabled(false);
    let (value, g) = ratio_grad(&a, &b);
    assert!(value.is_finite() && g.b[0].is_infinite());
}
