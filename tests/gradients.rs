//! End to end: each function below is differentiated by the macro, and its
//! generated gradient is checked against central finite differences in f64.

mod common;

use autodiff::prelude::*;
use common::{assert_gradients, d1, d2, mlp_loss, mlp_loss_grad, random};

#[test]
fn mlp() {
    for (batch, inp, hidden, classes) in [(1, 3, 4, 2), (5, 4, 6, 3), (8, 2, 3, 4)] {
        let x = random((batch, inp), 1);
        let labels: Vec<usize> = (0..batch).map(|i| (3 * i + 1) % classes).collect();
        let (w1, b1) = (random((hidden, inp), 2), random(hidden, 3));
        let (w2, b2) = (random((classes, hidden), 4), random(classes, 5));
        let (loss, g) = mlp_loss_grad(&x, &labels, &w1, &b1, &w2, &b2);
        assert_eq!(loss, mlp_loss(&x, &labels, &w1, &b1, &w2, &b2));
        assert_gradients(
            |v| mlp_loss(&x, &labels, &d2(&v[0]), &d1(&v[1]), &d2(&v[2]), &d1(&v[3])),
            &[w1.into_dyn(), b1.into_dyn(), w2.into_dyn(), b2.into_dyn()],
            &[g.w1.into_dyn(), g.b1.into_dyn(), g.w2.into_dyn(), g.b2.into_dyn()],
        );
    }
}

// The same network in f32: the gradient agrees with the f64 one.
#[differentiable(wrt(w1, b1, w2, b2))]
fn mlp_loss_f32(
    x: &Array2<f32>,
    labels: &[usize],
    w1: &Array2<f32>,
    b1: &Array1<f32>,
    w2: &Array2<f32>,
    b2: &Array1<f32>,
) -> f32 {
    let h = linear(x, w1, b1);
    let a = relu(&h);
    let z = linear(&a, w2, b2);
    cross_entropy(&z, labels)
}

#[test]
fn mlp_in_f32_agrees_with_f64() {
    let x = random((6, 4), 11);
    let labels = [0, 1, 2, 0, 1, 2];
    let (w1, b1, w2, b2) = (random((5, 4), 12), random(5, 13), random((3, 5), 14), random(3, 15));
    let f = |a: &Array2<f64>| a.mapv(|v| v as f32);
    let (loss32, g32) = mlp_loss_f32_grad(
        &f(&x),
        &labels,
        &f(&w1),
        &b1.mapv(|v| v as f32),
        &f(&w2),
        &b2.mapv(|v| v as f32),
    );
    let (loss64, g64) = mlp_loss_grad(&x, &labels, &w1, &b1, &w2, &b2);
    assert_eq!(
        loss32,
        mlp_loss_f32(
            &f(&x),
            &labels,
            &f(&w1),
            &b1.mapv(|v| v as f32),
            &f(&w2),
            &b2.mapv(|v| v as f32)
        )
    );
    assert!((f64::from(loss32) - loss64).abs() < 1e-4 * loss64.abs().max(1.0));
    common::assert_f32_agrees(
        &[
            g32.w1.view().into_dyn(),
            g32.b1.view().into_dyn(),
            g32.w2.view().into_dyn(),
            g32.b2.view().into_dyn(),
        ],
        &[
            g64.w1.view().into_dyn(),
            g64.b1.view().into_dyn(),
            g64.w2.view().into_dyn(),
            g64.b2.view().into_dyn(),
        ],
        1e-4,
    );
}

// A residual block: h feeds both the branch and the skip connection (fan-out
// + add), so its gradient is the sum of both paths.
#[differentiable(wrt(w1, b1, w2, b2))]
fn residual(x: &Array2<f64>, w1: &Array2<f64>, b1: &Array1<f64>, w2: &Array2<f64>, b2: &Array1<f64>) -> f64 {
    let h = relu(&linear(x, w1, b1));
    let branch = linear(&relu(&linear(&h, w2, b2)), w2, b2);
    let out = &h + &branch;
    sum(&tanh(&out))
}

#[test]
fn residual_block() {
    let x = random((4, 3), 21);
    let (w1, b1, w2, b2) = (random((5, 3), 22), random(5, 23), random((5, 5), 24), random(5, 25));
    let (loss, g) = residual_grad(&x, &w1, &b1, &w2, &b2);
    assert_eq!(loss, residual(&x, &w1, &b1, &w2, &b2));
    assert_gradients(
        |v| residual(&x, &d2(&v[0]), &d1(&v[1]), &d2(&v[2]), &d1(&v[3])),
        &[w1.into_dyn(), b1.into_dyn(), w2.into_dyn(), b2.into_dyn()],
        &[g.w1.into_dyn(), g.b1.into_dyn(), g.w2.into_dyn(), g.b2.into_dyn()],
    );
}

