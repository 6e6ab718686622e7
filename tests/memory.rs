//! The static memory plan, measured with a counting global allocator: one
//! generated gradient call allocates no more bytes, and holds no more live
//! bytes at its peak, than hand-written backprop with the same kernels; and
//! with a workspace, a steady-state training step allocates nothing at all.
//!
//! One test function only: the counters are global, so nothing else may run
//! in this binary at the same time.
//!
//! The products run on our GEMM kernels. The matrixmultiply backend (the
//! default where we have no SIMD kernels, such as ARM) allocates its packing
//! memory on every product, so there the portable kernels stand in.

use autodiff::prelude::*;
use autodiff::stats::{CountingAllocator, heap_usage as usage};
use models::lenet::{self, LeNet5};
use models::rnn::{Elman, elman_loss_grad_with};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[differentiable(wrt(w1, b1, w2, b2, w3, b3), hvp)]
#[allow(clippy::too_many_arguments)]
fn three_layers(
    x: &Array2<f32>,
    labels: &[usize],
    w1: &Array2<f32>,
    b1: &Array1<f32>,
    w2: &Array2<f32>,
    b2: &Array1<f32>,
    w3: &Array2<f32>,
    b3: &Array1<f32>,
) -> f32 {
    let h1 = relu(&linear(x, w1, b1));
    let h2 = relu(&linear(&h1, w2, b2));
    cross_entropy(&linear(&h2, w3, b3), labels)
}

/// The same step, hand-written with the same kernels.
#[allow(clippy::too_many_arguments)]
fn hand_written(
    x: &Array2<f32>,
    labels: &[usize],
    w1: &Array2<f32>,
    b1: &Array1<f32>,
    w2: &Array2<f32>,
    b2: &Array1<f32>,
    w3: &Array2<f32>,
    b3: &Array1<f32>,
) -> (f32, [Array2<f32>; 3], [Array1<f32>; 3]) {
    let z1 = linear(x, w1, b1);
    let h1 = relu(&z1);
    let z2 = linear(&h1, w2, b2);
    let h2 = relu(&z2);
    let z3 = linear(&h2, w3, b3);
    let loss = cross_entropy(&z3, labels);
    let g = cross_entropy_vjp(&z3, labels, &loss, 1.0, [true, false]).0.unwrap();
    let (g, gw3, gb3) = linear_vjp(&h2, w3, b3, &z3, g, [true, true, true]);
    let g = relu_vjp(&z2, &h2, g.unwrap(), [true]).0.unwrap();
    let (g, gw2, gb2) = linear_vjp(&h1, w2, b2, &z2, g, [true, true, true]);
    let g = relu_vjp(&z1, &h1, g.unwrap(), [true]).0.unwrap();
    let (_, gw1, gb1) = linear_vjp(x, w1, b1, &z1, g, [false, true, true]);
    (
        loss,
        [gw1.unwrap(), gw2.unwrap(), gw3.unwrap()],
        [gb1.unwrap(), gb2.unwrap(), gb3.unwrap()],
    )
}

/// A layer's weight and bias.
type Layer = (Array2<f32>, Array1<f32>);

