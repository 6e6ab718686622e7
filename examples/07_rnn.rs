//! Tutorial 7: recurrent networks written with a loop, reading MNIST images
//! one row of pixels at a time (28 steps of 28 pixels): the classic
//! "sequential MNIST" task.
//!
//! A recurrent network carries a hidden state `h` from step to step. Written
//! in Rust it is a `for` loop that reassigns `let mut h`:
//!
//! ```text
//! let mut h = Array2::zeros((batch, hidden));
//! for x in xs {
//!     h = self.step(x, &h);
//! }
//! linear(&h, &self.wo, &self.bo)
//! ```
//!
//! `#[differentiable]` reverses that loop at compile time (backpropagation
//! through time): the forward pass keeps each step's state, the backward
//! pass runs the cell's VJP from the last row to the first, adding every
//! step's contribution to the shared weights.
//!
//! Three cells, each written once as a `#[differentiable]` method `step`
//! (`examples/models/rnn.rs`):
//! * Elman: `h = tanh(x·Wxᵀ + b + h·U)`;
//! * GRU (Cho et al. 2014): an update gate `z` and a reset gate `r` decide how
//!   much of the old state to keep: `h = (1 − z)·n + z·h`;
//! * LSTM (Hochreiter and Schmidhuber 1997, with the forget gate of Gers et
//!   al. 2000): a cell state `c` beside `h`, changed only through gates. Its
//!   step returns the pair, `(h, c) = self.step(x, &h, &c)`, and its four
//!   gates come from one product, cut with `.slice(s![..])`.
//!
//! **The gradient through time.** ∂C/∂h_t, how much the loss would change
//! with the state after row t, is what carries the error back to the early
//! rows. From ∂C/∂h_T (the output layer's) each step back multiplies by the
//! cell's Jacobian: the cell's generated VJP, `step_vjp`, run by hand from
//! T down to 0 (`gradient_through_time`). For an Elman cell that Jacobian is
//! `diag(1 − h²)·Uᵀ`; when its norm is below 1 the gradient shrinks
//! geometrically with the distance (vanishing), above 1 it grows
//! (exploding). The gates of the GRU and the LSTM add a path, `z·h` and
//! `f·c`, whose Jacobian is close to the identity while the gate is open.
//! The tutorial plots ‖∂C/∂h_t‖ against t for each cell at initialisation
//! and after training, on a fixed batch of training images. On MNIST, at
//! initialisation all three lose a factor of 700 to 2,600 over the 28 rows
//! (the gates start half open: the GRU's `z·h` path halves at every step);
//! after 8 epochs ‖∂C/∂h₀‖ is within a factor of 3 of ‖∂C/∂h₂₈‖ for
//! all three: training has opened the gates, and has given the Elman cell a
//! Jacobian of norm close to 1.
//!
//! **Clipping.** An exploding gradient makes one step huge; `--clip N`
//! rescales any gradient whose norm is above N (`clip_grad_norm`), and the
//! table reports each cell's largest gradient norm, so that one sees whether
//! clipping had anything to do. Adam divides each step by the gradient's
//! own scale, so under Adam (the default) clipping changes little; under
//! plain SGD (`--sgd RATE`) the step is the gradient times the rate, and it
//! matters: on MNIST, an Elman cell at rate 1 for 3 epochs meets a gradient
//! of norm 38, saturates its tanh units, and stays at chance (11% test
//! accuracy, ‖∂C/∂h₀‖ at 1e-21 of ‖∂C/∂h_T‖), while with `--clip 1` the
//! same run reaches 93%.
//!
//! Training uses 55,000 of the training images and watches 5,000 held-out
//! ones (validation, the same split as tutorials 06 and 09); the test set
//! is evaluated once per model, at the end. Without MNIST the tutorial makes
//! a synthetic long-range task: 28 rows of noise, of which only the first
//! tells the class (in 20 epochs the LSTM learns it; the GRU and the Elman
//! cell stay at chance).
//!
//! Run: `cargo run --release --example 07_rnn -- ../shared/data/mnist [elman|gru|lstm ...] [epochs] [--seeds N] [--sgd RATE] [--clip N]`
//! (all three cells by default; `-` instead of the directory: the synthetic
//! task, unless `AUTODIFF_MNIST_DIR` is set).

