//! Tutorial 14: a training loop that allocates nothing.
//!
//! Tutorial 04's loop is written for reading: each step selects its
//! minibatch into new arrays, draws a new dropout mask and calls `loss_grad`,
//! whose gradients are new arrays too. That is 8 allocations per step (the
//! tutorial counts them), cheap next to the products of a large network but
//! not free, and some
//! users want a loop that never touches the allocator (predictable latency,
//! no fragmentation over days of training). Three changes make it so:
//!
//! * `select_rows_into` / `select_labels_into` / `dropout_mask_into` fill
//!   arrays kept across steps;
//! * `loss_grad_with(&mut workspace, ...)` takes the step's arrays from a
//!   `Workspace` and puts them back;
//! * `workspace.recycle(grad)` returns the gradients once the optimiser has
//!   used them.
//!
//! The tutorial trains the same model from the same seed both ways, counts
//! every allocation with a counting global allocator, and checks that the
//! two loops end with the same weights, bit for bit.
//!
//! Run: `cargo run --release --example 14_allocation_free`

#[path = "common/mod.rs"]
mod common;

use autodiff::prelude::*;
use autodiff::stats::{CountingAllocator, HeapUsage, heap_usage};
use autodiff::train::{
    Adam, Init, Optimizer, dropout_mask, dropout_mask_into, init, minibatches, select_labels, select_labels_into,
    select_rows, select_rows_into,
};
use common::Split;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[derive(Params, Clone)]
struct Mlp {
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

/// Tutorial 04's training loss.
#[differentiable(wrt(model))]
fn loss(model: &Mlp, x: &Array2<f32>, labels: &[usize], mask: &Array2<f32>, keep: f32, decay: f32) -> f32 {
    let h = relu(&linear(x, &model.w1, &model.b1));
    let h = dropout(&h, mask, keep);
    let z = linear(&h, &model.w2, &model.b2);
    cross_entropy(&z, labels) + decay * (l2(&model.w1) + l2(&model.w2))
}

const HIDDEN: usize = 256;
const EPOCHS: usize = 5;
const BATCH: usize = 32;
const KEEP: f32 = 0.8;
const DECAY: f32 = 1e-4;

fn new_model(rng: &mut StdRng) -> Mlp {
    let mut model = Mlp {
        w1: Array2::zeros((HIDDEN, 64)),
        b1: Array1::zeros(HIDDEN),
        w2: Array2::zeros((10, HIDDEN)),
        b2: Array1::zeros(10),
    };
    init(&mut model, Init::KaimingNormal, rng);
    model
}

/// What the last epoch's steps cost, summed over its steps.
struct Cost {
    steps: usize,
    heap: HeapUsage,
    seconds: f64,
}

impl Cost {
    fn add(&mut self, heap: HeapUsage, seconds: f64) {
        self.steps += 1;
        self.heap.allocations += heap.allocations;
        self.heap.bytes += heap.bytes;
        self.seconds += seconds;
    }

    fn print(&self, name: &str) {
        let n = self.steps as f64;
        println!(
            "| {name} | {:.1} | {:.0} | {:.1} |",
            self.heap.allocations as f64 / n,
            self.heap.bytes as f64 / n,
            1e6 * self.seconds / n
        );
    }
}

fn empty() -> Cost {
    Cost {
        steps: 0,
        heap: HeapUsage {
            allocations: 0,
            bytes: 0,
            peak: 0,
        },
        seconds: 0.0,
    }
}

/// Tutorial 04's loop, written for reading.
fn plain(x_train: &Array2<f32>, labels: &[usize]) -> (Mlp, Cost) {
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = new_model(&mut rng);
    let mut optimizer = Adam::new(3e-3);
    let mut cost = empty();
    for epoch in 0..EPOCHS {
        for batch in &minibatches(labels.len(), BATCH, &mut rng) {
            let started = std::time::Instant::now();
            let heap = heap_usage(|| {
                let (x, y) = (select_rows(x_train, batch), select_labels(labels, batch));
                let mask = dropout_mask((batch.len(), HIDDEN), f64::from(KEEP), &mut rng);
                let (_, grad) = loss_grad(&model, &x, &y, &mask, KEEP, DECAY);
                optimizer.step(&mut model, &grad.model);
            });
            if epoch == EPOCHS - 1 {
                cost.add(heap, started.elapsed().as_secs_f64());
            }
        }
    }
    (model, cost)
}

/// The same loop without allocations: kept buffers and a workspace.
fn allocation_free(x_train: &Array2<f32>, labels: &[usize]) -> (Mlp, Cost) {
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = new_model(&mut rng);
    let mut optimizer = Adam::new(3e-3);
    let mut workspace = Workspace::new();
    let (mut x, mut y, mut mask) = (Array2::zeros((0, 0)), Vec::new(), Array2::zeros((0, 0)));
    let mut cost = empty();
    for epoch in 0..EPOCHS {
        for batch in &minibatches(labels.len(), BATCH, &mut rng) {
            let started = std::time::Instant::now();
            let heap = heap_usage(|| {
                select_rows_into(x_train, batch, &mut x);
                select_labels_into(labels, batch, &mut y);
                dropout_mask_into(&mut mask, (batch.len(), HIDDEN), f64::from(KEEP), &mut rng);
                let (_, grad) = loss_grad_with(&mut workspace, &model, &x, &y, &mask, KEEP, DECAY);
                optimizer.step(&mut model, &grad.model);
                workspace.recycle(grad.model);
            });
            if epoch == EPOCHS - 1 {
                cost.add(heap, started.elapsed().as_secs_f64());
            }
        }
    }
    (model, cost)
}

fn main() {
    let split = Split::digits();
    let [x_train, _, _] = split.standardized();
    let labels = &split.train.labels;
    println!(
        "tutorial 04's model on {} training digits, {EPOCHS} epochs of minibatches of {BATCH}, both loops from seed 0",
        labels.len()
    );
    let (model_a, cost_a) = plain(&x_train, labels);
    let (model_b, cost_b) = allocation_free(&x_train, labels);

    println!(
        "\nper step of the last epoch ({} steps; GEMM backend {:?}):\n",
        cost_a.steps,
        autodiff::gemm::backend()
    );
    println!("| loop | allocations | bytes allocated | µs |\n|---|---:|---:|---:|");
    cost_a.print("plain: select_rows, dropout_mask, loss_grad");
    cost_b.print("allocation-free: *_into, loss_grad_with, recycle");

    let same = model_a.views().iter().zip(model_b.views()).all(|(a, b)| a == b);
    println!(
        "\nthe two loops' final weights are {}",
        if same { "the same, bit for bit" } else { "DIFFERENT" }
    );
    assert!(same, "the two loops compute the same steps");
    if autodiff::gemm::backend() == autodiff::gemm::Backend::Matrixmultiply {
        println!(
            "(the matrixmultiply backend allocates its packing buffers on every product: \
             AUTODIFF_GEMM=portable gives the allocation-free loop its zero)"
        );
    } else {
        assert_eq!(cost_b.heap.allocations, 0, "a steady-state step allocates nothing");
    }
}
