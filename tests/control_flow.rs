//! Version 2 of the body: loops, branches, `let mut`, `return`, constants
//! kept as written. Every function is checked against central finite
//! differences in f64, at several trip counts (zero, one and many iterations)
//! and on both sides of each branch.

mod common;

use std::cell::Cell;

use autodiff::prelude::*;
use common::{assert_gradients, assert_model_gradient, d1, d2, random};

// An Elman RNN: a value carried across iterations of a `for` over a range.
#[differentiable(wrt(wx, b, u, wo, bo))]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn rnn_loss(
    xs: &[Array2<f64>],
    labels: &[usize],
    wx: &Array2<f64>,
    b: &Array1<f64>,
    u: &Array2<f64>,
    wo: &Array2<f64>,
    bo: &Array1<f64>,
) -> f64 {
    let mut h = tanh(&linear(&xs[0], wx, b));
    for t in 1..xs.len() {
        h = tanh(&(linear(&xs[t], wx, b) + matmul(&h, u)));
    }
    cross_entropy(&linear(&h, wo, bo), labels)
}

#[test]
fn rnn_at_one_two_and_five_steps() {
    let (batch, inputs, hidden, classes) = (3, 4, 5, 3);
    let labels = [0, 2, 1];
    let (wx, b, u) = (
        random((hidden, inputs), 1) * 0.5,
        random(hidden, 2),
        random((hidden, hidden), 3) * 0.3,
    );
    let (wo, bo) = (random((classes, hidden), 4), random(classes, 5));
    for steps in [1, 2, 5] {
        let xs: Vec<Array2<f64>> = (0..steps).map(|t| random((batch, inputs), 10 + t as u64)).collect();
        let (loss, g) = rnn_loss_grad(&xs, &labels, &wx, &b, &u, &wo, &bo);
        assert_eq!(loss, rnn_loss(&xs, &labels, &wx, &b, &u, &wo, &bo));
        if steps == 1 {
            assert!(
                g.u.iter().all(|&v| v == 0.0),
                "a loop that runs zero times gives u no gradient"
            );
        }
        assert_gradients(
            |v| rnn_loss(&xs, &labels, &d2(&v[0]), &d1(&v[1]), &d2(&v[2]), &d2(&v[3]), &d1(&v[4])),
            &[
                wx.clone().into_dyn(),
                b.clone().into_dyn(),
                u.clone().into_dyn(),
                wo.clone().into_dyn(),
                bo.clone().into_dyn(),
            ],
            &[
                g.wx.into_dyn(),
                g.b.into_dyn(),
                g.u.into_dyn(),
                g.wo.into_dyn(),
                g.bo.into_dyn(),
            ],
        );
    }
}

// A loop over a constant slice, with a mutable constant read by a VJP (`k`
// changes every iteration, so each use is saved) and an accumulator.
#[differentiable(wrt(w))]
fn decaying_sum(xs: &[Array2<f64>], w: &Array2<f64>) -> f64 {
    let mut k = 1.0;
    let mut total = 0.0;
    for x in xs {
        let h = tanh(&matmul(x, w));
        total += sum(&scale(&h, k));
        k *= 0.5;
    }
    total
}

#[test]
fn loop_over_a_slice_with_a_decaying_constant() {
    let w = random((3, 2), 1);
    for n in [0, 1, 4] {
        let xs: Vec<Array2<f64>> = (0..n).map(|t| random((2, 3), 20 + t)).collect();
        let (value, g) = decaying_sum_grad(&xs, &w);
        assert_eq!(value, decaying_sum(&xs, &w));
        assert_gradients(
            |v| decaying_sum(&xs, &d2(&v[0])),
            &[w.clone().into_dyn()],
            &[g.w.into_dyn()],
        );
    }
}

// A range whose bound is an active value's shape: the loop runs once per
// row of `w`, and the range's reads of `w` are not differentiated.
#[differentiable(wrt(w))]
fn rows_of_w(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for _ in 0..(w.nrows() - 1) {
        h = tanh(&matmul(&h, w));
    }
    sum(&h)
}

