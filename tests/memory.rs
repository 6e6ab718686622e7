//! The static memory plan, measured with a counting global allocator: one
//! generated gradient call allocates no more bytes, and holds no more live
//! bytes at its peak, than hand-written backprop with the same kernels.
//!
//! One test function only: the counters are global, so nothing else may run
//! in this binary at the same time.

use autodiff::prelude::*;
use autodiff::stats::{CountingAllocator, HeapUsage as Usage, heap_usage as usage};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[differentiable(wrt(w1, b1, w2, b2, w3, b3))]
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

#[test]
fn generated_gradient_uses_no_more_memory_than_hand_written() {
    let x = Array2::from_shape_fn((64, 784), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
    let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let layer = |o: usize, i: usize| {
        (
            Array2::from_shape_fn((o, i), |(a, b)| ((a + 3 * b) % 7) as f32 * 0.01 - 0.03),
            Array1::zeros(o),
        )
    };
    let ((w1, b1), (w2, b2), (w3, b3)) = (layer(512, 784), layer(512, 512), layer(10, 512));

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

/// Steady state with a workspace: after the first step, the step's own arrays
/// come from the workspace; what is still allocated is the GEMM library's
/// packing memory, the same with or without a workspace.
fn workspace_steady_state() {
    let x = Array2::from_shape_fn((64, 784), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
    let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let layer = |o: usize, i: usize| {
        (
            Array2::from_shape_fn((o, i), |(a, b)| ((a + 3 * b) % 7) as f32 * 0.01 - 0.03),
            Array1::zeros(o),
        )
    };
    let ((w1, b1), (w2, b2), (w3, b3)) = (layer(512, 784), layer(512, 512), layer(10, 512));
    let mut ws = Workspace::new();
    let step = |ws: &mut Workspace| {
        let (loss, g) = three_layers_grad_with(ws, &x, &labels, &w1, &b1, &w2, &b2, &w3, &b3);
        ws.recycle((g.w1, g.b1, g.w2, g.b2, g.w3, g.b3));
        loss
    };
    let first = step(&mut ws);
    step(&mut ws);
    let mut steady_loss = 0.0;
    let steady = usage(|| steady_loss = step(&mut ws));
    assert_eq!(steady_loss, first, "same result from reused buffers");
    let plain = usage(|| {
        three_layers_grad(&x, &labels, &w1, &b1, &w2, &b2, &w3, &b3);
    });
    // Count what the GEMMs allocate by themselves: the same products, once more.
    let gemms = gemm_only(&x, &w1, &w2, &w3);
    println!("plain step: {plain:?}\nworkspace step: {steady:?}\nits 8 GEMMs alone: {gemms:?}");
    assert!(
        steady.allocations <= gemms.allocations,
        "the step adds no allocations of its own"
    );
    assert!(steady.bytes <= gemms.bytes, "nor bytes");
    assert!(steady.allocations < plain.allocations);
}

/// The matrix products of the three-layer step (3 forward, 5 backward), in a
/// workspace, with every operand prepared outside the measurement: what is
/// left is what the GEMM library allocates by itself.
fn gemm_only(x: &Array2<f32>, w1: &Array2<f32>, w2: &Array2<f32>, w3: &Array2<f32>) -> Usage {
    let (w1t, w2t, w3t) = (w1.t().to_owned(), w2.t().to_owned(), w3.t().to_owned());
    let mut ws = Workspace::new();
    let mut measured = None;
    for round in 0..3 {
        let upstream = Array2::<f32>::ones((x.nrows(), w3.nrows()));
        let products = usage(|| {
            ws.run(|| {
                let z1 = matmul(x, &w1t);
                let z2 = matmul(&z1, &w2t);
                let z3 = matmul(&z2, &w3t);
                let (g2, gw3) = matmul_vjp(&z2, &w3t, &z3, upstream, [true, true]);
                let (g1, gw2) = matmul_vjp(&z1, &w2t, &z2, g2.expect("needed"), [true, true]);
                let (_, gw1) = matmul_vjp(x, &w1t, &z1, g1.expect("needed"), [false, true]);
                for array in [
                    z1,
                    z2,
                    z3,
                    gw1.expect("needed"),
                    gw2.expect("needed"),
                    gw3.expect("needed"),
                ] {
                    autodiff::workspace::recycle_array(array);
                }
            })
        });
        if round == 2 {
            measured = Some(products);
        }
    }
    measured.expect("three rounds")
}
