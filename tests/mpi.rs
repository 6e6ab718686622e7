//! Data-parallel training over MPI, for real: `mpirun -np 2` runs this test
//! binary's `rank_program` (ignored in a normal run) on two ranks of
//! localhost. Two ranks training for a few steps on shards of the same global
//! minibatches reach the weights one process reaches on the whole
//! minibatches, to float rounding; with branches that the shards take
//! differently, the weights of one process computing the same shards'
//! gradients; reduced during the backward pass, the weights of reducing
//! after it, to the bit, with any bucket size; and a rank that panics ends
//! the job with its message instead of leaving the other waiting.
//!
//! Needs the feature `mpi` and Open MPI's `mpirun` (see `.ci/run`).
#![cfg(feature = "mpi")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autodiff::distributed::Distributed;
use autodiff::prelude::*;
use autodiff::train::{Optimizer, Sgd, select_labels, select_rows};

#[derive(Params, Clone)]
struct Layer {
    w: Array2<f64>,
    b: Array1<f64>,
}

/// Layers visited by a loop, a head, and a matrix that only some shards use.
#[derive(Params, Clone)]
struct Net {
    layers: Vec<Layer>,
    head: Layer,
    mix: Array2<f64>,
}

#[differentiable(wrt(m))]
fn loss(m: &Net, x: &ArrayRef2<f64>, labels: &[usize], branches: bool) -> f64 {
    let mut h = tanh(x);
    for layer in &m.layers {
        h = tanh(&linear(&h, &layer.w, &layer.b));
    }
    // With `branches`, the ranks' shards take different arms: the gradient
    // exchange must not depend on which. (The loss is then not the mean of
    // per-example losses, so one process on the whole minibatch differs.)
    if branches && labels[0] == 0 {
        h = tanh(&matmul(&h, &m.mix));
    }
    cross_entropy(&linear(&h, &m.head.w, &m.head.b), labels)
}

const STEPS: usize = 6;
/// An odd global minibatch: the two shards differ in size (7 and 8), so the
/// weighting of unequal shards is exercised.
const BATCH: usize = 15;

fn value(seed: usize) -> f64 {
    ((seed * 7919 + 13) % 101) as f64 / 101.0 - 0.5
}

fn matrix(rows: usize, cols: usize, seed: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| value(seed + i * cols + j))
}

fn net(seed: usize) -> Net {
    let layer = |k: usize| Layer {
        w: matrix(5, 5, seed + 100 * k),
        b: Array1::from_shape_fn(5, |i| value(seed + 100 * k + 50 + i) * 0.1),
    };
    Net {
        layers: vec![layer(1), layer(2)],
        head: Layer {
            w: matrix(3, 5, seed + 300),
            b: Array1::zeros(3),
        },
        mix: matrix(5, 5, seed + 400),
    }
}

/// How the gradients of the ranks' shards are combined.
#[derive(Clone, Copy, Debug)]
enum Exchange {
    /// One process on the whole global minibatch.
    Whole,
    /// One process computes every shard's gradient and adds them, weighted.
    Alone,
    /// `all_reduce_gradient` after the backward pass.
    After,
    /// `overlap` during the backward pass, starting buckets of this size.
    Overlap(usize),
}

/// The contiguous shards of `batch` over `ranks`, as `Distributed::shard` cuts them.
fn shards(batch: &[usize], ranks: usize) -> Vec<&[usize]> {
    let n = batch.len();
    (0..ranks).map(|r| &batch[n * r / ranks..n * (r + 1) / ranks]).collect()
}

/// Trains from rank 0's initial weights on shards of the same global minibatches.
fn train(dist: Option<&Distributed>, how: Exchange, branches: bool, x: &Array2<f64>, labels: &[usize]) -> Net {
    // Ranks other than 0 start elsewhere: the broadcast must fix that.
    let mut m = net(dist.map_or(0, |d| d.rank() * 1000));
    if let Some(dist) = dist {
        dist.broadcast(&mut m);
    }
    let mut sgd = Sgd::new(0.5);
    let gradient = |m: &Net, mine: &[usize]| {
        loss_grad(m, &select_rows(x, mine), &select_labels(labels, mine), branches)
            .1
            .m
    };
    for step in 0..STEPS {
        let batch: Vec<usize> = (0..BATCH).map(|i| (step * BATCH + i) % x.nrows()).collect();
        let g = match (dist, how) {
            (None, Exchange::Whole) => gradient(&m, &batch),
            (None, _) | (_, Exchange::Alone | Exchange::Whole) => {
                let parts = shards(&batch, 2);
                let mut total = gradient(&m, parts[0]).scaled(parts[0].len() as f64 / BATCH as f64);
                let other = gradient(&m, parts[1]).scaled(parts[1].len() as f64 / BATCH as f64);
                total.visit_zip_mut(&other, &mut |mut t, o| t += &o);
                total
            }
            (Some(dist), Exchange::After) => {
                let mine = dist.shard(&batch);
                let mut g = gradient(&m, mine);
                dist.all_reduce_gradient(&mut g, mine.len(), batch.len());
                g
            }
            (Some(dist), Exchange::Overlap(bytes)) => {
                let mine = dist.shard(&batch);
                dist.set_bucket_bytes(bytes);
                dist.overlap(mine.len(), batch.len(), || gradient(&m, mine))
            }
        };
        if let Some(dist) = dist
            && step == 3
            && dist.rank() == 1
            && std::env::var("AUTODIFF_MPI_FAIL").is_ok()
        {
            panic!("rank 1 fails on purpose at step {step}");
        }
        sgd.step(&mut m, &g);
    }
    m
}

