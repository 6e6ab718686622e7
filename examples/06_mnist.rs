//! Tutorial 6: the full MNIST (60,000 training and 10,000 test images of 28×28
//! pixels) with an MLP and the lecture's tricks.
//!
//! LeCun et al. (1998) report 2.95% test error for a 784-500-150-10 network
//! trained with plain backpropagation. ReLU, cross-entropy on log-softmax,
//! Kaiming initialisation, standardised inputs, shuffled minibatches, Adam with
//! a warm-up and cosine schedule, and dropout bring a network of the same
//! shape well under 2%. (No weight decay: the AdamW decay of λ = 1e-4 this
//! tutorial once used shrank the weights by lr·λ ≤ 1e-7 per step, about
//! 0.03% over the whole run, and decayed the biases too: it did nothing.)
//!
//! 5,000 of the 60,000 training images are held out for validation: the
//! curves to watch (and anything one would tune) are on them, and the test
//! set is evaluated once, after training. The training step is a plain
//! `loss_grad`; tutorial 14 makes the same loop allocation-free.
//!
//! MNIST is not bundled: pass the directory holding the four IDX `.gz` files,
//! or set `AUTODIFF_MNIST_DIR`.
//!
//! The network, its loss and its evaluation are in `examples/models/mlp.rs` (the `models` library
//! that the benchmarks and tests use too).
//!
//! Run: `cargo run --release --example 06_mnist -- ../shared/data/mnist`

#[path = "common/mod.rs"]
mod common;

use autodiff::data::{mnist, mnist_dir};
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Standardizer, dropout_mask, init, minibatches, select_labels, select_rows,
};
use common::{Curves, Metric};
use models::mlp::{Mlp, evaluate, loss_grad};
use rand::SeedableRng;
use rand::rngs::StdRng;

const SIZES: [usize; 4] = [784, 500, 150, 10];
const EPOCHS: usize = 12;
const BATCH: usize = 128;
const KEEP: f32 = 0.8;

fn main() {
    let dir = match mnist_dir(std::env::args().nth(1)) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let data = match mnist(&dir) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("cannot read MNIST: {e}");
            std::process::exit(2);
        }
    };
    let started = std::time::Instant::now();
    let (train, validation) = common::mnist_split(&data.train);
    let mut rng = StdRng::seed_from_u64(1998);
    // One channel: the whole image's mean and σ (the classic 0.1307 and 0.3081).
    let standardizer = Standardizer::fit_channels(&train.images, 1, 1e-3);
    println!(
        "MNIST: {} training, {} validation, {} test images; pixel mean {:.4}, σ {:.4} (training images)",
        train.len(),
        validation.len(),
        data.test.len(),
        standardizer.mean[0],
        standardizer.scale[0]
    );
    let [x_train, x_validation, x_test] = [&train, &validation, &data.test].map(|d| standardizer.transform(&d.images));
    // Training error is measured on a fixed 5,000 of the training images.
    let probe: Vec<usize> = (0..5_000).collect();
    let (x_probe, probe_labels) = (select_rows(&x_train, &probe), select_labels(&train.labels, &probe));

    let mut model = Mlp::zeros(SIZES);
    init(&mut model, Init::KaimingNormal, &mut rng);
    println!("model: {SIZES:?}, {} parameters", model.num_params());

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
    let mut curves = Curves::default();
    let mut step = 0;
    for epoch in 0..EPOCHS {
        let batches = minibatches(train.len(), BATCH, &mut rng);
        let bar = common::epoch_bar(epoch, EPOCHS, batches.len());
        let mut total = 0.0;
        for batch in &batches {
            let (x, y) = (select_rows(&x_train, batch), select_labels(&train.labels, batch));
            let mask1 = dropout_mask((batch.len(), SIZES[1]), f64::from(KEEP), &mut rng);
            let mask2 = dropout_mask((batch.len(), SIZES[2]), f64::from(KEEP), &mut rng);
            let (value, grad) = loss_grad(&model, &x, &y, &mask1, &mask2, KEEP);
            optimizer.set_learning_rate(schedule.at(step));
            optimizer.step(&mut model, &grad.model);
            step += 1;
            total += f64::from(value);
            bar.inc(1);
            if bar.position().is_multiple_of(20) {
                bar.set_message(format!("loss {:.4}", total / bar.position() as f64));
            }
        }
        bar.finish_and_clear();
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
    // The test set, once, for the model training ended with.
    let error = 100.0 * (1.0 - evaluate(&model, &x_test, &data.test.labels).1);
    println!(
        "\ntest error {error:.2}% on the 10,000 MNIST test images (LeCun et al. 1998: 2.95% for 784-500-150-10), {:.0} s in all",
        started.elapsed().as_secs_f64()
    );
    let path = common::plot_path("06_mnist");
    let label = "training objective: cross-entropy, dropout on";
    common::plot_curves(&path, "MNIST MLP", &curves, label, Metric::Error).expect("plot written");
    println!("loss and error curves: {}", path.display());
}
