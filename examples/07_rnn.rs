//! Tutorial 7: recurrent networks written with a loop, reading MNIST images
//! one row of pixels at a time (28 steps of 28 pixels): the classic
//! "sequential MNIST" task.
//!
//! A recurrent network carries a hidden state `h` from step to step. Written
//! in Rust it is a `for` loop that reassigns `let mut h`; `#[differentiable]`
//! reverses that loop at compile time (backpropagation through time): the
//! forward pass stores each iteration's values, the backward pass runs the
//! loop's adjoint from the last row to the first, adding every step's
//! contribution to the shared weights.
//!
//! Three cells, all built from the ordinary modules:
//! * Elman: `h = tanh(x·Wxᵀ + b + h·U)`;
//! * GRU (Cho et al. 2014): an update gate `z` and a reset gate `r` decide how
//!   much of the old state to keep, which lets gradients survive 28 steps;
//! * LSTM (Hochreiter and Schmidhuber 1997, with the forget gate of Gers et
//!   al. 2000): a cell state `c` beside `h`, changed only through gates. Its
//!   cell is a method returning the pair, `(h, c) = self.step(x, &h, &c)`,
//!   and its four gates come from one product, cut with `.slice(s![..])`.
//!
//! Training uses 55,000 of the training images and watches 5,000 held-out
//! ones (validation); the test set is evaluated once, at the end. Without
//! MNIST the tutorial reads the bundled 8×8 digits row by row (8 steps).
//!
//! The three networks (their losses and logits) are in
//! `examples/models/rnn.rs`, the `models` library that the benchmarks and
//! tests use too.
//!
//! Run: `cargo run --release --example 07_rnn -- ../shared/data/mnist [gru|lstm|elman] [epochs]`
//! (`-` instead of the directory: the bundled digits, unless `AUTODIFF_MNIST_DIR` is set).

#[path = "common/mod.rs"]
mod common;

use autodiff::data::{mnist, mnist_dir};
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Standardizer, accuracy, init, minibatches, select_labels,
    select_labels_into, select_rows, select_rows_into,
};
use common::{Curves, Metric};
use models::rnn::{Elman, Gru, Lstm, elman_logits, elman_loss_grad_with, gru_logits, gru_loss_grad_with};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The rows of each image in `x` (`[batch, steps·width]`) as `steps` arrays of
/// `[batch, width]`, written into kept buffers.
fn into_rows(x: &Array2<f32>, width: usize, rows: &mut Vec<Array2<f32>>) {
    let steps = x.ncols() / width;
    rows.resize_with(steps, || Array2::zeros((0, 0)));
    for (t, row) in rows.iter_mut().enumerate() {
        if row.dim() != (x.nrows(), width) {
            *row = Array2::zeros((x.nrows(), width));
        }
        row.assign(&x.slice(autodiff::ndarray::s![.., t * width..(t + 1) * width]));
    }
}

/// Any of the cells, so that one training loop serves them all.
enum Model {
    Elman(Box<Elman>),
    Gru(Box<Gru>),
    Lstm(Box<Lstm<f32>>),
}

impl Model {
    fn logits(&self, xs: &[Array2<f32>]) -> Array2<f32> {
        match self {
            Model::Elman(m) => elman_logits(m, xs),
            Model::Gru(m) => gru_logits(m, xs),
            Model::Lstm(m) => m.logits(xs),
        }
    }

    fn num_params(&self) -> usize {
        match self {
            Model::Elman(m) => m.num_params(),
            Model::Gru(m) => m.num_params(),
            Model::Lstm(m) => m.num_params(),
        }
    }
}

/// Mean cross-entropy and accuracy over a whole set, 1,000 images at a time.
fn evaluate(model: &Model, labels: &[usize], x: &Array2<f32>, width: usize) -> (f64, f64) {
    let (mut loss, mut correct) = (0.0, 0.0);
    let mut rows = Vec::new();
    for start in (0..labels.len()).step_by(1000) {
        let end = (start + 1000).min(labels.len());
        into_rows(
            &x.slice(autodiff::ndarray::s![start..end, ..]).to_owned(),
            width,
            &mut rows,
        );
        let z = model.logits(&rows);
        let n = (end - start) as f64;
        loss += f64::from(cross_entropy(&z, &labels[start..end])) * n;
        correct += accuracy(&z, &labels[start..end]) * n;
    }
    let n = labels.len() as f64;
    (loss / n, correct / n)
}