#[test]
fn a_range_bounded_by_an_active_values_shape() {
    let x = random((2, 3), 40);
    for rows in [1, 2, 3] {
        // A square w of `rows` rows runs the loop rows - 1 times.
        let w = random((rows, rows), 41) * 0.5;
        let x = x.slice(ndarray::s![.., ..rows]).to_owned();
        let (value, g) = rows_of_w_grad(&x, &w);
        assert_eq!(value, rows_of_w(&x, &w));
        if rows == 1 {
            assert!(g.w.iter().all(|&v| v == 0.0), "no iteration, no gradient");
        }
        assert_gradients(
            |v| rows_of_w(&x, &d2(&v[0])),
            &[w.clone().into_dyn()],
            &[g.w.into_dyn()],
        );
    }
}

// `while`, `loop` with `break`, `continue`, and an `if` without `else`.
// `exits` records how many `continue`s were taken, and after how many
// completed iterations the `break` was.
#[differentiable(wrt(w))]
fn skipping(x: &Array2<f64>, w: &Array2<f64>, n: usize, exits: &Cell<(usize, usize)>) -> f64 {
    let mut h = matmul(x, w);
    let mut i = 0;
    while i < n {
        i += 1;
        if i % 2 == 0 {
            exits.set((exits.get().0 + 1, exits.get().1));
            continue;
        }
        h = sigmoid(&h) * 1.5;
    }
    let mut j = 0;
    loop {
        if j == n {
            exits.set((exits.get().0, j));
            break;
        }
        j += 1;
        h = &h + &relu(&h);
    }
    if n > 2 {
        h = tanh(&h);
    }
    sum(&h)
}

#[test]
fn while_loop_break_continue_if_without_else() {
    let x = random((2, 3), 1);
    let w = random((3, 3), 2) * 0.5;
    // The break after zero, one and several iterations; no continue, one
    // (after one iteration) and several.
    for (n, continues) in [(0, 0), (1, 0), (2, 1), (3, 1), (6, 3)] {
        let exits = Cell::new((0, usize::MAX));
        let (value, g) = skipping_grad(&x, &w, n, &exits);
        assert_eq!(exits.get(), (continues, n), "{n} iterations: (continues, break after)");
        assert_eq!(value, skipping(&x, &w, n, &Cell::default()));
        assert_gradients(
            |v| skipping(&x, &d2(&v[0]), n, &Cell::default()),
            &[w.clone().into_dyn()],
            &[g.w.into_dyn()],
        );
    }
}

// Branches whose condition reads an active value, an `if` expression, a
// `match` expression, and `else if`.
#[differentiable(wrt(w))]
fn branchy(x: &Array2<f64>, w: &Array2<f64>, mode: usize) -> f64 {
    let h = matmul(x, w);
    let a = if mean(&h) > 0.0 { relu(&h) } else { tanh(&h) * 2.0 };
    let b = match mode {
        0 => sigmoid(&a),
        1 => a * 3.0,
        _ => &a + &h,
    };
    let c = if mode == 0 {
        b
    } else if mode == 1 {
        sigmoid(&b)
    } else {
        tanh(&b)
    };
    sum(&(c * h))
}

#[test]
fn branches_on_constant_and_computed_conditions() {
    let x = random((3, 2), 1);
    for seed in [2, 3, 4, 5] {
        let w = random((2, 4), seed);
        for mode in [0, 1, 2] {
            let (value, g) = branchy_grad(&x, &w, mode);
            assert_eq!(value, branchy(&x, &w, mode));
            assert_gradients(
                |v| branchy(&x, &d2(&v[0]), mode),
                &[w.clone().into_dyn()],
                &[g.w.into_dyn()],
            );
        }
    }
}

// A `match` whose arms bind a value and whose guard reads an active value.
#[differentiable(wrt(w))]
fn guarded(x: &Array2<f64>, w: &Array2<f64>, mode: Option<usize>) -> f64 {
    let h = matmul(x, w);
    let y = match mode {
        Some(k) if mean(&h) > k as f64 - 1.0 => tanh(&h) * (k as f64 + 1.0),
        Some(k) => sigmoid(&h) * k as f64,
        None => relu(&h),
    };
    sum(&(y * &h))
}

