//! Generic float functions: one definition serves f32 and f64, and the
//! operators users write on arrays of `F: Float` compile in the original.

mod common;

use autodiff::prelude::*;
use common::{assert_gradients, d1, d2, random};

#[differentiable(wrt(w, b))]
fn loss<F: Float>(x: &Array2<F>, w: &Array2<F>, b: &Array1<F>, target: &Array2<F>) -> F {
    let h = tanh(&linear(x, w, b));
    let d = &h - target;
    let e = &d + b;
    let m = max(&e, &h);
    let n = -&m;
    let half = F::from(0.5).unwrap_or_else(F::one);
    mean(&(&n * &n)) * half + sum(&m) * F::of(0.1)
}

#[test]
fn one_definition_in_f32_and_f64() {
    let (x, w, b, t) = (random((3, 4), 1), random((2, 4), 2), random(2, 3), random((3, 2), 4));
    let (v64, g64) = loss_grad(&x, &w, &b, &t);
    assert_eq!(v64, loss(&x, &w, &b, &t));
    assert_gradients(
        |v| loss(&x, &d2(&v[0]), &d1(&v[1]), &t),
        &[w.clone().into_dyn(), b.clone().into_dyn()],
        &[g64.w.clone().into_dyn(), g64.b.clone().into_dyn()],
    );
    let f = |a: &Array2<f64>| a.mapv(|v| v as f32);
    let (v32, g32) = loss_grad::<f32>(&f(&x), &f(&w), &b.mapv(|v| v as f32), &f(&t));
    assert!((f64::from(v32) - v64).abs() < 1e-4);
    common::assert_f32_agrees(
        &[g32.w.view().into_dyn(), g32.b.view().into_dyn()],
        &[g64.w.view().into_dyn(), g64.b.view().into_dyn()],
        1e-4,
    );
}

// A generic recurrent loop, called with a turbofish.
#[differentiable(wrt(u))]
fn unrolled<F: Float>(h0: &Array2<F>, u: &Array2<F>, steps: usize) -> F {
    let mut h = h0.clone();
    for _ in 0..steps {
        h = tanh(&matmul(&h, u));
    }
    sum(&h)
}

#[test]
fn generic_loops() {
    let (h0, u) = (random((2, 3), 5), random((3, 3), 6) * 0.4);
    for steps in [0, 1, 4] {
        let (value, g) = unrolled_grad::<f64>(&h0, &u, steps);
        assert_eq!(value, unrolled(&h0, &u, steps));
        assert_gradients(
            |v| unrolled(&h0, &d2(&v[0]), steps),
            &[u.clone().into_dyn()],
            &[g.u.into_dyn()],
        );
    }
}

// The operator forms a user writes on arrays of `F: Float`: `-&h`, `&a - &b`,
// `&a + b` with `b` owned, `a * s` with a scalar, and `max(&a, &b)`.
#[differentiable(wrt(w))]
fn operators<F: Float>(x: &Array2<F>, w: &Array2<F>) -> F {
    let a = matmul(x, w);
    let b = tanh(&a);
    let c = -&a;
    let d = &c - &b;
    let e = &d + b;
    let f = max(&e, &a) * F::of(0.5);
    sum(&f)
}

#[test]
fn operators_on_generic_arrays() {
    let (x, w) = (random((3, 2), 7), random((2, 4), 8));
    let (value, g) = operators_grad(&x, &w);
    assert_eq!(value, operators(&x, &w));
    assert_gradients(
        |v| operators(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[g.w.into_dyn()],
    );
    let (v32, g32) = operators_grad::<f32>(&x.mapv(|v| v as f32), &w.mapv(|v| v as f32));
    assert!((f64::from(v32) - value).abs() < 1e-4);
    let g64 = operators_grad(&x, &w).1;
    common::assert_f32_agrees(&[g32.w.view().into_dyn()], &[g64.w.view().into_dyn()], 1e-4);
}

// A model struct generic over its float type, with a `Vec` of such structs.
#[derive(Params, Clone)]
struct Affine<F: Float> {
    w: Array2<F>,
    b: Array1<F>,
}

#[derive(Params, Clone)]
struct Stack<F>
where
    F: Float,
{
    layers: Vec<Affine<F>>,
    head: Affine<F>,
}

#[differentiable(wrt(net))]
fn stack_loss<F: Float>(net: &Stack<F>, x: &Array2<F>, labels: &[usize]) -> F {
    let mut h = x.clone();
    for layer in &net.layers {
        h = tanh(&linear(&h, &layer.w, &layer.b));
    }
    cross_entropy(&linear(&h, &net.head.w, &net.head.b), labels)
}

#[test]
fn generic_model_structs_in_f32_and_f64() {
    let affine = |o: usize, i: usize, seed: u64| Affine {
        w: random((o, i), seed) * 0.5,
        b: random(o, seed + 1),
    };
    let net = Stack {
        layers: vec![affine(5, 4, 1), affine(5, 5, 3)],
        head: affine(3, 5, 5),
    };
    let (x, labels) = (random((6, 4), 7), [0, 2, 1, 1, 0, 2]);
    let (value, g) = stack_loss_grad(&net, &x, &labels);
    assert_eq!(value, stack_loss(&net, &x, &labels));
    common::assert_model_gradient(|m| stack_loss(m, &x, &labels), &net, &g.net);

    let f32_affine = |a: &Affine<f64>| Affine {
        w: a.w.mapv(|v| v as f32),
        b: a.b.mapv(|v| v as f32),
    };
    let net32 = Stack {
        layers: net.layers.iter().map(f32_affine).collect(),
        head: f32_affine(&net.head),
    };
    let (value32, g32) = stack_loss_grad(&net32, &x.mapv(|v| v as f32), &labels);
    assert!((f64::from(value32) - value).abs() < 1e-5);
    common::assert_f32_model_agrees(&g32.net, &g.net, 1e-5);
}

// Negations inside `match` arms, written without braces and with them: in a
// generic function each is rewritten to negate through the runtime.
#[differentiable(wrt(w))]
fn negated_arms<F: Float>(x: &Array2<F>, w: &Array2<F>, mode: usize) -> F {
    let h = tanh(&matmul(x, w));
    let y = match mode {
        0 => -&h,
        1 => -&h,
        _ => &h * F::of(2.0),
    };
    let z = if mode == 1 { -&y } else { y };
    sum(&(&z * &h))
}

#[test]
fn negations_in_arms_without_braces() {
    let (x, w) = (random((3, 2), 9), random((2, 4), 10));
    for mode in 0..3 {
        let (value, g) = negated_arms_grad(&x, &w, mode);
        assert_eq!(value, negated_arms(&x, &w, mode));
        assert_gradients(
            |v| negated_arms(&x, &d2(&v[0]), mode),
            &[w.clone().into_dyn()],
            &[g.w.into_dyn()],
        );
    }
}