/// A batch of 64 and the layers of a 784-512-512-10 network.
fn three_layer_problem() -> (Array2<f32>, Vec<usize>, [Layer; 3]) {
    let x = Array2::from_shape_fn((64, 784), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
    let labels = (0..64).map(|i| i % 10).collect();
    let layer = |o: usize, i: usize| {
        (
            Array2::from_shape_fn((o, i), |(a, b)| ((a + 3 * b) % 7) as f32 * 0.01 - 0.03),
            Array1::zeros(o),
        )
    };
    (x, labels, [layer(512, 784), layer(512, 512), layer(10, 512)])
}

/// The heap usage of `f` once steady: measured up to four times, the first
/// run that allocates nothing, else the last. Each thread's packing memory
/// grows the first time it runs a part of a large product; with the cores
/// busy, which thread runs which part can change from step to step, so a
/// thread may meet its largest part only in a later step. A buffer lost every
/// step still shows in every run.
fn steady_usage(mut f: impl FnMut()) -> autodiff::stats::HeapUsage {
    let mut measured = usage(&mut f);
    for _ in 0..3 {
        if measured.allocations == 0 {
            break;
        }
        measured = usage(&mut f);
    }
    measured
}

#[test]
fn generated_gradient_uses_no_more_memory_than_hand_written() {
    use autodiff::gemm::{Backend, backend, with_backend};
    let ours = match backend() {
        Backend::Matrixmultiply => Backend::Portable,
        other => other,
    };
    with_backend(ours, measure_everything);
}

fn measure_everything() {
    // First, while glibc's thresholds have not yet adapted to this binary's
    // other allocations.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    freed_gradients_stay_in_the_process();

    let (x, labels, [(w1, b1), (w2, b2), (w3, b3)]) = three_layer_problem();

    // Warm up: thread pools and lazily built tables allocate once.
    let _ = three_layers_grad(&x, &labels, &w1, &b1, &w2, &b2, &w3, &b3);
    let _ = hand_written(&x, &labels, &w1, &b1, &w2, &b2, &w3, &b3);

    let mut generated_value = 0.0;
    let generated = usage(|| {
        generated_value = three_layers_grad(&x, &labels, &w1, &b1, &w2, &b2, &w3, &b3).0;
    });
    let mut hand_value = 0.0;
    let hand = usage(|| {
        hand_value = hand_written(&x, &labels, &w1, &b1, &w2, &b2, &w3, &b3).0;
    });
    assert_eq!(generated_value, hand_value);
    println!("generated: {generated:?}\nhand-written: {hand:?}");
    assert!(generated.allocations <= hand.allocations, "{generated:?} vs {hand:?}");
    assert!(generated.bytes <= hand.bytes, "{generated:?} vs {hand:?}");
    assert!(generated.peak <= hand.peak, "{generated:?} vs {hand:?}");
    // The plan frees activations during the backward pass, so the peak is lower.
    assert!(generated.peak < hand.peak, "{generated:?} vs {hand:?}");

    workspace_steady_state();
}

#[differentiable(wrt(w1, w2, w3, w4))]
fn four_products(x: &Array2<f64>, w1: &Array2<f64>, w2: &Array2<f64>, w3: &Array2<f64>, w4: &Array2<f64>) -> f64 {
    let h = tanh(&matmul(&tanh(&matmul(&tanh(&matmul(x, w1)), w2)), w3));
    sum(&matmul(&h, w4))
}

/// The page faults of this thread so far (`minflt` of /proc/thread-self/stat).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux");
    let after_name = &stat[stat.rfind(')').expect("(comm)") + 1..];
    after_name
        .split_whitespace()
        .nth(7)
        .expect("minflt")
        .parse()
        .expect("a number")
}

/// The plain `_grad` returns new gradients (here 4 × 1 MiB) that the caller
/// frees; with glibc's default thresholds that memory went back to the kernel
/// and every call faulted about 1,000 pages in again. After the runtime's `mallopt`,
/// the freed memory is reused. The products stay below the size that wakes
/// helper threads, so every page is touched by this thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn freed_gradients_stay_in_the_process() {
    let x = Array2::from_shape_fn((1, 256), |(_, j)| (j as f64 * 0.37).sin());
    let w = |shape: (usize, usize), seed: f64| {
        Array2::from_shape_fn(shape, |(i, j)| ((i * shape.1 + j) as f64 * seed).sin() * 0.06)
    };
    let (w1, w2) = (w((256, 512), 0.11), w((512, 256), 0.13));
    let (w3, w4) = (w((256, 512), 0.17), w((512, 256), 0.19));
    for _ in 0..3 {
        drop(four_products_grad(&x, &w1, &w2, &w3, &w4));
    }
    let calls = 20;
    let before = minor_faults();
    for _ in 0..calls {
        let (_, g) = four_products_grad(&x, &w1, &w2, &w3, &w4);
        assert!(g.w1.iter().all(|v| v.is_finite()));
        drop(g);
    }
    let per_call = (minor_faults() - before) as f64 / calls as f64;
    println!("page faults per plain _grad call: {per_call}");
    assert!(
        per_call < 20.0,
        "{per_call} page faults per call: freed gradients went back to the kernel ({}=0, or glibc's malloc tunables set?)",
        autodiff::workspace::MALLOPT_ENV
    );
}

