//! Tutorial 10: the MNIST MLP of tutorial 06 trained across processes with
//! MPI (data parallelism, as PyTorch's DistributedDataParallel or Horovod).
//!
//! Every rank holds the whole model and starts from rank 0's weights
//! (`broadcast`). Every rank draws the same global minibatches (the same
//! shuffling seed), takes its shard of each (`shard`), and computes the
//! gradient of its shard with the generated `loss_grad_with` inside
//! `overlap`, which averages the gradients over the ranks: each layer's
//! all-reduce starts while the backward pass is still computing the layers
//! before it, so the Adam step is the same everywhere. Rank 0 evaluates,
//! prints, plots and writes the checkpoint. The training loop of tutorial 06
//! gains two calls (`shard`, `overlap` around the gradient), and two come
//! before it (`Distributed::init`, `broadcast`).
//!
//! The network (tutorial 06's), its loss and its evaluation are in
//! `examples/models/mlp.rs`, the `models` library.
//!
//! Run on one machine, 2 ranks of one thread each:
//!
//! ```text
//! cargo build --release -p autodiff-tutorials --features mpi --example 10_mpi_mnist
//! AUTODIFF_NUM_THREADS=1 mpirun -np 2 target/release/examples/10_mpi_mnist ../shared/data/mnist
//! ```
//!
//! (as root, Open MPI also wants `--allow-run-as-root`; on several machines,
//! `mpirun --hostfile hosts -np 8 ...` with the binary and the data at the same
//! path on each).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use autodiff::data::{mnist, mnist_dir};
use autodiff::distributed::Distributed;
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Standardizer, dropout_mask, init, minibatches, select_labels, select_rows,
};
use common::{Curves, Metric};
use models::mlp::{Mlp, evaluate, loss_grad_with};
use rand::SeedableRng;
use rand::rngs::StdRng;

const SIZES: [usize; 4] = [784, 500, 150, 10];
const EPOCHS: usize = 12;
/// The global minibatch, split over the ranks: the same training as
/// tutorial 06's, whatever the number of ranks.
const BATCH: usize = 128;
const KEEP: f32 = 0.8;