#[path = "common/mod.rs"]
mod common;

use autodiff::data::{Dataset, mnist, mnist_dir};
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Sgd, Standardizer, clip_grad_norm, grad_norm, init, minibatches,
    select_labels, select_rows,
};
use common::{Curves, Metric};
use models::rnn::{Elman, Gru, Lstm};
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The rows of each image in `x` (`[batch, steps·width]`) as `steps` arrays
/// of `[batch, width]`.
fn rows(x: &Array2<f32>, width: usize) -> Vec<Array2<f32>> {
    (0..x.ncols() / width)
        .map(|t| x.slice(s![.., t * width..(t + 1) * width]).to_owned())
        .collect()
}

/// Without MNIST: sequences of 28 rows of 28 values, uniform noise in
/// [−1, 1], where only the first row tells the class (2 added at the
/// class's position). To answer, a network must carry what it read first
/// through 27 rows of noise: the long-range dependence that a vanishing
/// gradient makes hard to learn.
fn first_row_task(n: usize, rng: &mut StdRng) -> Dataset {
    let (rows, width) = (28, 28);
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..10)).collect();
    let mut images = Array2::from_shape_simple_fn((n, rows * width), || rng.random_range(-1.0..1.0));
    for (i, &label) in labels.iter().enumerate() {
        images[[i, label]] += 2.0;
    }
    Dataset { images, labels }
}

/// Any of the cells, so that one training loop serves them all.
#[allow(clippy::large_enum_variant)] // one per training run
enum Model {
    Elman(Elman<f32>),
    Gru(Gru<f32>),
    Lstm(Lstm<f32>),
}

const HIDDEN: usize = 128;
const BATCH: usize = 128;

impl Model {
    /// A cell with Xavier initialisation (it suits tanh and sigmoid units).
    fn new(cell: &str, width: usize, rng: &mut StdRng) -> Model {
        let matrix = |o: usize, i: usize| Array2::zeros((o, i));
        let mut model = match cell {
            "elman" => Model::Elman(Elman {
                wx: matrix(HIDDEN, width),
                b: Array1::zeros(HIDDEN),
                u: matrix(HIDDEN, HIDDEN),
                wo: matrix(10, HIDDEN),
                bo: Array1::zeros(10),
            }),
            "gru" => Model::Gru(Gru {
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
            }),
            "lstm" => Model::Lstm(Lstm {
                wx: matrix(4 * HIDDEN, width),
                b: Array1::zeros(4 * HIDDEN),
                u: matrix(4 * HIDDEN, HIDDEN),
                wo: matrix(10, HIDDEN),
                bo: Array1::zeros(10),
            }),
            other => {
                eprintln!("unknown cell `{other}`: use `elman`, `gru` or `lstm`");
                std::process::exit(2);
            }
        };
        match &mut model {
            Model::Elman(m) => init(m, Init::XavierUniform, rng),
            Model::Gru(m) => init(m, Init::XavierUniform, rng),
            Model::Lstm(m) => {
                init(m, Init::XavierUniform, rng);
                // A forget gate open at the start (bias 1, Jozefowicz et al.
                // 2015), so that the cell state carries through time at first.
                m.b.slice_mut(s![HIDDEN..2 * HIDDEN]).fill(1.0);
            }
        }
        model
    }

    fn logits(&self, xs: &[Array2<f32>]) -> Array2<f32> {
        match self {
            Model::Elman(m) => m.logits(xs),
            Model::Gru(m) => m.logits(xs),
            Model::Lstm(m) => m.logits(xs),
        }
    }

    fn gradient_through_time(&self, xs: &[Array2<f32>], labels: &[usize]) -> Vec<f64> {
        match self {
            Model::Elman(m) => m.gradient_through_time(xs, labels),
            Model::Gru(m) => m.gradient_through_time(xs, labels),
            Model::Lstm(m) => m.gradient_through_time(xs, labels),
        }
    }

    fn num_params(&self) -> usize {
        match self {
            Model::Elman(m) => m.num_params(),
            Model::Gru(m) => m.num_params(),
            Model::Lstm(m) => m.num_params(),
        }
    }