/// Steady state with a workspace: after the first steps, every array of the
/// step comes from the workspace and the matrix products reuse their packing
/// memory, so a gradient call allocates nothing.
fn workspace_steady_state() {
    let (x, labels, [(w1, b1), (w2, b2), (w3, b3)]) = three_layer_problem();
    let mut ws = Workspace::new();
    let step = |ws: &mut Workspace| {
        let (loss, g) = three_layers_grad_with(ws, &x, &labels, &w1, &b1, &w2, &b2, &w3, &b3);
        ws.recycle((g.w1, g.b1, g.w2, g.b2, g.w3, g.b3));
        loss
    };
    let first = step(&mut ws);
    step(&mut ws);
    let mut steady_loss = 0.0;
    let steady = steady_usage(|| steady_loss = step(&mut ws));
    assert_eq!(steady_loss, first, "same result from reused buffers");
    let plain = usage(|| {
        three_layers_grad(&x, &labels, &w1, &b1, &w2, &b2, &w3, &b3);
    });
    println!("plain step: {plain:?}\nworkspace step: {steady:?}");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "a steady-state gradient call allocates nothing"
    );
    assert!(plain.allocations > 0, "the measurement sees allocations");

    let f32_step: GradWith<f32> = |ws, model, x, labels, mask| {
        let (loss, grad) = mlp_loss_f32_grad_with(ws, model, x, labels, mask, KEEP as f32);
        (loss, grad.model)
    };
    let f64_step: GradWith<f64> = |ws, model, x, labels, mask| {
        let (loss, grad) = mlp_loss_f64_grad_with(ws, model, x, labels, mask, KEEP);
        (loss, grad.model)
    };
    recurrent_steps_allocate_nothing();
    deep_steps_allocate_nothing();
    convolutional_steps_allocate_nothing();
    transformer_steps_allocate_nothing();
    second_order_steps_allocate_nothing();
    training_steps_allocate_nothing(f32_step, 16, [64, 32, 10]);
    training_steps_allocate_nothing(f64_step, 16, [64, 32, 10]);
    training_steps_allocate_nothing(f32_step, 128, [784, 256, 10]);
    training_steps_allocate_nothing(f64_step, 128, [784, 256, 10]);
}

#[derive(Params)]
struct Mlp<F: Float> {
    w1: Array2<F>,
    b1: Array1<F>,
    w2: Array2<F>,
    b2: Array1<F>,
}

/// The keep probability of the dropout in the training-step test.
const KEEP: f64 = 0.9;

/// One loss per precision (the macro takes concrete element types), with
/// dropout and weight penalties: scalar arithmetic must not allocate either.
macro_rules! mlp_loss {
    ($name:ident, $f:ty) => {
        #[differentiable(wrt(model))]
        fn $name(model: &Mlp<$f>, x: &Array2<$f>, labels: &[usize], mask: &Array2<$f>, keep: $f) -> $f {
            let hidden = dropout(&relu(&linear(x, &model.w1, &model.b1)), mask, keep);
            cross_entropy(&linear(&hidden, &model.w2, &model.b2), labels) + 1e-4 * l2(&model.w1)
                - l1(&model.w2) / 1000.0
        }
    };
}
mlp_loss!(mlp_loss_f32, f32);
mlp_loss!(mlp_loss_f64, f64);

/// The gradient call of one precision, as a plain function.
type GradWith<F> = fn(&mut Workspace, &Mlp<F>, &Array2<F>, &[usize], &Array2<F>) -> (F, Mlp<F>);