const HIDDEN: usize = 128;
const BATCH: usize = 128;

fn main() {
    let mut args = std::env::args().skip(1);
    // `-` stands for no MNIST directory (then `$AUTODIFF_MNIST_DIR`, if set).
    let dir = args.next().filter(|d| d != "-");
    let cell = args.next().unwrap_or_else(|| "gru".into());
    let mut rng = StdRng::seed_from_u64(2014);
    // MNIST when given (28 rows of 28 pixels), else the bundled digits (8 of 8).
    let (train, validation, test, width, default_epochs) = match mnist_dir(dir).map(mnist) {
        Ok(Ok(data)) => {
            let (train, validation) = data.train.split(5_000.0 / 60_000.0, &mut rng);
            (train, validation, data.test, 28, 8)
        }
        Ok(Err(e)) => {
            eprintln!("cannot read MNIST: {e}");
            std::process::exit(2);
        }
        Err(_) => {
            println!("MNIST not given: reading the bundled 8×8 digits row by row instead");
            let common::Split {
                train,
                validation,
                test,
            } = common::Split::digits();
            (train, validation, test, 8, 60)
        }
    };
    let epochs: usize = args.next().and_then(|e| e.parse().ok()).unwrap_or(default_epochs);
    let steps = train.images.ncols() / width;
    println!(
        "{} training, {} validation, {} test images, read as {steps} rows of {width} pixels",
        train.len(),
        validation.len(),
        test.len()
    );
    let standardizer = Standardizer::fit_channels(&train.images, 1, 1e-3);
    let (x_train, x_validation, x_test) = (
        standardizer.transform(&train.images),
        standardizer.transform(&validation.images),
        standardizer.transform(&test.images),
    );
    // Training accuracy is measured on a fixed 5,000 of the training images.
    let probe: Vec<usize> = (0..train.len().min(5_000)).collect();
    let (x_probe, probe_labels) = (select_rows(&x_train, &probe), select_labels(&train.labels, &probe));

    let matrix = |o: usize, i: usize| Array2::zeros((o, i));
    let mut model = match cell.as_str() {
        "elman" => Model::Elman(Box::new(Elman {
            wx: matrix(HIDDEN, width),
            b: Array1::zeros(HIDDEN),
            u: matrix(HIDDEN, HIDDEN),
            wo: matrix(10, HIDDEN),
            bo: Array1::zeros(10),
        })),
        "gru" => Model::Gru(Box::new(Gru {
            wz: matrix(HIDDEN, width),
            bz: Array1::zeros(HIDDEN),
            uz: matrix(HIDDEN, HIDDEN),
            wr: matrix(HIDDEN, width),
            br: Array1::zeros(HIDDEN),
            ur: matrix(HIDDEN, HIDDEN),
            wn: matrix(HIDDEN, width),
            bn: Array1::zeros(HIDDEN),
            un: matrix(HIDDEN, HIDDEN),
            wo: matrix(10, HIDDEN),
            bo: Array1::zeros(10),
        })),
        "lstm" => Model::Lstm(Box::new(Lstm {
            wx: matrix(4 * HIDDEN, width),
            b: Array1::zeros(4 * HIDDEN),
            u: matrix(4 * HIDDEN, HIDDEN),
            wo: matrix(10, HIDDEN),
            bo: Array1::zeros(10),
        })),
        other => {
            eprintln!("unknown cell `{other}`: use `gru`, `lstm` or `elman`");
            std::process::exit(2);
        }
    };
    // Xavier initialisation suits tanh and sigmoid units; the biases stay 0.
    match &mut model {
        Model::Elman(m) => init(m.as_mut(), Init::XavierUniform, &mut rng),
        Model::Gru(m) => init(m.as_mut(), Init::XavierUniform, &mut rng),
        Model::Lstm(m) => {
            init(m.as_mut(), Init::XavierUniform, &mut rng);
            // A forget gate open at the start (bias 1, Jozefowicz et al.
            // 2015), so that the cell state carries through time at first.
            m.b.slice_mut(autodiff::ndarray::s![HIDDEN..2 * HIDDEN]).fill(1.0);
        }
    }
    println!("{cell} cell, {HIDDEN} hidden units, {} parameters", model.num_params());

    let steps_per_epoch = train.len().div_ceil(BATCH);
    let schedule = Schedule::new(
        2e-3,
        Decay::Cosine {
            total: epochs * steps_per_epoch,
            min: 1e-5,
        },
    )
    .with_warmup(steps_per_epoch / 4);
    let mut optimizer = Adam::new(schedule.base);
    let mut workspace = Workspace::new();
    let (mut x, mut y, mut rows) = (Array2::zeros((0, 0)), Vec::new(), Vec::new());
    let mut curves = Curves::default();
    let started = std::time::Instant::now();
    let mut step = 0;
    for epoch in 0..epochs {
        let batches = minibatches(train.len(), BATCH, &mut rng);
        let bar = common::epoch_bar(epoch, epochs, batches.len());
        let mut total = 0.0;
        for batch in &batches {
            select_rows_into(&x_train, batch, &mut x);
            select_labels_into(&train.labels, batch, &mut y);
            into_rows(&x, width, &mut rows);
            optimizer.set_learning_rate(schedule.at(step));
            let value = match &mut model {
                Model::Elman(m) => {
                    let (value, grad) = elman_loss_grad_with(&mut workspace, m, &rows, &y);
                    optimizer.step(m.as_mut(), &grad.rnn);
                    workspace.recycle(grad.rnn);
                    value
                }
                Model::Gru(m) => {
                    let (value, grad) = gru_loss_grad_with(&mut workspace, m, &rows, &y);
                    optimizer.step(m.as_mut(), &grad.gru);
                    workspace.recycle(grad.gru);
                    value
                }
                Model::Lstm(m) => {
                    let (value, grad) = m.loss_grad_with(&mut workspace, &rows, &y);
                    optimizer.step(m.as_mut(), &grad.self_);
                    workspace.recycle(grad.self_);
                    value
                }
            };
            step += 1;
            total += f64::from(value);
            bar.inc(1);
            if bar.position().is_multiple_of(20) {
                bar.set_message(format!("loss {:.4}", total / bar.position() as f64));
            }
        }
        bar.finish_and_clear();
        let (validation_loss, validation_accuracy) = evaluate(&model, &validation.labels, &x_validation, width);
        curves.train_loss.push(total / batches.len() as f64);
        curves.validation_loss.push(validation_loss);
        curves
            .train_accuracy
            .push(evaluate(&model, &probe_labels, &x_probe, width).1);
        curves.validation_accuracy.push(validation_accuracy);
        println!(
            "epoch {:>2}: training loss {:.4}, validation loss {validation_loss:.4}, validation accuracy {}  ({:.0} s)",
            epoch + 1,
            curves.train_loss[epoch],
            common::accuracy_text(validation_accuracy, validation.len()),
            started.elapsed().as_secs_f64()
        );
    }
    // The test set, once, for the model training ended with.
    let test_accuracy = evaluate(&model, &test.labels, &x_test, width).1;
    println!(
        "\ntest accuracy {} on images read row by row ({cell}, {:.0} s of training)",
        common::accuracy_text(test_accuracy, test.len()),
        started.elapsed().as_secs_f64()
    );
    let path = common::plot_path(&format!("07_rnn_{cell}"));
    let label = "training cross-entropy (minibatch mean)";
    common::plot_curves(&path, &format!("row-by-row {cell}"), &curves, label, Metric::Accuracy).expect("plot written");
    println!("loss and accuracy curves: {}", path.display());
}
