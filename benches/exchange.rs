//! The gradient exchange of data-parallel training on 2 MPI ranks of one
//! thread each: a training step's gradient (forward + backward, f32, global
//! minibatch 128, 64 per rank) with no exchange, with the all-reduce after
//! the backward pass (`all_reduce_gradient`), and with the all-reduce
//! overlapped with it (`overlap`, at several bucket sizes); in interleaved
//! rounds, times of the slower rank.
//!
//! Run: `cargo bench --features mpi --bench exchange` (it starts itself
//! under `mpirun -np 2`; needs Open MPI).

use std::process::Command;

use autodiff::distributed::Distributed;
use autodiff::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "support/interleaved.rs"]
mod interleaved;
#[path = "support/machine.rs"]
mod machine;
use interleaved::interleaved;

const BATCH: usize = 128;
const REPS: usize = 10;
const ROUNDS: usize = 11;

/// Tutorial 10's MLP.
#[derive(Params, Clone)]
struct Mlp {
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
    w3: Array2<f32>,
    b3: Array1<f32>,
}

#[differentiable(wrt(model))]
fn mlp_loss(model: &Mlp, x: &ArrayRef2<f32>, labels: &[usize]) -> f32 {
    let h1 = relu(&linear(x, &model.w1, &model.b1));
    let h2 = relu(&linear(&h1, &model.w2, &model.b2));
    cross_entropy(&linear(&h2, &model.w3, &model.b3), labels)
}

#[derive(Params, Clone)]
struct Layer {
    w: Array2<f32>,
    b: Array1<f32>,
}

/// A deeper network of equal layers: more to overlap.
#[derive(Params, Clone)]
struct Deep {
    input: Layer,
    layers: Vec<Layer>,
    head: Layer,
}

#[differentiable(wrt(model))]
fn deep_loss(model: &Deep, x: &ArrayRef2<f32>, labels: &[usize]) -> f32 {
    let mut h = relu(&linear(x, &model.input.w, &model.input.b));
    for layer in &model.layers {
        h = relu(&linear(&h, &layer.w, &layer.b));
    }
    cross_entropy(&linear(&h, &model.head.w, &model.head.b), labels)
}

fn layer(outputs: usize, inputs: usize, rng: &mut StdRng) -> Layer {
    let scale = (2.0 / inputs as f32).sqrt();
    Layer {
        w: Array2::from_shape_fn((outputs, inputs), |_| rng.random_range(-scale..scale)),
        b: Array1::zeros(outputs),
    }
}

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_RANK").is_none() {
        launch();
        return;
    }
    let dist = Distributed::init().expect("MPI starts");
    let mut rng = StdRng::seed_from_u64(7);
    let local = BATCH / dist.size();
    let x = Array2::from_shape_fn((local, 784), |_| rng.random_range(-1.0f32..1.0));
    let labels: Vec<usize> = (0..local).map(|i| i % 10).collect();
    if dist.is_root() {
        println!("{}", machine::describe());
        println!(
            "{} ranks; global minibatch {BATCH}, {local} per rank; ms per step, slower rank, median of {ROUNDS} rounds of {REPS}\n",
            dist.size()
        );
        println!("| model | bucket | backward alone | + all-reduce after | overlapped | saved | of the exchange |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
    }

    let mlp = Mlp {
        w1: layer(500, 784, &mut rng).w,
        b1: Array1::zeros(500),
        w2: layer(150, 500, &mut rng).w,
        b2: Array1::zeros(150),
        w3: layer(10, 150, &mut rng).w,
        b3: Array1::zeros(10),
    };
    let deep = Deep {
        input: layer(1024, 784, &mut rng),
        layers: (0..3).map(|_| layer(1024, 1024, &mut rng)).collect(),
        head: layer(10, 1024, &mut rng),
    };
    let mut ws = Workspace::new();
    for bucket in [64 << 10, 256 << 10, 1 << 20, 64 << 20] {
        dist.set_bucket_bytes(bucket);
        let mlp_step = |ws: &mut Workspace| mlp_loss_grad_with(ws, &mlp, &x, &labels).1.model;
        measure(&dist, "mnist MLP (0.47 M)", bucket, &mut ws, mlp_step, local);
        let deep_step = |ws: &mut Workspace| deep_loss_grad_with(ws, &deep, &x, &labels).1.model;
        measure(&dist, "deep (3.97 M)", bucket, &mut ws, deep_step, local);
    }
}

/// One row: the step alone against the step with each exchange.
fn measure<P: Params<Elem = f32> + autodiff::workspace::Recycle>(
    dist: &Distributed,
    model: &str,
    bucket: usize,
    ws: &mut Workspace,
    step: impl Fn(&mut Workspace) -> P,
    local: usize,
) {
    let ws = std::cell::RefCell::new(ws);
    let alone = || {
        let g = step(&mut ws.borrow_mut());
        ws.borrow_mut().recycle(g);
        dist.barrier();
    };
    let after = || {
        let mut g = step(&mut ws.borrow_mut());
        dist.all_reduce_gradient(&mut g, local, BATCH);
        ws.borrow_mut().recycle(g);
        dist.barrier();
    };
    let overlapped = || {
        let g = dist.overlap(local, BATCH, || step(&mut ws.borrow_mut()));
        ws.borrow_mut().recycle(g);
        dist.barrier();
    };
    // Warm-up: the workspace and the buckets reach their sizes.
    for _ in 0..3 {
        alone();
        after();
        overlapped();
    }
    let (_, t_alone, t_after) = interleaved(alone, after, REPS, ROUNDS);
    let (_, t_after2, t_overlap) = interleaved(after, overlapped, REPS, ROUNDS);
    let slowest = |t: f64| dist.max(t) / 1e3;
    let (t_alone, t_after, t_after2, t_overlap) = (
        slowest(t_alone),
        slowest(t_after),
        slowest(t_after2),
        slowest(t_overlap),
    );
    if dist.is_root() {
        let saved = t_after2 - t_overlap;
        let exchange = t_after - t_alone;
        println!(
            "| {model} | {} KiB | {t_alone:.2} | {t_after2:.2} | {t_overlap:.2} | {saved:.2} | {:.0}% |",
            bucket >> 10,
            100.0 * saved / exchange
        );
    }
}

/// Runs this program again under `mpirun -np 2`, one thread per rank.
fn launch() {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let status = Command::new("mpirun")
        .args(["-np", "2", "--oversubscribe", "--bind-to", "core"])
        .arg(exe)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("AUTODIFF_NUM_THREADS", "1")
        .status()
        .expect("mpirun runs (install openmpi-bin)");
    std::process::exit(status.code().unwrap_or(1));
}