/// A whole training step as tutorial 14 writes it (a shuffled minibatch
/// selected into kept buffers, a fresh dropout mask, the gradient in a
/// workspace, an Adam update, the gradient handed back) allocates nothing once
/// warm, for products small enough for one thread and large enough for the
/// pool.
fn training_steps_allocate_nothing<F: Float>(
    grad_with: GradWith<F>,
    batch: usize,
    [inputs, hidden, classes]: [usize; 3],
) {
    use autodiff::train::{Adam, Optimizer, dropout_mask_into, minibatches, select_labels_into, select_rows_into};
    use rand::{SeedableRng, rngs::StdRng};
    let value = |seed: usize| F::of(((seed * 7919) % 23) as f64 / 23.0 - 0.5);
    let data = Array2::from_shape_fn((2 * batch, inputs), |(i, j)| value(i * inputs + j));
    let all_labels: Vec<usize> = (0..2 * batch).map(|i| i % classes).collect();
    let mut model = Mlp {
        w1: Array2::from_shape_fn((hidden, inputs), |(i, j)| value(i + 3 * j) * F::of(0.1)),
        b1: Array1::zeros(hidden),
        w2: Array2::from_shape_fn((classes, hidden), |(i, j)| value(5 * i + j) * F::of(0.1)),
        b2: Array1::zeros(classes),
    };
    let mut rng = StdRng::seed_from_u64(6);
    let batches = minibatches(2 * batch, batch, &mut rng);
    let mut optimizer = Adam::new(1e-2);
    let mut ws = Workspace::new();
    let (mut x, mut labels, mut mask) = (Array2::zeros((0, 0)), Vec::new(), Array2::zeros((0, 0)));
    let mut step = |model: &mut Mlp<F>, indices: &[usize]| {
        select_rows_into(&data, indices, &mut x);
        select_labels_into(&all_labels, indices, &mut labels);
        dropout_mask_into(&mut mask, (indices.len(), hidden), KEEP, &mut rng);
        let (loss, grad) = grad_with(&mut ws, model, &x, &labels, &mask);
        optimizer.step(model, &grad);
        ws.recycle(grad);
        loss
    };
    let ones = Array2::from_elem((2 * batch, hidden), F::one());
    let keep_all = |model: &Mlp<F>| grad_with(&mut Workspace::new(), model, &data, &all_labels, &ones).0;
    let before = keep_all(&model);
    step(&mut model, &batches[0]);
    step(&mut model, &batches[1]);
    let steady = steady_usage(|| {
        step(&mut model, &batches[0]);
    });
    let what = format!(
        "{} batch {batch}, {inputs}-{hidden}-{classes}",
        std::any::type_name::<F>()
    );
    println!("training step, {what}: {steady:?}");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "{what}: a steady-state training step allocates nothing"
    );
    // With every unit kept (keep = 0.9 is only the rescaling), the loss fell.
    let after = keep_all(&model);
    assert!(after < before, "{what}: the steps train ({before:?} → {after:?})");
}

/// A steady-state training step of the RNN (28 steps of 28 inputs, 64 hidden
/// units, batch 32) allocates nothing: every per-iteration store and every
/// saved activation comes from the workspace.
fn recurrent_steps_allocate_nothing() {
    use autodiff::train::{Adam, Optimizer};
    let (batch, steps, inputs, hidden) = (32, 28, 28, 64);
    let value = |seed: usize| ((seed * 7919) % 23) as f32 / 23.0 - 0.5;
    let xs: Vec<Array2<f32>> = (0..steps)
        .map(|t| Array2::from_shape_fn((batch, inputs), |(i, j)| value(t * 1000 + i * inputs + j)))
        .collect();
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut rnn = Elman {
        wx: Array2::from_shape_fn((hidden, inputs), |(i, j)| value(i + 3 * j) * 0.1),
        b: Array1::zeros(hidden),
        u: Array2::from_shape_fn((hidden, hidden), |(i, j)| value(7 * i + j) * 0.1),
        wo: Array2::from_shape_fn((10, hidden), |(i, j)| value(5 * i + j) * 0.1),
        bo: Array1::zeros(10),
    };
    let mut optimizer = Adam::new(1e-3);
    let mut ws = Workspace::new();
    let mut step = |rnn: &mut Elman<f32>| {
        let (loss, grad) = elman_loss_grad_with(&mut ws, rnn, &xs, &labels);
        optimizer.step(rnn, &grad.rnn);
        ws.recycle(grad.rnn);
        loss
    };
    let first = step(&mut rnn);
    step(&mut rnn);
    let mut last = 0.0;
    let steady = steady_usage(|| last = step(&mut rnn));
    println!("recurrent training step: {steady:?}");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "a steady-state RNN step allocates nothing"
    );
    assert!(last < first, "the steps train ({first} → {last})");
}

