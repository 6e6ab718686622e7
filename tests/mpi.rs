//! Data-parallel training over MPI, for real: `mpirun -np 2` runs this test
//! binary's `rank_program` (ignored in a normal run) on two ranks of
//! localhost. Two ranks training for a few steps on shards of the same global
//! minibatches reach the weights one process reaches on the whole
//! minibatches, to float rounding; and a rank that panics ends the job with
//! its message instead of leaving the other waiting.
//!
//! Needs the feature `mpi` and Open MPI's `mpirun` (see `.ci/run`).
#![cfg(feature = "mpi")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autodiff::distributed::Distributed;
use autodiff::prelude::*;
use autodiff::train::{Optimizer, Sgd, select_labels, select_rows};

#[derive(Params, Clone)]
struct Mlp {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

#[differentiable(wrt(m))]
fn loss(m: &Mlp, x: &ArrayRef2<f64>, labels: &[usize]) -> f64 {
    cross_entropy(&linear(&tanh(&linear(x, &m.w1, &m.b1)), &m.w2, &m.b2), labels)
}

const STEPS: usize = 6;
/// An odd global minibatch: the two shards differ in size (8 and 7), so the
/// weighting of unequal shards is exercised.
const BATCH: usize = 15;

fn value(seed: usize) -> f64 {
    ((seed * 7919 + 13) % 101) as f64 / 101.0 - 0.5
}

fn model(seed: usize) -> Mlp {
    Mlp {
        w1: Array2::from_shape_fn((8, 5), |(i, j)| value(seed + i * 5 + j)),
        b1: Array1::from_shape_fn(8, |i| value(seed + 100 + i) * 0.1),
        w2: Array2::from_shape_fn((3, 8), |(i, j)| value(seed + 200 + i * 8 + j)),
        b2: Array1::zeros(3),
    }
}

/// Trains from rank 0's initial weights; with `dist`, each rank takes its
/// shard of every global minibatch and the gradients are all-reduced.
fn train(dist: Option<&Distributed>, x: &Array2<f64>, labels: &[usize]) -> Mlp {
    // Ranks other than 0 start elsewhere: the broadcast must fix that.
    let mut m = model(dist.map_or(0, |d| d.rank() * 1000));
    if let Some(dist) = dist {
        dist.broadcast(&mut m);
    }
    let mut sgd = Sgd::new(0.5);
    for step in 0..STEPS {
        let batch: Vec<usize> = (0..BATCH).map(|i| (step * BATCH + i) % x.nrows()).collect();
        let mine = dist.map_or(&batch[..], |d| d.shard(&batch));
        let (xs, ys) = (select_rows(x, mine), select_labels(labels, mine));
        let (_, mut g) = loss_grad(&m, &xs, &ys);
        if let Some(dist) = dist {
            dist.all_reduce_gradient(&mut g.m, mine.len(), batch.len());
            if step == 3 && dist.rank() == 1 && std::env::var("AUTODIFF_MPI_FAIL").is_ok() {
                panic!("rank 1 fails on purpose at step {step}");
            }
        }
        sgd.step(&mut m, &g.m);
    }
    m
}

/// One rank of the job: trains on its shards, trains alone on the whole
/// minibatches, and compares.
#[test]
#[ignore = "run by mpirun from the tests below"]
fn rank_program() {
    let x = Array2::from_shape_fn((40, 5), |(i, j)| value(7 * i + j + 500) * 3.0);
    let labels: Vec<usize> = (0..40).map(|i| (i * 5 + 1) % 3).collect();
    let alone = train(None, &x, &labels);
    let dist = Distributed::init().expect("MPI starts");
    let together = train(Some(&dist), &x, &labels);
    let (a, b) = (alone.views(), together.views());
    let largest = a
        .iter()
        .zip(&b)
        .flat_map(|(a, b)| a.iter().zip(b.iter()))
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    println!(
        "rank {} of {}: largest difference from one process {largest:e}",
        dist.rank(),
        dist.size()
    );
    assert!(
        largest < 1e-13,
        "rank {}: the weights differ by {largest:e}",
        dist.rank()
    );
    if dist.is_root() {
        println!("ranks agree with one process");
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
    assert!(output.contains("ranks agree with one process"), "{output}");
    assert_eq!(
        output.matches("largest difference from one process").count(),
        2,
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
