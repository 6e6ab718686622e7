//! Tutorial 1: backpropagation is a product of Jacobians.
//!
//! The lecture's concrete example: a cost C(y, ȳ) on top of a function
//! ȳ = G(x, w). By the chain rule
//!
//! ```text
//!     ∂C/∂w  =  ∂C/∂ȳ  ·  ∂ȳ/∂w
//!     (1×N)     (1×M)     (M×N)
//! ```
//!
//! where N is the number of weights and M the number of outputs of G. This
//! program builds both factors explicitly, prints them, multiplies them, and
//! compares the product with the gradient that `#[differentiable]` generates.
//!
//! The generated code never builds a Jacobian. Reverse mode starts from the
//! row vector ∂C/∂C = 1 at the cost and multiplies it by one Jacobian after
//! another, left to right in the product above: 1 · ∂C/∂ȳ gives a 1×M row,
//! and that row times ∂ȳ/∂w gives the 1×N gradient, each step a
//! vector-Jacobian product (VJP) that a module computes without forming its
//! Jacobian. Going right to left instead, starting from ∂ȳ/∂w, is forward
//! mode: it carries whole Jacobians (here M×N) instead of one row.
//!
//! The Jacobian ∂ȳ/∂w printed below also shows why VJPs pay: output i of
//! sigmoid(x·w) depends only on column i of w, so all but K of each row's N
//! entries are zero. A VJP skips them without ever storing them.
//!
//! Run: `cargo run --release --example 01_jacobians`

use autodiff::prelude::*;

/// G(x, w) = sigmoid(x·w): one input row x [1, K], weights w [K, M], output ȳ [1, M].
#[differentiable(wrt(w))]
fn g(x: &Array2<f64>, w: &Array2<f64>) -> Array2<f64> {
    sigmoid(&matmul(x, w))
}

/// C(G(x, w)): the mean squared error between ȳ and a target y.
#[differentiable(wrt(w))]
fn cost(x: &Array2<f64>, y: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let y_bar = g(x, w);
    mse_loss(&y_bar, y)
}

fn main() {
    let (k, m) = (4, 3);
    let n = k * m; // number of weights
    let x = Array2::from_shape_fn((1, k), |(_, j)| 0.5 - 0.3 * j as f64);
    let w = Array2::from_shape_fn((k, m), |(i, j)| ((i * m + j) as f64 * 0.7).sin());
    let y = Array2::from_shape_vec((1, m), vec![1.0, 0.0, 0.5]).expect("three targets");

    // Forward.
    let y_bar = g(&x, &w);
    let c = mse_loss(&y_bar, &y);

    // Every module `f` comes with `f_vjp(inputs.., &output, upstream, need)`:
    // its inputs, the output the forward pass returned, the upstream
    // gradient ∂C/∂output (by value), and `need`, one flag per input saying
    // which input gradients to compute. It returns one `Option` per input.
    //
    // Factor 1: ∂C/∂ȳ, a 1×M row: the VJP of the cost with upstream ∂C/∂C = 1
    // (need: the gradient for ȳ, none for the target y).
    let (dc_dybar, _) = mse_loss_vjp(&y_bar, &y, &c, 1.0, [true, false]);
    let dc_dybar = dc_dybar.expect("requested").into_shape_with_order((1, m)).expect("1×M");

    // Factor 2: ∂ȳ/∂w, an M×N matrix. A VJP with upstream eᵢ (the i-th unit
    // row) returns eᵢᵀ·J, the i-th row of the Jacobian; `g_vjp` is the VJP that
    // `#[differentiable]` generated for `g`, since `g` is a module too (need:
    // no gradient for x, the gradient for w).
    let mut dybar_dw = Array2::<f64>::zeros((m, n));
    for i in 0..m {
        let mut e_i = Array2::<f64>::zeros((1, m));
        e_i[[0, i]] = 1.0;
        let (_, row) = g_vjp(&x, &w, &y_bar, e_i, [false, true]);
        let row = row.expect("requested").into_shape_with_order(n).expect("N weights");
        dybar_dw.row_mut(i).assign(&row);
    }

    // Their product, and the generated gradient.
    let product = dc_dybar.dot(&dybar_dw);
    let (_, generated) = cost_grad(&x, &y, &w);
    let generated = generated.w.into_shape_with_order((1, n)).expect("1×N");

    println!("C(G(x, w)) = {c:.6}   (K = {k} inputs, M = {m} outputs, N = K·M = {n} weights)\n");
    println!("∂C/∂ȳ  is {:?}   (1×M)", dc_dybar.dim());
    println!("∂ȳ/∂w  is {:?}   (M×N)", dybar_dw.dim());
    println!("∂C/∂w  is {:?}   (1×N)\n", product.dim());
    println!("∂C/∂ȳ = {:.4}\n", dc_dybar.row(0));
    println!("∂ȳ/∂w, with the weights w[k][j] in row-major order (· is exactly zero):");
    for i in 0..m {
        let row: Vec<String> = dybar_dw
            .row(i)
            .iter()
            .map(|&v| {
                if v == 0.0 {
                    "    ·  ".to_string()
                } else {
                    format!("{v:7.4}")
                }
            })
            .collect();
        println!("  ȳ{i}: {}", row.join(" "));
    }
    let nonzero = dybar_dw.iter().filter(|&&v| v != 0.0).count();
    println!(
        "{nonzero} of its {} entries are nonzero: output j depends only on column j of w\n",
        m * n
    );
    assert_eq!(nonzero, m * k, "each output depends on K weights");
    println!("∂C/∂ȳ · ∂ȳ/∂w      = {:.6}", product.row(0));
    println!("generated cost_grad = {:.6}", generated.row(0));
    let max_diff = (&product - &generated).iter().fold(0.0_f64, |m, d| m.max(d.abs()));
    println!("\nlargest difference: {max_diff:.1e}");
    assert!(
        max_diff < 1e-12,
        "the generated gradient is the product of the Jacobians"
    );
}