#[derive(Params)]
struct DenseLayer {
    w: Array2<f32>,
    b: Array1<f32>,
}

#[derive(Params)]
struct Deep {
    layers: Vec<DenseLayer>,
    head: DenseLayer,
}

#[differentiable(wrt(net))]
fn deep_loss(net: &Deep, x: &Array2<f32>, labels: &[usize]) -> f32 {
    let mut h = tanh(x);
    for layer in &net.layers {
        h = relu(&linear(&h, &layer.w, &layer.b));
    }
    cross_entropy(&linear(&h, &net.head.w, &net.head.b), labels)
}

/// A model whose depth is a number (`Vec<DenseLayer>`): its gradient's list
/// of layers is kept by the workspace too.
fn deep_steps_allocate_nothing() {
    use autodiff::train::{Optimizer, Sgd};
    let value = |seed: usize| ((seed * 7919) % 23) as f32 / 23.0 - 0.5;
    let x = Array2::from_shape_fn((16, 32), |(i, j)| value(i * 32 + j));
    let labels: Vec<usize> = (0..16).map(|i| i % 10).collect();
    let layer = |seed: usize, inputs: usize| DenseLayer {
        w: Array2::from_shape_fn((32, inputs), |(i, j)| value(seed + i + 3 * j) * 0.2),
        b: Array1::zeros(32),
    };
    let mut net = Deep {
        layers: (0..4).map(|i| layer(i * 100, 32)).collect(),
        head: DenseLayer {
            w: Array2::from_shape_fn((10, 32), |(i, j)| value(5 * i + j) * 0.2),
            b: Array1::zeros(10),
        },
    };
    let mut optimizer = Sgd::new(1e-2);
    let mut ws = Workspace::new();
    let mut step = |net: &mut Deep| {
        let (loss, grad) = deep_loss_grad_with(&mut ws, net, &x, &labels);
        optimizer.step(net, &grad.net);
        ws.recycle(grad.net);
        loss
    };
    step(&mut net);
    step(&mut net);
    let steady = steady_usage(|| {
        for _ in 0..8 {
            step(&mut net);
        }
    });
    println!("deep (Vec of layers) training steps: {steady:?}");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "a steady-state deep step allocates nothing"
    );
}