#[test]
fn match_guards_and_bindings() {
    let x = random((3, 2), 1);
    let mut guard_taken = [false; 2];
    for seed in [2, 3, 4, 5] {
        let w = random((2, 4), seed);
        for mode in [None, Some(0), Some(1), Some(2)] {
            if let Some(k) = mode {
                guard_taken[usize::from(mean(&matmul(&x, &w)) > k as f64 - 1.0)] = true;
            }
            let (value, g) = guarded_grad(&x, &w, mode);
            assert_eq!(value, guarded(&x, &w, mode));
            assert_gradients(
                |v| guarded(&x, &d2(&v[0]), mode),
                &[w.clone().into_dyn()],
                &[g.w.into_dyn()],
            );
        }
    }
    assert_eq!(guard_taken, [true, true], "both sides of the guard are tested");
}

// `return` anywhere: inside a loop, inside a branch, and at the end. Which
// exit a call took is recorded in `exit` by constant code beside each.
#[differentiable(wrt(w))]
fn early(x: &Array2<f64>, w: &Array2<f64>, limit: f64, n: usize, exit: &Cell<Exit>) -> f64 {
    let mut h = matmul(x, w);
    for t in 0..n {
        h = tanh(&h) + matmul(x, w) * 0.5;
        if sum(&h) > limit {
            exit.set(Exit::InLoop(t));
            return sum(&h) * (t as f64 + 1.0);
        }
    }
    if n == 0 {
        exit.set(Exit::InBranch);
        return mean(&h);
    }
    exit.set(Exit::AtEnd);
    sum(&sigmoid(&h))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Exit {
    /// The `return` inside the loop, at iteration `t` (after `t` completed ones).
    InLoop(usize),
    /// The `return` of the branch after the loop.
    InBranch,
    /// The end of the body.
    AtEnd,
}

#[test]
fn every_return_after_zero_one_and_several_iterations() {
    // Positive and small: sum(h) grows at every iteration (h ← tanh(h) + x·w/2
    // from h = x·w), so a limit between two sums stops the loop where chosen.
    let x = random((2, 3), 1).mapv(|v| v.abs() * 0.1);
    let w = random((3, 2), 2).mapv(|v| v.abs() * 0.1);
    let xw = x.dot(&w);
    let mut h = xw.clone();
    let sums: Vec<f64> = (0..6)
        .map(|_| {
            h = h.mapv(f64::tanh) + &xw * 0.5;
            h.sum()
        })
        .collect();
    assert!(sums.windows(2).all(|p| p[1] > p[0]), "sums grow: {sums:?}");
    let between = |t: usize| {
        if t == 0 {
            sums[0] - 1.0
        } else {
            (sums[t - 1] + sums[t]) / 2.0
        }
    };
    let cases = [
        (f64::INFINITY, 0, Exit::InBranch),
        (f64::INFINITY, 1, Exit::AtEnd),
        (f64::INFINITY, 5, Exit::AtEnd),
        (between(0), 5, Exit::InLoop(0)),
        (between(1), 5, Exit::InLoop(1)),
        (between(4), 5, Exit::InLoop(4)),
        // The limit is passed only after the last iteration: the end.
        (between(5), 5, Exit::AtEnd),
    ];
    for (limit, n, expected) in cases {
        let exit = Cell::new(Exit::AtEnd);
        let (value, g) = early_grad(&x, &w, limit, n, &exit);
        assert_eq!(exit.get(), expected, "limit {limit}, {n} iterations");
        assert_eq!(value, early(&x, &w, limit, n, &exit));
        assert_gradients(
            |v| early(&x, &d2(&v[0]), limit, n, &Cell::new(Exit::AtEnd)),
            &[w.clone().into_dyn()],
            &[g.w.into_dyn()],
        );
    }
}

// Nested loops, a labelled `break` out of the outer one, and a value defined
// inside the inner body read after it through a `let mut`.
#[differentiable(wrt(w, v))]
fn nested(x: &Array2<f64>, w: &Array2<f64>, v: &Array2<f64>, rows: usize, cols: usize, stop: usize) -> f64 {
    let mut h = matmul(x, w);
    let mut acc = sum(&h);
    'outer: for i in 0..rows {
        for j in 0..cols {
            if i * cols + j == stop {
                break 'outer;
            }
            let g = tanh(&matmul(&h, v));
            acc += sum(&g) * (j as f64 + 1.0);
            h = &g + &h;
        }
        h = relu(&h);
    }
    acc + mean(&h)
}

