//! Tutorial 2: the basic modules and their gradients.
//!
//! For each module of the lecture (Linear, ReLU, Duplicate, Add, Max) we write
//! a tiny differentiable function C = Σ r ⊙ module(inputs): its gradient with
//! respect to the module's output is exactly r, so the gradient the macro
//! generates for the inputs is the module's VJP applied to r. We print it next
//! to the lecture's formula.
//!
//! Run: `cargo run --release --example 02_modules`

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

fn show(name: &str, generated: &Array2<f64>, formula: &Array2<f64>) {
    let diff = (generated - formula).iter().fold(0.0_f64, |m, d| m.max(d.abs()));
    println!("  {name:<10} generated {:.3}", generated.row(0));
    println!(
        "  {:<10} formula   {:.3}   (max difference {diff:.0e})",
        "",
        formula.row(0)
    );
    assert!(diff < 1e-12);
}

fn main() {
    let grid =
        |rows, cols, phase: f64| Array2::from_shape_fn((rows, cols), |(i, j)| ((i * cols + j) as f64 + phase).sin());
    let (x, w, b) = (
        grid(2, 3, 0.0),
        grid(4, 3, 1.0),
        Array1::from_vec(vec![0.1, -0.2, 0.3, 0.0]),
    );
    let r = grid(2, 4, 2.0); // plays the role of dC/dY

    println!("Linear  Y = X·Wᵀ + b   (first row shown)");
    let (_, g) = through_linear_grad(&x, &w, &b, &r);
    show("dC/dX", &g.x, &r.dot(&w));
    show("dC/dW", &g.w, &r.t().dot(&x));
    println!(
        "  {:<10} generated {:.3}\n  {:<10} formula   {:.3}",
        "dC/db",
        g.b,
        "",
        r.sum_axis(Axis(0))
    );

    println!("\nReLU  dC/dX = dC/dY where X ≥ 0, else 0");
    let r = grid(2, 3, 3.0);
    let (_, g) = through_relu_grad(&x, &r);
    show(
        "dC/dX",
        &g.x,
        &Array2::from_shape_fn(x.dim(), |ij| if x[ij] >= 0.0 { r[ij] } else { 0.0 }),
    );
    println!("  (x = {:.3})", x.row(0));

    println!("\nDuplicate  Y₁ = Y₂ = X   ⇒   dC/dX = dC/dY₁ + dC/dY₂");
    let r2 = grid(2, 3, 4.0);
    let (_, g) = through_duplicate_grad(&x, &r, &r2);
    show("dC/dX", &g.x, &(&r + &r2));

    println!("\nAdd  Y = X₁ + X₂   ⇒   dC/dX₁ = dC/dX₂ = dC/dY");
    let x2 = grid(2, 3, 5.0);
    let (_, g) = through_add_grad(&x, &x2, &r);
    show("dC/dX₁", &g.x1, &r);
    show("dC/dX₂", &g.x2, &r);

    println!("\nMax  Y = max(X₁, X₂)   ⇒   dC/dX₁ = dC/dY where X₁ > X₂, else 0");
    let (_, g) = through_max_grad(&x, &x2, &r);
    let wins = |i: (usize, usize)| x[i] > x2[i];
    show(
        "dC/dX₁",
        &g.x1,
        &Array2::from_shape_fn(x.dim(), |i| if wins(i) { r[i] } else { 0.0 }),
    );
    show(
        "dC/dX₂",
        &g.x2,
        &Array2::from_shape_fn(x.dim(), |i| if wins(i) { 0.0 } else { r[i] }),
    );
    println!("\nEvery generated gradient equals its formula.");
}
