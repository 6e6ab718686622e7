//! Tutorial 9: LeNet-5 on MNIST, a convolutional network written as an
//! ordinary function of modules.
//!
//! LeCun et al. (1998), as usually trained today: a 5×5 convolution to 6
//! channels (the 28×28 images padded by 2, as the paper's 32×32 inputs) →
//! ReLU → 2×2 max-pooling → a 5×5 convolution to 16 channels → ReLU → 2×2
//! max-pooling → 120 → 84 → 10, with ReLU between the fully connected layers.
//! `#[differentiable]` reverses it at compile time like the MLPs before it:
//! `conv2d`, `max_pool2d` and `flatten` are modules like `linear`, each with
//! its VJP. The paper reports 0.95% test error for LeNet-5 trained without
//! distortions.
//!
//! Inputs are NCHW arrays, as in PyTorch: a minibatch is `[64, 1, 28, 28]`.
//! The tutorial prints the validation error per epoch, evaluates the test
//! set once, and writes the learning curves and a picture of the six 5×5
//! filters of the first layer.
//!
//! The network, its loss and its evaluation are in `examples/models/lenet.rs`
//! (the `models` library that the benchmarks and tests use too).
//!
//! Run: `cargo run --release --example 09_lenet5 -- ../shared/data/mnist`

#[path = "common/mod.rs"]
mod common;

use std::fmt::Write as _;

use autodiff::data::{mnist, mnist_dir};
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Standardizer, init, minibatches, select_labels, select_rows,
};
use common::{Curves, Metric};
use models::lenet::{LeNet5, evaluate, images, loss_grad};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The first layer's filters as an SVG: one 5×5 grey-scale square per
/// channel, black the most negative weight of all, white the most positive.
fn filters_svg(conv1: &Array4<f32>) -> String {
    let (cell, gap) = (16, 12);
    let channels = conv1.shape()[0];
    let size = 5 * cell;
    let largest = conv1.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    let width = channels * (size + gap) + gap;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\">\n<rect width=\"100%\" height=\"100%\" fill=\"#888\"/>\n",
        size + 2 * gap
    );
    for ((c, _, i, j), &w) in conv1.indexed_iter() {
        let grey = (127.5 * (1.0 + w / largest)).round() as u8;
        let (x, y) = (gap + c * (size + gap) + j * cell, gap + i * cell);
        writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({grey},{grey},{grey})\"/>"
        )
        .expect("writing to a String");
    }
    svg + "</svg>\n"
}

const EPOCHS: usize = 12;
const BATCH: usize = 64;

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
    let mut rng = StdRng::seed_from_u64(1998);
    let (train, validation) = data.train.split(5_000.0 / 60_000.0, &mut rng);
    let standardizer = Standardizer::fit_channels(&train.images, 1, 1e-3);
    let rows_train = standardizer.transform(&train.images);
    let [x_validation, x_test] = [&validation, &data.test].map(|d| images(standardizer.transform(&d.images)));
    println!(
        "MNIST: {} training, {} validation, {} test images of 28×28",
        train.len(),
        validation.len(),
        data.test.len()
    );
    let probe: Vec<usize> = (0..5_000).collect();
    let probe_labels = select_labels(&train.labels, &probe);
    let x_probe = images(select_rows(&rows_train, &probe));

    let mut model = LeNet5::zeros();
    init(&mut model, Init::KaimingNormal, &mut rng);
    println!("model: LeNet-5, {} parameters", model.num_params());

    let steps_per_epoch = train.len().div_ceil(BATCH);
    let schedule = Schedule::new(
        2e-3,
        Decay::Cosine {
            total: EPOCHS * steps_per_epoch,
            min: 1e-5,
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
            let x = images(select_rows(&rows_train, batch));
            let y = select_labels(&train.labels, batch);
            let (value, grad) = loss_grad(&model, &x, &y);
            optimizer.set_learning_rate(schedule.at(step));
            optimizer.step(&mut model, &grad.m);
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
            "epoch {:>2}: training loss {:.4}, validation loss {validation_loss:.4}, validation error {:.2}%  ({:.0} s)",
            epoch + 1,
            curves.train_loss[epoch],
            100.0 * (1.0 - validation_accuracy),
            started.elapsed().as_secs_f64()
        );
    }
    let error = 100.0 * (1.0 - evaluate(&model, &x_test, &data.test.labels).1);
    println!(
        "\ntest error {error:.2}% on the 10,000 MNIST test images (LeCun et al. 1998: 0.95% for LeNet-5 without distortions), {:.0} s in all",
        started.elapsed().as_secs_f64()
    );
    let path = common::plot_path("09_lenet5");
    common::plot_curves(&path, "LeNet-5", &curves, "training loss: cross-entropy", Metric::Error)
        .expect("plot written");
    println!("loss and error curves: {}", path.display());
    let filters = path.with_file_name("09_lenet5_filters.svg");
    std::fs::write(&filters, filters_svg(&model.conv1)).expect("target/ is writable");
    println!("the first layer's six 5×5 filters: {}", filters.display());
}