#[test]
fn nested_loops_with_a_labelled_break() {
    let x = random((2, 3), 1);
    let w = random((3, 3), 2) * 0.3;
    let v = random((3, 3), 3) * 0.3;
    // The break after zero, one and several inner iterations, and none.
    for (rows, cols, stop) in [(0, 2, 99), (1, 1, 99), (3, 2, 99), (3, 2, 3), (3, 2, 1), (2, 3, 0)] {
        let (value, g) = nested_grad(&x, &w, &v, rows, cols, stop);
        assert_eq!(value, nested(&x, &w, &v, rows, cols, stop));
        assert_gradients(
            |p| nested(&x, &d2(&p[0]), &d2(&p[1]), rows, cols, stop),
            &[w.clone().into_dyn(), v.clone().into_dyn()],
            &[g.w.into_dyn(), g.v.into_dyn()],
        );
    }
}

// A function with loops called from another: its `_vjp` is a module.
#[differentiable(wrt(h, u))]
fn repeated(h: &Array2<f64>, u: &Array2<f64>, n: usize) -> Array2<f64> {
    let mut h = tanh(h);
    for _ in 0..n {
        h = tanh(&matmul(&h, u));
    }
    h
}

#[differentiable(wrt(w, u))]
fn outer(x: &Array2<f64>, w: &Array2<f64>, u: &Array2<f64>) -> f64 {
    let h = repeated(&matmul(x, w), u, 3);
    sum(&(&h * &h))
}

#[test]
fn a_function_with_loops_is_a_module() {
    let x = random((2, 3), 1);
    let (w, u) = (random((3, 2), 2) * 0.5, random((2, 2), 3) * 0.5);
    let (value, g) = outer_grad(&x, &w, &u);
    assert_eq!(value, outer(&x, &w, &u));
    assert_gradients(
        |p| outer(&x, &d2(&p[0]), &d2(&p[1])),
        &[w.clone().into_dyn(), u.clone().into_dyn()],
        &[g.w.into_dyn(), g.u.into_dyn()],
    );
}

// The RNN in f32 agrees with f64.
#[differentiable(wrt(wx, u))]
fn rnn_f32(xs: &[Array2<f32>], wx: &Array2<f32>, u: &Array2<f32>) -> f32 {
    let mut h = tanh(&matmul(&xs[0], wx));
    for x in &xs[1..] {
        h = tanh(&(matmul(x, wx) + matmul(&h, u)));
    }
    mean(&h)
}

#[differentiable(wrt(wx, u))]
fn rnn_f64(xs: &[Array2<f64>], wx: &Array2<f64>, u: &Array2<f64>) -> f64 {
    let mut h = tanh(&matmul(&xs[0], wx));
    for x in &xs[1..] {
        h = tanh(&(matmul(x, wx) + matmul(&h, u)));
    }
    mean(&h)
}

#[test]
fn loops_in_f32_agree_with_f64() {
    let xs: Vec<Array2<f64>> = (0..4).map(|t| random((2, 3), 30 + t)).collect();
    let (wx, u) = (random((3, 4), 1) * 0.4, random((4, 4), 2) * 0.4);
    let (v64, g64) = rnn_f64_grad(&xs, &wx, &u);
    let f = |a: &Array2<f64>| a.mapv(|v| v as f32);
    let xs32: Vec<Array2<f32>> = xs.iter().map(f).collect();
    let (v32, g32) = rnn_f32_grad(&xs32, &f(&wx), &f(&u));
    assert!((f64::from(v32) - v64).abs() < 1e-5);
    for (a, b) in g32.wx.iter().zip(&g64.wx).chain(g32.u.iter().zip(&g64.u)) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "{a} vs {b}");
    }
    assert_gradients(
        |p| rnn_f64(&xs, &d2(&p[0]), &d2(&p[1])),
        &[wx.clone().into_dyn(), u.clone().into_dyn()],
        &[g64.wx.into_dyn(), g64.u.into_dyn()],
    );
}