fn main() {
    let dist = Distributed::init().expect("MPI starts");
    let root = dist.is_root();
    let data = match mnist_dir(std::env::args().nth(1)).and_then(|dir| mnist(&dir)) {
        Ok(data) => data,
        Err(e) => {
            // A missing data directory is an error on every rank.
            eprintln!("rank {}: cannot read MNIST: {e}", dist.rank());
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    // The same seed on every rank: the same split and the same minibatches.
    let (train, validation) = common::mnist_split(&data.train);
    let mut rng = StdRng::seed_from_u64(1998);
    let standardizer = Standardizer::fit_channels(&train.images, 1, 1e-3);
    let [x_train, x_validation, x_test] = [&train, &validation, &data.test].map(|d| standardizer.transform(&d.images));
    let probe: Vec<usize> = (0..5_000).collect();
    let (x_probe, probe_labels) = (select_rows(&x_train, &probe), select_labels(&train.labels, &probe));

    let mut model = Mlp::zeros(SIZES);
    init(&mut model, Init::KaimingNormal, &mut rng);
    dist.broadcast(&mut model);
    if root {
        println!(
            "MNIST on {} ranks: global minibatch {BATCH}, {} per rank; model {SIZES:?}, {} parameters",
            dist.size(),
            BATCH.div_ceil(dist.size()),
            model.num_params()
        );
    }
    // Dropout masks differ between ranks: each draws its own shard's.
    let mut mask_rng = StdRng::seed_from_u64(2024 + dist.rank() as u64);

    let steps_per_epoch = train.len().div_ceil(BATCH);
    let schedule = Schedule::new(
        1e-3,
        Decay::Cosine {
            total: EPOCHS * steps_per_epoch,
            min: 1e-6,
        },
    )
    .with_warmup(steps_per_epoch / 2);
    let mut optimizer = Adam::new(schedule.base);
    let mut ws = Workspace::new();
    let mut curves = Curves::default();
    let (mut step, mut steps_timed) = (0, 0);
    let (mut stepping, mut exchanging) = (Duration::ZERO, Duration::ZERO);
    for epoch in 0..EPOCHS {
        let batches = minibatches(train.len(), BATCH, &mut rng);
        let bar = common::epoch_bar(epoch, EPOCHS, batches.len());
        if !root {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let mut total = 0.0;
        for batch in &batches {
            let (tick, exchanged) = (Instant::now(), dist.exchange_time());
            let mine = dist.shard(batch);
            let (x, y) = (select_rows(&x_train, mine), select_labels(&train.labels, mine));
            let mask1 = dropout_mask((mine.len(), SIZES[1]), f64::from(KEEP), &mut mask_rng);
            let mask2 = dropout_mask((mine.len(), SIZES[2]), f64::from(KEEP), &mut mask_rng);
            // The gradient of the global minibatch: this shard's, averaged
            // over the ranks while the backward pass runs.
            let (value, grad) = dist.overlap(mine.len(), batch.len(), || {
                loss_grad_with(&mut ws, &model, &x, &y, &mask1, &mask2, KEEP)
            });
            optimizer.set_learning_rate(schedule.at(step));
            optimizer.step(&mut model, &grad.model);
            ws.recycle(grad.model);
            let stepped = tick.elapsed();
            // The loss of the global minibatch, for the progress bar: a
            // weighted sum over the ranks (one more small all-reduce).
            total += dist.sum(f64::from(value) * mine.len() as f64) / batch.len() as f64;
            step += 1;
            if epoch > 0 {
                // The first epoch warms the workspace and the pool up.
                steps_timed += 1;
                stepping += stepped;
                exchanging += dist.exchange_time() - exchanged;
            }
            bar.inc(1);
            if bar.position().is_multiple_of(20) {
                bar.set_message(format!("loss {:.4}", total / bar.position() as f64));
            }
        }
        bar.finish_and_clear();
        if root {
            let (validation_loss, validation_accuracy) = evaluate(&model, &x_validation, &validation.labels);
            curves.train_loss.push(total / batches.len() as f64);
            curves.validation_loss.push(validation_loss);
            curves.train_accuracy.push(evaluate(&model, &x_probe, &probe_labels).1);
            curves.validation_accuracy.push(validation_accuracy);
            println!(
                "epoch {:>2}: training objective {:.4}, validation loss {validation_loss:.4}, validation error {:.2}%  ({:.0} s)",
                epoch + 1,
                curves.train_loss[epoch],
                100.0 * (1.0 - validation_accuracy),
                started.elapsed().as_secs_f64()
            );
        }
    }
    // Every rank's time per step; rank 0 prints the slowest rank's.
    let per_step = |d: Duration| d.as_secs_f64() * 1e3 / steps_timed.max(1) as f64;
    let (step_ms, exchange_ms) = (dist.max(per_step(stepping)), dist.max(per_step(exchanging)));
    if root {
        let error = 100.0 * (1.0 - evaluate(&model, &x_test, &data.test.labels).1);
        println!(
            "\ntest error {error:.2}% on the 10,000 MNIST test images, {:.0} s in all on {} ranks",
            started.elapsed().as_secs_f64(),
            dist.size()
        );
        let images_per_s = BATCH as f64 / (step_ms / 1e3);
        println!(
            "per step (epochs 2-{EPOCHS}, slowest rank): {step_ms:.2} ms, of which {exchange_ms:.2} ms exchanging gradients (not hidden by the backward pass); {images_per_s:.0} images/s"
        );
        let path = common::plot_path("10_mpi_mnist");
        common::plot_curves(
            &path,
            "MNIST MLP over MPI",
            &curves,
            "training objective",
            Metric::Error,
        )
        .expect("plot written");
        println!("loss and error curves: {}", path.display());
        let checkpoint = path.with_file_name("10_mpi_mnist.safetensors");
        autodiff::train::save(&model, &checkpoint).expect("checkpoint written");
        println!("checkpoint (rank 0): {}", checkpoint.display());
    }
}
