//! Tutorial 2: the basic modules and their gradients.
//!
//! For each module of the lecture (Linear, ReLU, Duplicate, Add, Max) we write
//! a tiny differentiable function C = Σ r ⊙ module(inputs): its gradient with
//! respect to the module's output is exactly r, so the gradient the macro
//! generates for the inputs is the module's VJP applied to r. We print the
//! inputs, then each gradient next to the lecture's formula, and assert that
//! they are equal.
//!
//! Conventions: the lecture writes Y = W·X with one example per column; the
//! runtime keeps a batch in rows, y = x·wᵀ + b with w stored `[out, in]`,
//! which is the lecture's formula transposed (yᵀ = W·xᵀ + b), so the
//! lecture's dC/dX = Wᵀ·dC/dY becomes dC/dx = dC/dy·w here, and dC/dW =
//! dC/dY·Xᵀ becomes dC/dw = dC/dyᵀ·x. Tutorial 1's x·w stores its weights
//! `[in, out]`, the transpose of Linear's.
//!
//! Run: `cargo run --release --example 02_modules`

use autodiff::ndarray::Dimension;
use autodiff::prelude::*;

#[differentiable(wrt(x, w, b))]
fn through_linear(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>, r: &Array2<f64>) -> f64 {
    sum(&(linear(x, w, b) * r))
}

#[differentiable(wrt(x))]
fn through_relu(x: &Array2<f64>, r: &Array2<f64>) -> f64 {
    sum(&(relu(x) * r))
}

#[differentiable(wrt(x))]
fn through_duplicate(x: &Array2<f64>, r1: &Array2<f64>, r2: &Array2<f64>) -> f64 {
    let (y1, y2) = duplicate(x);
    sum(&(y1 * r1)) + sum(&(y2 * r2))
}

#[differentiable(wrt(x1, x2))]
fn through_add(x1: &Array2<f64>, x2: &Array2<f64>, r: &Array2<f64>) -> f64 {
    sum(&((x1 + x2) * r))
}

#[differentiable(wrt(x1, x2))]
fn through_max(x1: &Array2<f64>, x2: &Array2<f64>, r: &Array2<f64>) -> f64 {
    sum(&(max(x1, x2) * r))
}

/// Prints a generated gradient under its formula, every row, and checks them.
fn show<D: Dimension>(name: &str, generated: &Array<f64, D>, formula: &Array<f64, D>) {
    let diff = (generated - formula).iter().fold(0.0_f64, |m, d| m.max(d.abs()));
    println!("  {name:<7} generated {}", rows(generated));
    println!("  {:<7} formula   {}   (max difference {diff:.0e})", "", rows(formula));
    assert!(diff < 1e-12, "{name}: the generated gradient is not the formula");
}

/// All of a small array on one line, row after row.
fn rows<D: Dimension>(a: &Array<f64, D>) -> String {
    let a = a.view().into_dyn();
    let lines: Vec<String> = match a.ndim() {
        1 => vec![format!("{:6.2}", a)],
        _ => a.outer_iter().map(|row| format!("{row:6.2}")).collect(),
    };
    lines.join(" ")
}

fn main() {
    // Inputs with both signs, a zero, and (for Max) winners on both sides and
    // one tie, so that every rule below has something to show.
    let x = array![[0.8, -0.5, 0.0], [-1.2, 0.3, 2.0]];
    let x2 = array![[0.1, 0.4, 0.0], [-2.0, 1.5, -0.7]];
    let w = array![[0.5, -1.0, 0.25], [1.5, 0.0, -0.5], [-0.75, 0.5, 1.0], [0.2, 0.3, -0.4]];
    let b = array![0.1, -0.2, 0.3, 0.0];
    // r plays the role of dC/dY: the gradient arriving from above.
    let r4 = array![[1.0, -2.0, 0.5, 3.0], [-1.0, 0.5, 2.0, -0.5]];
    let r = array![[1.0, -2.0, 0.5], [3.0, -1.0, 0.5]];
    let r2 = array![[0.25, 1.0, -1.0], [2.0, 0.0, -3.0]];
    println!("Inputs (rows are examples of a batch of 2):");
    println!(
        "  x  = {}\n  x₂ = {}\n  w  = {}\n  b  = {}",
        rows(&x),
        rows(&x2),
        rows(&w),
        rows(&b)
    );
    println!("  r  = {}   (dC/dy for Linear, 2×4)", rows(&r4));
    println!("  r  = {}   (dC/dy for the others, 2×3)", rows(&r));
    println!("  r₂ = {}   (dC/dy₂ for Duplicate)\n", rows(&r2));

    println!("Linear  y = x·wᵀ + b");
    let (_, g) = through_linear_grad(&x, &w, &b, &r4);
    show("dC/dx", &g.x, &r4.dot(&w));
    show("dC/dw", &g.w, &r4.t().dot(&x));
    show("dC/db", &g.b, &r4.sum_axis(Axis(0)));

    println!("\nReLU  dC/dx = dC/dy where x ≥ 0, else 0 (the kink at 0 passes it)");
    let (_, g) = through_relu_grad(&x, &r);
    show(
        "dC/dx",
        &g.x,
        &Array2::from_shape_fn(x.dim(), |ij| if x[ij] >= 0.0 { r[ij] } else { 0.0 }),
    );

    println!("\nDuplicate  y₁ = y₂ = x   ⇒   dC/dx = dC/dy₁ + dC/dy₂");
    let (_, g) = through_duplicate_grad(&x, &r, &r2);
    show("dC/dx", &g.x, &(&r + &r2));

    println!("\nAdd  y = x + x₂   ⇒   dC/dx = dC/dx₂ = dC/dy");
    let (_, g) = through_add_grad(&x, &x2, &r);
    show("dC/dx", &g.x1, &r);
    show("dC/dx₂", &g.x2, &r);

    println!("\nMax  y = max(x, x₂)   ⇒   dC/dy goes to the larger input (to x₂ on a tie)");
    let (_, g) = through_max_grad(&x, &x2, &r);
    let wins = |i: (usize, usize)| x[i] > x2[i];
    let routed: Vec<&str> = x
        .indexed_iter()
        .map(|(i, _)| if wins(i) { "x" } else { "x₂" })
        .collect();
    println!("  the larger input, element by element: {routed:?}");
    show(
        "dC/dx",
        &g.x1,
        &Array2::from_shape_fn(x.dim(), |i| if wins(i) { r[i] } else { 0.0 }),
    );
    show(
        "dC/dx₂",
        &g.x2,
        &Array2::from_shape_fn(x.dim(), |i| if wins(i) { 0.0 } else { r[i] }),
    );
    println!("\nEvery generated gradient equals its formula.");
}