// A loop over data computes nothing active: it stays as written.
#[differentiable(wrt(w))]
fn constant_loop(xs: &[f64], w: &Array2<f64>) -> f64 {
    let mut scale_by = 0.0;
    for x in xs {
        scale_by += x * x;
    }
    let n = xs.len();
    assert!(n > 0, "needs data");
    sum(w) * scale_by
}

#[test]
fn constant_code_is_kept_as_written() {
    let w = random((2, 2), 1);
    let xs = [1.0, 2.0, 3.0];
    let (value, g) = constant_loop_grad(&xs, &w);
    assert_eq!(value, constant_loop(&xs, &w));
    assert!(g.w.iter().all(|&v| v == 14.0));
}

// A workspace keeps every per-iteration store: repeated calls give equal results.
#[test]
fn workspace_steps_repeat_exactly() {
    let xs: Vec<Array2<f64>> = (0..5).map(|t| random((2, 3), 40 + t)).collect();
    let (wx, u) = (random((3, 4), 1) * 0.4, random((4, 4), 2) * 0.4);
    let mut ws = Workspace::new();
    let (first, g1) = rnn_f64_grad_with(&mut ws, &xs, &wx, &u);
    ws.recycle((g1.wx.clone(), g1.u.clone()));
    let (second, g2) = rnn_f64_grad_with(&mut ws, &xs, &wx, &u);
    assert_eq!(first, second);
    assert_eq!(g1.wx, g2.wx);
    assert_eq!(g1.u, g2.u);
    assert!(ws.free_buffers() > 0);
}

// A model whose depth is a number: `Vec<Layer>` visited by a loop.
#[derive(Params, Debug, Clone)]
struct Layer {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Params, Debug, Clone)]
struct DeepNet {
    layers: Vec<Layer>,
    head: Layer,
}

#[differentiable(wrt(net))]
fn deep_loss(net: &DeepNet, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let mut h = tanh(x);
    for layer in &net.layers {
        h = tanh(&linear(&h, &layer.w, &layer.b));
    }
    cross_entropy(&linear(&h, &net.head.w, &net.head.b), labels) + 1e-2 * l2(&net.head.w)
}

fn deep_net(depth: usize, width: usize, seed: u64) -> DeepNet {
    let layer = |i: u64, inputs| Layer {
        w: random((width, inputs), seed + 2 * i) * 0.5,
        b: random(width, seed + 2 * i + 1),
    };
    DeepNet {
        layers: (0..depth as u64).map(|i| layer(i, width)).collect(),
        head: Layer {
            w: random((3, width), seed + 100),
            b: random(3, seed + 101),
        },
    }
}

#[test]
fn a_loop_over_a_models_layers() {
    let x = random((4, 5), 1);
    let labels = [0, 1, 2, 1];
    for depth in [0, 1, 3] {
        let net = deep_net(depth, 5, 10);
        let (value, g) = deep_loss_grad(&net, &x, &labels);
        assert_eq!(value, deep_loss(&net, &x, &labels));
        assert_eq!(g.net.layers.len(), depth);
        assert_model_gradient(|n| deep_loss(n, &x, &labels), &net, &g.net);
    }
}

// Layers as a differentiable function of each element, and a branch on the layer index.
#[differentiable(wrt(layer, x))]
fn dense(layer: &Layer, x: &Array2<f64>) -> Array2<f64> {
    relu(&linear(x, &layer.w, &layer.b))
}

#[differentiable(wrt(net))]
fn residual_deep(net: &DeepNet, x: &Array2<f64>) -> f64 {
    let mut h = tanh(x);
    let mut depth = 0;
    for layer in net.layers.iter() {
        depth += 1;
        if depth % 2 == 0 {
            h = &h + &dense(layer, &h);
        } else {
            h = dense(layer, &h);
        }
    }
    sum(&linear(&h, &net.head.w, &net.head.b))
}