// Two branches joined by max: the gradient goes to the larger one.
#[differentiable(wrt(wa, wb))]
fn two_branch_max(x: &Array2<f64>, wa: &Array2<f64>, wb: &Array2<f64>) -> f64 {
    let a = matmul(x, wa);
    let b = sigmoid(&matmul(x, wb));
    mean(&max(&a, &b))
}

#[test]
fn two_branch() {
    let x = random((3, 4), 31);
    let (wa, wb) = (random((4, 2), 32), random((4, 2), 33));
    let (_, g) = two_branch_max_grad(&x, &wa, &wb);
    assert_gradients(
        |v| two_branch_max(&x, &d2(&v[0]), &d2(&v[1])),
        &[wa.into_dyn(), wb.into_dyn()],
        &[g.wa.into_dyn(), g.wb.into_dyn()],
    );
}

// Shadowing, a type annotation, and an alias through a reference.
#[differentiable(wrt(w))]
fn shadowed(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let h: Array2<f64> = matmul(x, w);
    let h = relu(&h);
    let h = tanh(&h);
    let alias = &h;
    let h = sigmoid(alias);
    sum(&h)
}

#[test]
fn shadowing() {
    let (x, w) = (random((3, 4), 41), random((4, 2), 42));
    let (_, g) = shadowed_grad(&x, &w);
    assert_gradients(|v| shadowed(&x, &d2(&v[0])), &[w.into_dyn()], &[g.w.into_dyn()]);
}

// Nested calls, including a module named by its full path.
#[differentiable(wrt(w, b))]
fn nested(x: &Array2<f64>, labels: &[usize], w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    nll_loss(&autodiff::modules::log_softmax(&relu(&linear(x, w, b))), labels)
}

#[test]
fn nested_calls() {
    let (x, w, b) = (random((4, 3), 51), random((3, 3), 52), random(3, 53));
    let labels = [2, 0, 1, 1];
    let (_, g) = nested_grad(&x, &labels, &w, &b);
    assert_gradients(
        |v| nested(&x, &labels, &d2(&v[0]), &d1(&v[1])),
        &[w.into_dyn(), b.into_dyn()],
        &[g.w.into_dyn(), g.b.into_dyn()],
    );
}

// A scalar parameter, by value, mixed with arrays; every operator.
#[differentiable]
fn scalar_param(x: &Array1<f64>, s: f64) -> f64 {
    let y = s * x;
    let z = &y * &y - -y / 4.0 + 1.5;
    sum(&z) / s
}

#[test]
fn scalar_parameter_and_operators() {
    let x = random(5, 61);
    let s = 0.7;
    let (value, g) = scalar_param_grad(&x, s);
    assert_eq!(value, scalar_param(&x, s));
    assert_gradients(
        |v| scalar_param(&d1(&v[0]), v[1][[]]),
        &[x.into_dyn(), autodiff::ndarray::arr0(s).into_dyn()],
        &[g.x.into_dyn(), autodiff::ndarray::arr0(g.s).into_dyn()],
    );
}

// Tuple destructuring of a multi-output module, with one output ignored in a
// second split.
#[differentiable(wrt(w))]
fn split(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let h = matmul(x, w);
    let (left, right) = duplicate(&h);
    let (kept, _) = duplicate(&right);
    sum(&(relu(&left) * kept))
}

#[test]
fn tuple_destructuring() {
    let (x, w) = (random((3, 2), 71), random((2, 4), 72));
    let (_, g) = split_grad(&x, &w);
    assert_gradients(|v| split(&x, &d2(&v[0])), &[w.into_dyn()], &[g.w.into_dyn()]);
}

// Broadcasting: a bias row added to every row, a column scaled per row.
#[differentiable(wrt(w, b, c))]
fn broadcast(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>, c: &Array2<f64>) -> f64 {
    let z = matmul(x, w) + b;
    let z = &z * c;
    mean(&(&z * &z))
}

#[test]
fn broadcasting() {
    let (x, w, b, c) = (
        random((4, 3), 81),
        random((3, 5), 82),
        random(5, 83),
        random((4, 1), 84),
    );
    let (_, g) = broadcast_grad(&x, &w, &b, &c);
    assert_eq!(g.b.shape(), &[5]);
    assert_eq!(g.c.shape(), &[4, 1]);
    assert_gradients(
        |v| broadcast(&x, &d2(&v[0]), &d1(&v[1]), &d2(&v[2])),
        &[w.into_dyn(), b.into_dyn(), c.into_dyn()],
        &[g.w.into_dyn(), g.b.into_dyn(), g.c.into_dyn()],
    );
}

