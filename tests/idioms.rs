//! ndarray's own methods on active values, each differentiated as the module
//! it means: `.clone()`, `.t()`, `.dot()`, `.slice(s![..])`, `.sum()`,
//! `.mean()`, `.sum_axis()`, `.mean_axis()`, and on arrays and scalars
//! `.sqrt()`, `.exp()`, `.ln()`, `.powi()`, `.powf()`, `.abs()`, `.tanh()`,
//! `.max()`.

mod common;

use autodiff::prelude::*;
use common::{assert_gradients, d2, random};

/// Every array idiom once, composed.
#[differentiable(wrt(w))]
fn arrays(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let h = x.dot(w);
    let k = h.clone();
    let t = h.t();
    let first = t.slice(s![0..2, ..]);
    let rows = first.sum_axis(Axis(1));
    let cols = k.mean_axis(Axis(0)).unwrap();
    let m = k.mean().unwrap();
    let e = (h.abs() + 1.0).sqrt().ln() + cols.exp().sum() * 0.1;
    rows.sum() + m * e.sum() + k.powi(3).sum() * 0.01 + (&k * &k + 1.0).powf(0.5).tanh().sum()
}

/// The scalar idioms, on a scalar computed from the parameter.
#[differentiable(wrt(w))]
fn scalars(w: &Array1<f64>) -> f64 {
    let s = sum(w);
    let a = (s * s + 1.0).sqrt();
    let b = s.exp().ln() + s.abs() + s.tanh() + s.powi(2) + a.powf(1.5);
    b.max(a * 2.0)
}

#[test]
fn array_idioms_match_finite_differences() {
    let (x, w) = (random((5, 3), 1), random((3, 4), 2));
    let (value, grad) = arrays_grad(&x, &w);
    assert!((value - arrays(&x, &w)).abs() < 1e-12 * value.abs().max(1.0));
    assert_gradients(
        |v| arrays(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[grad.w.into_dyn()],
    );
}

#[test]
fn scalar_idioms_match_finite_differences() {
    for seed in 0..4 {
        let w = random(3, 10 + seed) * 0.5;
        let (value, grad) = scalars_grad(&w);
        assert!((value - scalars(&w)).abs() < 1e-12 * value.abs().max(1.0));
        let w1 = |v: &ArrayD<f64>| v.clone().into_dimensionality::<Ix1>().expect("rank 1");
        assert_gradients(|v| scalars(&w1(&v[0])), &[w.clone().into_dyn()], &[grad.w.into_dyn()]);
    }
}

/// The same methods on constants stay as written: `x.t()` of a constant is
/// ndarray's view, `n.max(1)` is `usize::max`.
#[differentiable(wrt(w))]
fn constants(x: &Array2<f64>, w: &Array2<f64>, k: usize) -> f64 {
    let xt = x.t();
    let n = k.max(1);
    let scale = x.sum().abs().sqrt();
    sum(&matmul(&xt, w)) * scale / n as f64
}

#[test]
fn methods_of_constants_are_kept_as_written() {
    let (x, w) = (random((3, 5), 3), random((3, 2), 4));
    let (value, grad) = constants_grad(&x, &w, 0);
    assert_eq!(value, constants(&x, &w, 0));
    assert_gradients(
        |v| constants(&x, &d2(&v[0]), 0),
        &[w.clone().into_dyn()],
        &[grad.w.into_dyn()],
    );
}

/// One definition for f32 and f64.
#[differentiable(wrt(w))]
fn generic<F: Float>(x: &Array2<F>, w: &Array2<F>) -> F {
    let h = x.dot(&w.t());
    (&h * &h + F::one()).sqrt().sum() + h.t().mean().unwrap()
}

#[test]
fn generic_idioms_serve_f32_and_f64() {
    let (x, w) = (random((4, 3), 5), random((2, 3), 6));
    let (value, grad) = generic_grad(&x, &w);
    assert!((value - generic(&x, &w)).abs() < 1e-12 * value.abs().max(1.0));
    assert_gradients(
        |v| generic(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[grad.w.clone().into_dyn()],
    );
    let (value32, grad32) = generic_grad(&x.mapv(|v| v as f32), &w.mapv(|v| v as f32));
    assert!((f64::from(value32) - value).abs() < 1e-4 * value.abs());
    for (a, b) in grad32.w.iter().zip(&grad.w) {
        assert!((f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()));
    }
}

/// Shape queries inside constant expressions: a cast of a length, a zeros
/// array sized by an active value, a range bound.
#[differentiable(wrt(w))]
fn shapes(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let h = x.dot(w);
    let n = h.ncols() as f64;
    let zeros = Array2::<f64>::zeros((x.nrows(), h.ncols()));
    let mut total = sum(&(&h + &zeros)) / n;
    for i in 0..h.nrows() {
        total += h.slice(s![i..i + 1, ..]).sum() * (i as f64);
    }
    total
}

#[test]
fn shape_queries_work_in_any_constant_expression() {
    let (x, w) = (random((3, 2), 7), random((2, 4), 8));
    let (value, grad) = shapes_grad(&x, &w);
    assert!((value - shapes(&x, &w)).abs() < 1e-12);
    assert_gradients(
        |v| shapes(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[grad.w.into_dyn()],
    );
}