trait Scaled {
    fn scaled(self, by: f64) -> Self;
}

impl Scaled for Net {
    fn scaled(mut self, by: f64) -> Net {
        self.visit_mut(&mut |_, mut v| v *= by);
        self
    }
}

fn largest_difference(a: &Net, b: &Net) -> f64 {
    a.views()
        .iter()
        .zip(&b.views())
        .flat_map(|(a, b)| a.iter().zip(b.iter()))
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
}

/// One rank of the job: trains with each exchange and compares with one
/// process on the whole minibatches, and (with branches the shards take
/// differently) with one process computing the same shards' gradients.
#[test]
#[ignore = "run by mpirun from the tests below"]
fn rank_program() {
    let x = Array2::from_shape_fn((40, 5), |(i, j)| value(7 * i + j + 500) * 3.0);
    let labels: Vec<usize> = (0..40).map(|i| (i * 5 + 1) % 3).collect();
    let whole = train(None, Exchange::Whole, false, &x, &labels);
    let alone = train(None, Exchange::Alone, true, &x, &labels);
    let dist = Distributed::init().expect("MPI starts");
    let plain = train(Some(&dist), Exchange::After, false, &x, &labels);
    assert!(dist.exchange_time() > std::time::Duration::ZERO);
    let after = train(Some(&dist), Exchange::After, true, &x, &labels);
    for (reference, ours, what) in [
        (&whole, &plain, "the whole minibatches"),
        (&alone, &after, "the same shards"),
    ] {
        let largest = largest_difference(reference, ours);
        println!(
            "rank {} of {}: largest difference from one process on {what} {largest:e}",
            dist.rank(),
            dist.size()
        );
        assert!(
            largest < 1e-13,
            "rank {}: the weights differ from one process on {what} by {largest:e}",
            dist.rank()
        );
    }
    // Every tensor its own bucket, a few per bucket, and all in one.
    for bytes in [1, 256, 1 << 20] {
        let exchanged = dist.exchange_time();
        let overlapped = train(Some(&dist), Exchange::Overlap(bytes), true, &x, &labels);
        assert!(dist.exchange_time() > exchanged, "overlap's exchange is timed");
        assert_eq!(
            largest_difference(&after, &overlapped),
            0.0,
            "rank {}: overlap with buckets of {bytes} bytes",
            dist.rank()
        );
    }
    if dist.is_root() {
        println!("ranks agree with one process, overlapped or not");
    }
}

/// `mpirun -np 2` of this binary's `rank_program`; the output and whether it succeeded.
fn mpirun(fail: bool) -> (bool, String) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new("mpirun");
    command
        .args(["-np", "2", "--oversubscribe"])
        .arg(exe)
        .args([
            "rank_program",
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        // Open MPI refuses to run as root unless told (CI runs as root).
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        // One thread per rank: two ranks share this machine's cores.
        .env("AUTODIFF_NUM_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if fail {
        command.env("AUTODIFF_MPI_FAIL", "1");
    }
    let mut child = command.spawn().expect("mpirun runs (install openmpi-bin)");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("mpirun can be waited for").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            panic!("mpirun did not finish in 120 s: a rank is waiting forever");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("mpirun's output");
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn two_ranks_reach_the_weights_of_one_process() {
    let (ok, output) = mpirun(false);
    assert!(ok, "the job failed:\n{output}");
    assert!(
        output.contains("ranks agree with one process, overlapped or not"),
        "{output}"
    );
    assert_eq!(
        output.matches("largest difference from one process").count(),
        4,
        "{output}"
    );
}

#[test]
fn a_rank_that_fails_ends_the_job_with_its_message() {
    let (ok, output) = mpirun(true);
    assert!(!ok, "the job succeeded although a rank panicked:\n{output}");
    assert!(output.contains("rank 1 fails on purpose at step 3"), "{output}");
    assert!(
        output.contains("autodiff: rank 1 panicked; aborting the MPI job"),
        "{output}"
    );
}