// A differentiable function is a module: `block` has a non-scalar output and
// is called twice by `two_blocks`, and the gradient flows through both calls.
#[differentiable]
fn block(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> Array2<f64> {
    let h = linear(x, w, b);
    tanh(&h) + h
}

#[differentiable(wrt(w1, b1, w2, b2))]
fn two_blocks(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
) -> f64 {
    let h = block(x, w1, b1);
    let z = block(&h, w2, b2);
    cross_entropy(&z, labels)
}

#[test]
fn composition_of_differentiable_functions() {
    let x = random((3, 4), 91);
    let labels = [1, 0, 2];
    let (w1, b1, w2, b2) = (random((5, 4), 92), random(5, 93), random((3, 5), 94), random(3, 95));
    let (loss, g) = two_blocks_grad(&x, &labels, &w1, &b1, &w2, &b2);
    assert_eq!(loss, two_blocks(&x, &labels, &w1, &b1, &w2, &b2));
    assert_gradients(
        |v| two_blocks(&x, &labels, &d2(&v[0]), &d1(&v[1]), &d2(&v[2]), &d1(&v[3])),
        &[w1.into_dyn(), b1.into_dyn(), w2.into_dyn(), b2.into_dyn()],
        &[g.w1.into_dyn(), g.b1.into_dyn(), g.w2.into_dyn(), g.b2.into_dyn()],
    );
}

// A user module with a hand-written gradient, following the convention.
fn cube(x: &Array1<f64>) -> Array1<f64> {
    x.mapv(|v| v * v * v)
}

fn cube_vjp(x: &Array1<f64>, _y: &Array1<f64>, g: Array1<f64>, need: [bool; 1]) -> (Option<Array1<f64>>,) {
    (need[0].then(|| g * &x.mapv(|v| 3.0 * v * v)),)
}

#[differentiable(wrt(w))]
fn uses_cube(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    sum(&cube(&(x * w)))
}

#[test]
fn custom_vjp_module() {
    let (x, w) = (random(6, 101), random(6, 102));
    let (_, g) = uses_cube_grad(&x, &w);
    assert_gradients(
        |v| uses_cube(&x, &d1(&v[0])),
        &[w.clone().into_dyn()],
        &[g.w.clone().into_dyn()],
    );
    // Closed form: d/dw Σ (x·w)³ = 3(x·w)²·x.
    for i in 0..6 {
        assert!((g.w[i] - 3.0 * (x[i] * w[i]).powi(2) * x[i]).abs() < 1e-12);
    }
}

// Without `wrt`, every parameter is differentiated, scalars included; a
// constant call (depending on data only) is evaluated once and not differentiated.
#[differentiable]
fn everything(x: &Array2<f64>, w: &Array2<f64>, t: f64) -> f64 {
    let scale = mean(&sigmoid(x));
    let y = matmul(x, w) * scale;
    mse_loss(&y, &y) + l2(w) * t + l1(x)
}

#[test]
fn every_parameter_and_constant_calls() {
    let (x, w, t) = (random((3, 2), 111), random((2, 2), 112), 0.3);
    let (_, g) = everything_grad(&x, &w, t);
    assert_gradients(
        |v| everything(&d2(&v[0]), &d2(&v[1]), v[2][[]]),
        &[x.into_dyn(), w.into_dyn(), autodiff::ndarray::arr0(t).into_dyn()],
        &[g.x.into_dyn(), g.w.into_dyn(), autodiff::ndarray::arr0(g.t).into_dyn()],
    );
}

// A parameter listed in `wrt` that the output does not depend on gets zeros.
#[differentiable(wrt(w, _unused))]
fn ignores_a_parameter(w: &Array1<f64>, _unused: &Array2<f64>) -> f64 {
    l2(w)
}

#[test]
fn unused_parameter_gets_a_zero_gradient() {
    let (w, unused) = (random(3, 121), random((2, 2), 122));
    let (value, g) = ignores_a_parameter_grad(&w, &unused);
    assert_eq!(value, ignores_a_parameter(&w, &unused));
    assert_eq!(g._unused, Array2::<f64>::zeros((2, 2)));
    assert_eq!(g.w, &w * 2.0);
}

// Outside constants, constant folding, and ignored bindings.
const EPS: f64 = 1e-3;

#[differentiable(wrt(w))]
fn constants(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let _ = relu(w);
    let y = x * w + EPS;
    let half = 1.0 / 2.0;
    sum(&(&y * &y)) * half - -1.0
}

#[test]
fn constants_and_ignored_bindings() {
    let (x, w) = (random(4, 131), random(4, 132));
    let (value, g) = constants_grad(&x, &w);
    assert_eq!(value, constants(&x, &w));
    assert_gradients(
        |v| constants(&x, &d1(&v[0])),
        &[w.clone().into_dyn()],
        &[g.w.clone().into_dyn()],
    );
    // Closed form: d/dw ½Σ(x·w + ε)² = (x·w + ε)·x.
    assert!(g.w.iter().zip((&x * &w + EPS) * &x).all(|(a, b)| (a - b).abs() < 1e-12));
}

// `wrt` also decides what the generated `_vjp` differentiates: `mask` and
// `keep` are floats, but not listed, so they may feed `dropout`'s constant
// arguments, and using `masked` as a module leaves them alone.
#[differentiable(wrt(w))]
fn masked(x: &Array2<f64>, w: &Array2<f64>, mask: &Array2<f64>, keep: f64) -> Array2<f64> {
    dropout(&matmul(x, w), mask, keep)
}

#[differentiable(wrt(w))]
fn uses_masked(x: &Array2<f64>, w: &Array2<f64>, mask: &Array2<f64>) -> f64 {
    mean(&masked(x, w, mask, 0.5))
}

#[test]
fn unlisted_parameters_are_constants_of_the_module() {
    let (x, w) = (random((3, 4), 141), random((4, 2), 142));
    let mask = random((3, 2), 143).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let (_, g) = uses_masked_grad(&x, &w, &mask);
    assert_gradients(
        |v| uses_masked(&x, &d2(&v[0]), &mask),
        &[w.into_dyn()],
        &[g.w.into_dyn()],
    );
}

// Functions stamped out by `macro_rules!` (whose `$t:ty` types reach the macro
// wrapped in invisible groups), and an output spelled through a type alias.
macro_rules! stamped {
    ($name:ident, $f:ty) => {
        #[differentiable(wrt(w))]
        fn $name(x: &Array1<$f>, w: &Array1<$f>) -> $f {
            sum(&(x * w))
        }
    };
}
stamped!(stamped_f64, f64);
stamped!(stamped_f32, f32);

type Real = f64;

#[differentiable(wrt(w))]
fn aliased(x: &Array1<f64>, w: &Array1<f64>) -> Real {
    l2(&(x * w))
}

#[test]
fn macro_rules_types_and_aliased_outputs() {
    let (x, w) = (random(3, 151), random(3, 152));
    let (value, g) = stamped_f64_grad(&x, &w);
    assert_eq!(value, stamped_f64(&x, &w));
    assert_eq!(g.w, x);
    let (_, g32) = stamped_f32_grad(&x.mapv(|v| v as f32), &w.mapv(|v| v as f32));
    assert_eq!(g32.w, x.mapv(|v| v as f32));
    let (value, g) = aliased_grad(&x, &w);
    assert_eq!(value, aliased(&x, &w));
    assert_gradients(|v| aliased(&x, &d1(&v[0])), &[w.into_dyn()], &[g.w.into_dyn()]);
}

// Batch normalisation with running statistics inside a function: in training
// mode the gradient flows through the batch's statistics and one call of
// `_grad` moves the averages once; in evaluation mode they are constants.
#[differentiable(wrt(w, gamma, beta))]
fn normalised(
    x: &Array2<f64>,
    w: &Array2<f64>,
    gamma: &Array1<f64>,
    beta: &Array1<f64>,
    stats: &RunningStats<f64>,
    training: bool,
) -> f64 {
    let z = linear(x, w, &Array1::zeros(w.nrows()));
    let h = tanh(&batch_norm_running(&z, gamma, beta, stats, training, 1e-5));
    sum(&(&h * &h))
}

#[test]
fn batch_norm_with_running_statistics() {
    let x = random((6, 3), 41);
    let (w, gamma, beta) = (random((4, 3), 42), random(4, 43), random(4, 44));
    for training in [true, false] {
        let stats = RunningStats::from_arrays(random(4, 45), random(4, 46).mapv(|v| 0.5 + v.abs()));
        let (loss, g) = normalised_grad(&x, &w, &gamma, &beta, &stats, training);
        assert_eq!(stats.updates(), usize::from(training), "one forward pass per `_grad`");
        assert_eq!(loss, normalised(&x, &w, &gamma, &beta, &stats.clone(), training));
        let frozen = stats.clone();
        assert_gradients(
            |v| normalised(&x, &d2(&v[0]), &d1(&v[1]), &d1(&v[2]), &frozen.clone(), training),
            &[w.clone().into_dyn(), gamma.clone().into_dyn(), beta.clone().into_dyn()],
            &[g.w.into_dyn(), g.gamma.into_dyn(), g.beta.into_dyn()],
        );
    }
}