/// A steady-state step of the tutorials' GPT, clipping and AdamW included,
/// allocates nothing: `split`'s parts, the permuted heads, the attention
/// stacks and the name-free passes of the clipping. Big enough that the
/// element-wise and row-wise passes split over the threads.
fn transformer_steps_allocate_nothing() {
    use autodiff::train::{Adam, Optimizer, clip_grad_norm};
    use models::gpt::{Config, Gpt};
    use rand::SeedableRng;
    let config = Config {
        vocab: 65,
        context: 32,
        layers: 2,
        heads: 2,
        width: 64,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut model = Gpt::<f32>::new(config, &mut rng);
    let ids = Array2::from_shape_fn((8, 32), |(i, j)| (i * 7 + j * 3) % 65);
    let targets: Vec<usize> = (0..8 * 32).map(|i| (i * 5) % 65).collect();
    let mut optimizer = Adam::adamw(1e-3, 0.1).decay_where(|_, shape| shape.len() >= 2);
    let mut ws = Workspace::new();
    let mut step = |model: &mut Gpt<f32>, ws: &mut Workspace| {
        let (loss, mut grad) = model.loss_grad_with(ws, &ids, &targets, config.heads);
        clip_grad_norm(&mut grad.self_, 1.0);
        optimizer.step(model, &grad.self_);
        ws.recycle(grad.self_);
        loss
    };
    step(&mut model, &mut ws);
    step(&mut model, &mut ws);
    let steady = steady_usage(|| {
        for _ in 0..4 {
            step(&mut model, &mut ws);
        }
    });
    println!("transformer training steps: {steady:?}");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "a steady-state transformer step allocates nothing"
    );
    // An evaluation by the forward pass alone, on the same workspace, gives
    // the plain function's value and allocates nothing either.
    let plain = model.loss(&ids, &targets, config.heads);
    assert_eq!(model.loss_with(&mut ws, &ids, &targets, config.heads), plain);
    let mut evaluated = 0.0;
    let steady = steady_usage(|| {
        for _ in 0..4 {
            evaluated = model.loss_with(&mut ws, &ids, &targets, config.heads);
        }
        // Evaluations between steps leave the step's buffers in the workspace.
        step(&mut model, &mut ws);
    });
    println!("transformer evaluations and a step: {steady:?}");
    assert_eq!(evaluated, plain);
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "steady-state evaluations and the step after them allocate nothing"
    );
}

/// A steady-state LeNet-5 training step (batch 8 of 28×28 images, taken as a
/// view of a larger set) allocates nothing: the im2col columns, the permuted
/// gradients and every activation come from the workspace.
fn convolutional_steps_allocate_nothing() {
    use autodiff::train::{Adam, Optimizer};
    let value = |seed: usize| ((seed * 7919) % 23) as f32 / 23.0 - 0.5;
    let images = Array4::from_shape_fn((16, 1, 28, 28), |(i, _, y, x)| value(i * 784 + y * 28 + x));
    let labels: Vec<usize> = (0..8).map(|i| i % 10).collect();
    let weights = |shape: &[usize], seed: usize| {
        let fan_in: usize = shape[1..].iter().product();
        let mut k = seed;
        ArrayD::from_shape_simple_fn(shape, || {
            k += 31;
            value(k) / (fan_in as f32).sqrt()
        })
    };
    let four = |shape: [usize; 4], seed| weights(&shape, seed).into_dimensionality().expect("rank 4");
    let two = |shape: [usize; 2], seed| weights(&shape, seed).into_dimensionality().expect("rank 2");
    let mut m = LeNet5 {
        conv1: four([6, 1, 5, 5], 1),
        conv1_b: Array1::zeros(6),
        conv2: four([16, 6, 5, 5], 2),
        conv2_b: Array1::zeros(16),
        fc1: two([120, 400], 3),
        fc1_b: Array1::zeros(120),
        fc2: two([84, 120], 4),
        fc2_b: Array1::zeros(84),
        fc3: two([10, 84], 5),
        fc3_b: Array1::zeros(10),
    };
    let mut optimizer = Adam::new(1e-3);
    let mut ws = Workspace::new();
    let mut step = |m: &mut LeNet5| {
        let x = images.slice(s![4..12, .., .., ..]);
        let (loss, grad) = lenet::loss_grad_with(&mut ws, m, &x, &labels);
        optimizer.step(m, &grad.m);
        ws.recycle(grad.m);
        loss
    };
    let first = step(&mut m);
    step(&mut m);
    let mut last = 0.0;
    let steady = steady_usage(|| last = step(&mut m));
    println!("LeNet-5 training step: {steady:?}");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "a steady-state LeNet-5 step allocates nothing"
    );
    assert!(last < first, "the steps train ({first} → {last})");
}