    /// One optimiser step on a minibatch; returns the loss and the
    /// gradient's norm (before clipping to `clip`, if given).
    fn train_step(
        &mut self,
        optimizer: &mut impl Optimizer<f32>,
        xs: &[Array2<f32>],
        y: &[usize],
        clip: Option<f32>,
    ) -> (f32, f32) {
        fn apply<P: Params<Elem = f32>>(
            model: &mut P,
            mut grad: P,
            optimizer: &mut impl Optimizer<f32>,
            clip: Option<f32>,
        ) -> f32 {
            let norm = match clip {
                Some(max) => clip_grad_norm(&mut grad, max),
                None => grad_norm(&grad),
            };
            optimizer.step(model, &grad);
            norm
        }
        match self {
            Model::Elman(m) => {
                let (value, grad) = m.loss_grad(xs, y);
                (value, apply(m, grad.self_, optimizer, clip))
            }
            Model::Gru(m) => {
                let (value, grad) = m.loss_grad(xs, y);
                (value, apply(m, grad.self_, optimizer, clip))
            }
            Model::Lstm(m) => {
                let (value, grad) = m.loss_grad(xs, y);
                (value, apply(m, grad.self_, optimizer, clip))
            }
        }
    }
}

/// Mean cross-entropy and accuracy over a whole set, 1,000 images at a time.
fn evaluate(model: &Model, labels: &[usize], x: &Array2<f32>, width: usize) -> (f64, f64) {
    models::evaluate(labels, 1000, |range| {
        model.logits(&rows(&x.slice(s![range, ..]).to_owned(), width))
    })
}

/// What one training run measured.
struct Run {
    parameters: usize,
    validation: f64,
    test: f64,
    largest_norm: f32,
    seconds: f64,
    /// ‖∂C/∂h_t‖ for t = 0..T, at initialisation and after training.
    through_time: [Vec<f64>; 2],
    curves: Curves,
}

struct Data {
    x: [Array2<f32>; 3],
    labels: [Vec<usize>; 3],
    width: usize,
    epochs: usize,
}

/// How the weights move: Adam at 2e-3 (the default), or plain SGD at a
/// given rate, both with warm-up and cosine decay.
#[derive(Clone, Copy)]
enum Method {
    Adam,
    Sgd(f64),
}

fn train_cell(cell: &str, seed: u64, method: Method, clip: Option<f32>, data: &Data) -> Run {
    match method {
        Method::Adam => train_with(cell, seed, Adam::new(2e-3), clip, data),
        Method::Sgd(lr) => train_with(cell, seed, Sgd::new(lr), clip, data),
    }
}

fn train_with(cell: &str, seed: u64, mut optimizer: impl Optimizer<f32>, clip: Option<f32>, data: &Data) -> Run {
    let [x_train, x_validation, x_test] = &data.x;
    let [train_labels, validation_labels, test_labels] = &data.labels;
    let (width, epochs) = (data.width, data.epochs);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Model::new(cell, width, &mut rng);
    // A fixed batch of training images for ‖∂C/∂h_t‖, and 5,000 for the
    // training accuracy.
    let probe: Vec<usize> = (0..train_labels.len().min(5_000)).collect();
    let (x_probe, probe_labels) = (select_rows(x_train, &probe), select_labels(train_labels, &probe));
    let watched: Vec<usize> = (0..256.min(train_labels.len())).collect();
    let watched_rows = rows(&select_rows(x_train, &watched), width);
    let watched_labels = select_labels(train_labels, &watched);
    let at_start = model.gradient_through_time(&watched_rows, &watched_labels);

    let steps_per_epoch = train_labels.len().div_ceil(BATCH);
    let schedule = Schedule::new(
        optimizer.learning_rate(),
        Decay::Cosine {
            total: epochs * steps_per_epoch,
            min: 1e-5,
        },
    )
    .with_warmup(steps_per_epoch / 4);
    let mut curves = Curves::default();
    let started = std::time::Instant::now();
    let mut largest_norm: f32 = 0.0;
    let mut step = 0;
    for epoch in 0..epochs {
        let batches = minibatches(train_labels.len(), BATCH, &mut rng);
        let bar = common::epoch_bar(epoch, epochs, batches.len());
        bar.set_prefix(format!("{cell} {}/{epochs}", epoch + 1));
        let mut total = 0.0;
        for batch in &batches {
            let (x, y) = (select_rows(x_train, batch), select_labels(train_labels, batch));
            optimizer.set_learning_rate(schedule.at(step));
            let (value, norm) = model.train_step(&mut optimizer, &rows(&x, width), &y, clip);
            largest_norm = largest_norm.max(norm);
            step += 1;
            total += f64::from(value);
            bar.inc(1);
            if bar.position().is_multiple_of(20) {
                bar.set_message(format!("loss {:.4}", total / bar.position() as f64));
            }
        }
        bar.finish_and_clear();
        let (validation_loss, validation_accuracy) = evaluate(&model, validation_labels, x_validation, width);
        curves.train_loss.push(total / batches.len() as f64);
        curves.validation_loss.push(validation_loss);
        curves
            .train_accuracy
            .push(evaluate(&model, &probe_labels, &x_probe, width).1);
        curves.validation_accuracy.push(validation_accuracy);
    }
    let seconds = started.elapsed().as_secs_f64();
    Run {
        parameters: model.num_params(),
        validation: curves.validation_accuracy[epochs - 1],
        test: evaluate(&model, test_labels, x_test, width).1,
        largest_norm,
        seconds,
        through_time: [at_start, model.gradient_through_time(&watched_rows, &watched_labels)],
        curves,
    }
}

