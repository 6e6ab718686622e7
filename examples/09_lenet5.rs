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
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Params, Clone)]
struct LeNet5 {
    conv1: Array4<f32>,
    conv1_b: Array1<f32>,
    conv2: Array4<f32>,
    conv2_b: Array1<f32>,
    fc1: Array2<f32>,
    fc1_b: Array1<f32>,
    fc2: Array2<f32>,
    fc2_b: Array1<f32>,
    fc3: Array2<f32>,
    fc3_b: Array1<f32>,
}

impl LeNet5 {
    fn new() -> LeNet5 {
        LeNet5 {
            conv1: Array4::zeros((6, 1, 5, 5)),
            conv1_b: Array1::zeros(6),
            conv2: Array4::zeros((16, 6, 5, 5)),
            conv2_b: Array1::zeros(16),
            fc1: Array2::zeros((120, 16 * 5 * 5)),
            fc1_b: Array1::zeros(120),
            fc2: Array2::zeros((84, 120)),
            fc2_b: Array1::zeros(84),
            fc3: Array2::zeros((10, 84)),
            fc3_b: Array1::zeros(10),
        }
    }
}

/// The training loss of a minibatch `x` `[n, 1, 28, 28]`.
#[differentiable(wrt(m))]
fn loss(m: &LeNet5, x: &ArrayRef4<f32>, labels: &[usize]) -> f32 {
    let h = max_pool2d(&relu(&conv2d(x, &m.conv1, &m.conv1_b, 1, 2)), 2, 2); // [n, 6, 14, 14]
    let h = max_pool2d(&relu(&conv2d(&h, &m.conv2, &m.conv2_b, 1, 0)), 2, 2); // [n, 16, 5, 5]
    let h = relu(&linear(&flatten(&h), &m.fc1, &m.fc1_b)); // [n, 120]
    let h = relu(&linear(&h, &m.fc2, &m.fc2_b)); // [n, 84]
    cross_entropy(&linear(&h, &m.fc3, &m.fc3_b), labels)
}

/// The same network's logits, for evaluation. (A `#[differentiable]`
/// `logits` called by `loss` would work too, but its VJP runs its forward
/// pass again: a third more work per step.)
fn logits(m: &LeNet5, x: &ArrayRef4<f32>) -> Array2<f32> {
    let h = max_pool2d(&relu(&conv2d(x, &m.conv1, &m.conv1_b, 1, 2)), 2, 2);
    let h = max_pool2d(&relu(&conv2d(&h, &m.conv2, &m.conv2_b, 1, 0)), 2, 2);
    let h = relu(&linear(&flatten(&h), &m.fc1, &m.fc1_b));
    let h = relu(&linear(&h, &m.fc2, &m.fc2_b));
    linear(&h, &m.fc3, &m.fc3_b)
}

/// Rows of `[N, 784]` pixels as images `[N, 1, 28, 28]`.
fn images(rows: Array2<f32>) -> Array4<f32> {
    let n = rows.nrows();
    rows.into_shape_with_order((n, 1, 28, 28)).expect("784 pixels per row")
}

/// Mean cross-entropy and accuracy over a large set, 500 images at a time.
fn evaluate(model: &LeNet5, x: &Array4<f32>, labels: &[usize]) -> (f64, f64) {
    let (mut loss, mut correct) = (0.0, 0.0);
    for start in (0..labels.len()).step_by(500) {
        let end = (start + 500).min(labels.len());
        // A view of the chunk goes straight in: no copy.
        let z = logits(model, &x.slice(s![start..end, .., .., ..]));
        let n = (end - start) as f64;
        loss += f64::from(cross_entropy(&z, &labels[start..end])) * n;
        correct += autodiff::train::accuracy(&z, &labels[start..end]) * n;
    }
    let n = labels.len() as f64;
    (loss / n, correct / n)
}

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

    let mut model = LeNet5::new();
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