#[differentiable(wrt(net), hvp)]
fn curvature_loss(net: &Deep, x: &Array2<f32>, labels: &[usize]) -> f32 {
    let mut h = tanh(x);
    for layer in &net.layers {
        h = relu(&linear(&h, &layer.w, &layer.b));
    }
    cross_entropy(&linear(&h, &net.head.w, &net.head.b), labels)
}

/// Steady-state `_hvp_with` and `_jvp_with` allocate nothing either: the
/// tangent rules write into workspace buffers, and the tangents of values and
/// gradients go back to it as the values do, also for a model whose layers
/// are a `Vec` (its loop starts from data: the gradient and tangent nothing
/// reads at the loop's start go back to the workspace too).
fn second_order_steps_allocate_nothing() {
    let (x, labels, [(w1, b1), (w2, b2), (w3, b3)]) = three_layer_problem();
    let v = ThreeLayersGrad {
        w1: w1.mapv(|v| v.sin()),
        b1: b1.mapv(|v| v + 0.5),
        w2: w2.mapv(|v| v.cos()),
        b2: b2.mapv(|v| v - 0.5),
        w3: w3.mapv(|v| v * v),
        b3: b3.mapv(|v| v + 0.25),
    };
    let mut ws = Workspace::new();
    let hvp = |ws: &mut Workspace| {
        let (loss, g, hv) = three_layers_hvp_with(ws, &x, &labels, &w1, &b1, &w2, &b2, &w3, &b3, &v);
        ws.recycle((g.w1, g.b1, g.w2, g.b2, g.w3, g.b3));
        ws.recycle((hv.w1, hv.b1, hv.w2, hv.b2, hv.w3, hv.b3));
        loss
    };
    let first = hvp(&mut ws);
    hvp(&mut ws);
    let mut last = 0.0;
    let steady = steady_usage(|| last = hvp(&mut ws));
    println!("`_hvp_with` step: {steady:?}");
    assert_eq!(last, first, "same result from reused buffers");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "a steady-state `_hvp_with` allocates nothing"
    );
    let jvp = |ws: &mut Workspace| three_layers_jvp_with(ws, &x, &labels, &w1, &b1, &w2, &b2, &w3, &b3, &v).1;
    jvp(&mut ws);
    jvp(&mut ws);
    let steady = steady_usage(|| {
        jvp(&mut ws);
    });
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "a steady-state `_jvp_with` allocates nothing"
    );

    let value = |seed: usize| ((seed * 7919) % 23) as f32 / 23.0 - 0.5;
    let x = Array2::from_shape_fn((16, 32), |(i, j)| value(i * 32 + j));
    let labels: Vec<usize> = (0..16).map(|i| i % 10).collect();
    let layer = |seed: usize, outputs: usize| DenseLayer {
        w: Array2::from_shape_fn((outputs, 32), |(i, j)| value(seed + i + 3 * j) * 0.2),
        b: Array1::from_shape_fn(outputs, |i| value(seed + i)),
    };
    let net = Deep {
        layers: (0..4).map(|i| layer(i * 100, 32)).collect(),
        head: layer(5, 10),
    };
    let v = CurvatureLossGrad {
        net: Deep {
            layers: (0..4).map(|i| layer(i * 100 + 7, 32)).collect(),
            head: layer(13, 10),
        },
    };
    let mut ws = Workspace::new();
    let hvp = |ws: &mut Workspace| {
        let (loss, g, hv) = curvature_loss_hvp_with(ws, &net, &x, &labels, &v);
        ws.recycle((g.net, hv.net));
        loss
    };
    hvp(&mut ws);
    hvp(&mut ws);
    // Several steps: a buffer lost each step shows only once the kept ones
    // run out.
    let steady = steady_usage(|| {
        for _ in 0..8 {
            hvp(&mut ws);
        }
    });
    println!("`_hvp_with` steps of a Vec of layers: {steady:?}");
    assert_eq!(
        (steady.allocations, steady.bytes),
        (0, 0),
        "steady-state `_hvp_with` steps over a Vec of layers allocate nothing"
    );
}