fn main() {
    let (seeds, args) = common::seeds_and_args();
    let mut args = args.into_iter().peekable();
    // `-` stands for no MNIST directory (then `$AUTODIFF_MNIST_DIR`, if set).
    let dir = args.next().filter(|d| d != "-");
    let mut cells = Vec::new();
    let (mut epochs, mut clip, mut method) = (None, None, Method::Adam);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "elman" | "gru" | "lstm" => cells.push(arg),
            "--sgd" => {
                method = match args.next().map(|n| n.parse::<f64>()) {
                    Some(Ok(lr)) if lr > 0.0 => Method::Sgd(lr),
                    _ => {
                        eprintln!("--sgd takes a positive learning rate");
                        std::process::exit(2);
                    }
                }
            }
            "--clip" => {
                clip = match args.next().map(|n| n.parse::<f32>()) {
                    Some(Ok(n)) if n > 0.0 => Some(n),
                    _ => {
                        eprintln!("--clip takes a positive gradient norm");
                        std::process::exit(2);
                    }
                }
            }
            number => match number.parse::<usize>() {
                Ok(n) if n > 0 => epochs = Some(n),
                _ => {
                    eprintln!("unknown argument `{number}`: cells are `elman`, `gru`, `lstm`; a number is the epochs");
                    std::process::exit(2);
                }
            },
        }
    }
    if cells.is_empty() {
        cells = vec!["elman".into(), "gru".into(), "lstm".into()];
    }
    // MNIST when given (28 rows of 28 pixels), else the synthetic task.
    let (train, validation, test, width, default_epochs) = match mnist_dir(dir).map(mnist) {
        Ok(Ok(data)) => {
            let (train, validation) = common::mnist_split(&data.train);
            (train, validation, data.test, 28, 8)
        }
        Ok(Err(e)) => {
            eprintln!("cannot read MNIST: {e}");
            std::process::exit(2);
        }
        Err(_) => {
            println!("MNIST not given: a synthetic task instead, whose class only the first of 28 rows tells");
            let mut rng = StdRng::seed_from_u64(common::SPLIT_SEED);
            let [train, validation, test] = [5_000, 1_000, 1_000].map(|n| first_row_task(n, &mut rng));
            (train, validation, test, 28, 20)
        }
    };
    let epochs = epochs.unwrap_or(default_epochs);
    let steps = train.images.ncols() / width;
    println!(
        "{} training, {} validation, {} test images, read as {steps} rows of {width} pixels; {epochs} epochs, {}, {} seed{}{}",
        train.len(),
        validation.len(),
        test.len(),
        match method {
            Method::Adam => "Adam at 2e-3".to_string(),
            Method::Sgd(lr) => format!("plain SGD at {lr}"),
        },
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" },
        clip.map_or(String::new(), |c| format!(", gradients clipped to norm {c}"))
    );
    let standardizer = Standardizer::fit_channels(&train.images, 1, 1e-3);
    let data = Data {
        x: [&train, &validation, &test].map(|d| standardizer.transform(&d.images)),
        labels: [&train, &validation, &test].map(|d| d.labels.clone()),
        width,
        epochs,
    };

    println!(
        "\n| cell | parameters | validation accuracy | test accuracy | largest gradient norm | ‖∂C/∂h₀‖ / ‖∂C/∂h_T‖ at start → trained | seconds per run |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut through_time = Vec::new();
    for cell in &cells {
        let runs: Vec<Run> = seeds
            .iter()
            .map(|&s| train_cell(cell, s, method, clip, &data))
            .collect();
        let validation_accuracy: Vec<f64> = runs.iter().map(|r| r.validation).collect();
        let test_accuracy: Vec<f64> = runs.iter().map(|r| r.test).collect();
        let ratio = |k: usize| {
            let t = &runs[0].through_time[k];
            t[0] / t[t.len() - 1]
        };
        let text = |values: &[f64], n: usize| {
            if values.len() == 1 {
                common::accuracy_text(values[0], n)
            } else {
                common::mean_std_text(values, n)
            }
        };
        println!(
            "| {cell} | {} | {} | {} | {:.1} | {:.1e} → {:.1e} | {:.0} |",
            runs[0].parameters,
            text(&validation_accuracy, validation.len()),
            text(&test_accuracy, test.len()),
            runs.iter().map(|r| r.largest_norm).fold(0.0, f32::max),
            ratio(0),
            ratio(1),
            runs.iter().map(|r| r.seconds).sum::<f64>() / runs.len() as f64,
        );
        let path = common::plot_path(&format!("07_rnn_{cell}"));
        let label = "training cross-entropy (minibatch mean)";
        common::plot_curves(
            &path,
            &format!("row-by-row {cell}, seed {}", seeds[0]),
            &runs[0].curves,
            label,
            Metric::Accuracy,
        )
        .expect("plot written");
        through_time.push((cell.clone(), runs[0].through_time.clone()));
    }
    println!(
        "\naccuracies: mean ± sd over the seeds; the gradient norms and ratios: seed {}, on 256 training images",
        seeds[0]
    );
    // A few points of the plot, as numbers.
    let last = through_time.first().map_or(0, |c| c.1[0].len() - 1);
    let ts: Vec<usize> = (0..5).map(|k| k * last / 4).collect();
    println!(
        "\n| cell | ‖∂C/∂h_t‖ at t = {} (at initialisation) | the same after training |",
        ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    );
    println!("|---|---|---|");
    for (cell, norms) in &through_time {
        let row = |k: usize| {
            ts.iter()
                .map(|&t| format!("{:.1e}", norms[k][t]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("| {cell} | {} | {} |", row(0), row(1));
    }
    let path = common::plot_path("07_rnn_gradient_through_time");
    plot_through_time(&path, &through_time).expect("plot written");
    println!("‖∂C/∂h_t‖ against t: {}", path.display());
    println!("curves of each cell: {}", common::plot_path("07_rnn_*").display());
}

/// ‖∂C/∂h_t‖ against t, on a log scale: at initialisation (left) and after
/// training (right), one line per cell.
fn plot_through_time(
    path: &std::path::Path,
    cells: &[(String, [Vec<f64>; 2])],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1100, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let colors = [RED, BLUE, GREEN];
    let steps = cells.first().map_or(1, |c| c.1[0].len() - 1) as u32;
    for (k, (panel, title)) in panels.iter().zip(["at initialisation", "after training"]).enumerate() {
        let values = cells.iter().flat_map(|c| c.1[k].iter().copied()).filter(|v| *v > 0.0);
        let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
        let (lo, hi) = if lo.is_finite() {
            (lo / 2.0, hi * 2.0)
        } else {
            (1e-6, 1.0)
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("‖∂C/∂h_t‖ {title}"), ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(0..steps, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("t (rows read)")
            .y_desc("norm (log scale)")
            .y_label_formatter(&|v: &f64| format!("{v:.0e}"))
            .light_line_style(WHITE)
            .draw()?;
        for ((name, norms), color) in cells.iter().zip(colors) {
            let points = norms[k].iter().enumerate().map(|(t, &v)| (t as u32, v));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
