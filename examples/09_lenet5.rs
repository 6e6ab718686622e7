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
//! set once, and writes the learning curves, a picture of the six 5×5
//! filters of the first layer, and one test digit's feature maps: what each
//! filter of either convolution responds to in that image.
//!
//! Convolutions share each filter's weights over every position of the
//! image, so LeNet-5 has 61,706 parameters where tutorial 06's MLP has
//! 469,160; the table at the end sets the two side by side. One training run
//! is one draw of the initial weights and the order of the minibatches:
//! `--seeds N` trains N of them and reports the mean and standard deviation.
//!
//! The network, its loss and its evaluation are in `examples/models/lenet.rs`
//! (the `models` library that the benchmarks and tests use too).
//!
//! Run: `cargo run --release --example 09_lenet5 -- ../shared/data/mnist [--seeds 3]`

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

use autodiff::ndarray::{ArrayView2, s};

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

/// Feature maps as an SVG: one row per layer, one grey-scale square per
/// channel (each scaled to its own largest value: black 0, white the
/// largest), the input image first.
fn feature_maps_svg(image: &ArrayView2<f32>, layers: &[(&str, Array3<f32>)]) -> String {
    let (cell, gap, label) = (4, 10, 18);
    let square = |n: usize| n * cell;
    let widest = layers
        .iter()
        .map(|(_, m)| m.shape()[0] * (square(m.shape()[2]) + gap))
        .max()
        .unwrap_or(0);
    let width = widest.max(square(28) + gap) + gap;
    let mut rows: Vec<(String, Vec<Array2<f32>>)> = vec![("input".into(), vec![image.to_owned()])];
    rows.extend(
        layers
            .iter()
            .map(|(name, maps)| (name.to_string(), maps.outer_iter().map(|m| m.to_owned()).collect())),
    );
    let height: usize = rows
        .iter()
        .map(|(_, m)| square(m[0].nrows()) + gap + label)
        .sum::<usize>()
        + gap;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let mut top = gap;
    for (name, maps) in &rows {
        writeln!(svg, "<text x=\"{gap}\" y=\"{}\">{name}</text>", top + 13).expect("writing to a String");
        top += label;
        for (c, map) in maps.iter().enumerate() {
            let (low, high) = map
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
            let (low, span) = if name == "input" {
                (low, (high - low).max(1e-12))
            } else {
                (0.0, high.max(1e-12))
            };
            let left = gap + c * (square(map.ncols()) + gap);
            for ((i, j), &v) in map.indexed_iter() {
                let grey = (255.0 * ((v - low) / span).clamp(0.0, 1.0)).round() as u8;
                writeln!(
                    svg,
                    "<rect x=\"{}\" y=\"{}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({grey},{grey},{grey})\"/>",
                    left + j * cell,
                    top + i * cell
                )
                .expect("writing to a String");
            }
        }
        top += square(maps[0].nrows()) + gap;
    }
    svg + "</svg>\n"
}

const EPOCHS: usize = 12;
const BATCH: usize = 64;

/// The number of parameters of tutorial 06's MLP, 784-500-150-10.
const MLP_PARAMETERS: usize = 784 * 500 + 500 + 500 * 150 + 150 + 150 * 10 + 10;

fn main() {
    let (seeds, args) = common::seeds_and_args();
    let dir = match mnist_dir(args.first().cloned()) {
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
    let standardizer = Standardizer::fit_channels(&train.images, 1, 1e-3);
    let rows_train = standardizer.transform(&train.images);
    let [x_validation, x_test] = [&validation, &data.test].map(|d| images(standardizer.transform(&d.images)));
    println!(
        "MNIST: {} training, {} validation, {} test images of 28×28; {} seed{}",
        train.len(),
        validation.len(),
        data.test.len(),
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" }
    );
    let probe: Vec<usize> = (0..5_000).collect();
    let probe_labels = select_labels(&train.labels, &probe);
    let x_probe = images(select_rows(&rows_train, &probe));

    let mut errors = Vec::new();
    let mut first = None;
    for &seed in &seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut model = LeNet5::zeros();
        init(&mut model, Init::KaimingNormal, &mut rng);
        if first.is_none() {
            println!("model: LeNet-5, {} parameters", model.num_params());
        }
        println!("\nseed {seed}");

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
        let error = 1.0 - evaluate(&model, &x_test, &data.test.labels).1;
        println!("test error {:.2}%", 100.0 * error);
        errors.push((1.0 - curves.validation_accuracy[EPOCHS - 1], error));
        if first.is_none() {
            first = Some((model, curves));
        }
    }
    let (model, curves) = first.expect("at least one seed");
    let validation_errors: Vec<f64> = errors.iter().map(|e| e.0).collect();
    let test_errors: Vec<f64> = errors.iter().map(|e| e.1).collect();
    let text = |values: &[f64]| {
        let (mean, std) = common::mean_std(values);
        if values.len() > 1 {
            format!("{:.2} ± {:.2}%", 100.0 * mean, 100.0 * std)
        } else {
            format!("{:.2}%", 100.0 * mean)
        }
    };
    println!(
        "\ntest error {} on the 10,000 MNIST test images (validation {}; LeCun et al. 1998: 0.95% for LeNet-5 \
         without distortions), {:.0} s in all",
        text(&test_errors),
        text(&validation_errors),
        started.elapsed().as_secs_f64()
    );
    println!("\n| model | parameters | test error |");
    println!("|---|---:|---:|");
    println!("| tutorial 06's MLP, 784-500-150-10 | {MLP_PARAMETERS} | 1.50% (its run in the README) |");
    println!("| LeNet-5 | {} | {} |", model.num_params(), text(&test_errors));

    let path = common::plot_path("09_lenet5");
    common::plot_curves(&path, "LeNet-5", &curves, "training loss: cross-entropy", Metric::Error)
        .expect("plot written");
    println!("\nloss and error curves (seed {}): {}", seeds[0], path.display());
    let filters = path.with_file_name("09_lenet5_filters.svg");
    std::fs::write(&filters, filters_svg(&model.conv1)).expect("target/ is writable");
    println!("the first layer's six 5×5 filters: {}", filters.display());

    // The first test image through the two convolutions (after ReLU).
    let x = x_test.slice(s![0..1, .., .., ..]);
    let first_maps = relu(&conv2d(&x, &model.conv1, &model.conv1_b, 1, 2)); // [1, 6, 28, 28]
    let pooled = max_pool2d(&first_maps, 2, 2);
    let second_maps = relu(&conv2d(&pooled, &model.conv2, &model.conv2_b, 1, 0)); // [1, 16, 10, 10]
    let picture = path.with_file_name("09_lenet5_feature_maps.svg");
    let svg = feature_maps_svg(
        &x.slice(s![0, 0, .., ..]),
        &[
            (
                "after the first convolution and ReLU: 6 maps of 28×28",
                first_maps.index_axis_move(Axis(0), 0),
            ),
            (
                "after the second: 16 maps of 10×10",
                second_maps.index_axis_move(Axis(0), 0),
            ),
        ],
    );
    std::fs::write(&picture, svg).expect("target/ is writable");
    println!(
        "test image 0 (a {}) and its feature maps: {}",
        data.test.labels[0],
        picture.display()
    );
}