#[test]
fn layers_passed_to_a_differentiable_function() {
    let x = random((3, 4), 2);
    for depth in [1, 2, 4] {
        let net = deep_net(depth, 4, 20);
        let (value, g) = residual_deep_grad(&net, &x);
        assert_eq!(value, residual_deep(&net, &x));
        assert_model_gradient(|n| residual_deep(n, &x), &net, &g.net);
    }
}

// A `Vec` of arrays: each iteration's weight matrix is a layer of the model.
#[derive(Params, Debug, Clone)]
struct Stack {
    weights: Vec<Array2<f64>>,
}

#[differentiable(wrt(stack))]
fn stacked(stack: &Stack, x: &Array2<f64>) -> f64 {
    let mut h = tanh(x);
    for w in &stack.weights {
        h = tanh(&matmul(&h, w));
    }
    sum(&h)
}

#[test]
fn a_vec_of_arrays() {
    let x = random((2, 3), 1);
    let stack = Stack {
        weights: (0..3).map(|i| random((3, 3), 10 + i) * 0.5).collect(),
    };
    let (value, g) = stacked_grad(&stack, &x);
    assert_eq!(value, stacked(&stack, &x));
    assert_model_gradient(|s| stacked(s, &x), &stack, &g.stack);
}

// Constant code that reads active values where that is harmless: a shape
// query, a comparison bound to a name, a condition with nothing active inside.
#[differentiable(wrt(w))]
fn reads_of_active_values(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let h = matmul(x, w);
    let rows = h.nrows();
    let positive = mean(&h) > 0.0;
    let mut count = 0;
    if sum(&h) > 1.0 {
        count += 1;
    }
    let scale_by = if positive { 2.0 } else { 3.0 };
    sum(&h) * (rows as f64 + count as f64) * scale_by
}

#[test]
fn constant_code_reads_active_values() {
    let x = random((3, 2), 1);
    for seed in [2, 3, 4] {
        let w = random((2, 2), seed);
        let (value, g) = reads_of_active_values_grad(&x, &w);
        assert_eq!(value, reads_of_active_values(&x, &w));
        assert_gradients(
            |v| reads_of_active_values(&x, &d2(&v[0])),
            &[w.clone().into_dyn()],
            &[g.w.into_dyn()],
        );
    }
}

// A loop body ending in an assignment without `;`, with code generated after it.
#[differentiable(wrt(w))]
fn tail_without_semicolon(x: &Array2<f64>, w: &Array2<f64>, n: usize) -> f64 {
    let mut h = matmul(x, w);
    let mut k = 0;
    for _ in 0..n {
        h = tanh(&h);
        k += 1
    }
    sum(&h) * (k as f64 + 1.0)
}

#[test]
fn a_loop_body_ending_without_a_semicolon() {
    let (x, w) = (random((2, 2), 1), random((2, 2), 2));
    let (value, g) = tail_without_semicolon_grad(&x, &w, 3);
    assert_eq!(value, tail_without_semicolon(&x, &w, 3));
    assert_gradients(
        |v| tail_without_semicolon(&x, &d2(&v[0]), 3),
        &[w.clone().into_dyn()],
        &[g.w.into_dyn()],
    );
}

pub struct Sizes {
    h: usize,
}

// A shape query added to a field that has the name of an active value: only
// the value `h` is read from where it lives, not the field `sizes.h`.
#[differentiable(wrt(w))]
fn field_named_like_a_value(x: &Array2<f64>, w: &Array2<f64>, sizes: &Sizes) -> f64 {
    let h = matmul(x, w);
    let n = h.nrows() + sizes.h;
    sum(&h) * n as f64
}

#[test]
fn a_constant_reads_a_value_and_a_field_of_the_same_name() {
    let (x, w, sizes) = (random((3, 2), 1), random((2, 4), 2), Sizes { h: 5 });
    let (value, g) = field_named_like_a_value_grad(&x, &w, &sizes);
    assert_eq!(value, field_named_like_a_value(&x, &w, &sizes));
    assert_gradients(
        |v| field_named_like_a_value(&x, &d2(&v[0]), &sizes),
        &[w.clone().into_dyn()],
        &[g.w.into_dyn()],
    );
}
