//! Tutorial 13: which of the tricks matter? An ablation on the digits.
//!
//! Tutorial 04 trains with every trick at once. Here each is changed alone,
//! the others kept as in 04 (the baseline), and every variant is trained
//! from several seeds on the same split. What a trick is worth is the change
//! in validation accuracy it causes, against the spread between seeds. (The
//! validation images are what one tunes on; the test images stay unread, as
//! they would until a recipe is final.)
//!
//! | group | baseline (tutorial 04) | changed to |
//! |---|---|---|
//! | activation | ReLU | sigmoid, tanh |
//! | output and loss | cross-entropy on log-softmax | MSE on softmax (with Adam, and with plain SGD) |
//! | minibatches | shuffled every epoch | one fixed order; sorted by label |
//! | inputs | standardised per pixel | raw pixel values 0 to 16 |
//! | initialisation | Kaiming N(0, 2/fan_in) | Xavier N(0, 2/(fan_in + fan_out)); naive U(−1, 1) |
//! | optimiser | Adam, lr 3e-3 | plain SGD, lr 0.1; momentum 0.9, lr 0.01 |
//! | schedule | warm-up, then cosine decay | constant; step (×0.5 every 10 epochs); exponential (to 1%) |
//! | penalty | L2, λ = 1e-4 | none; L1, λ = 1e-5 |
//! | dropout | keep 0.8 | none |
//!
//! One differentiable function serves every variant: the choices are
//! constant arguments, and `match` on a constant is ordinary Rust inside
//! `#[differentiable]` (only the taken arm is differentiated).
//!
//! Adam rescales every parameter's step by its own gradient history, which
//! hides some tricks (the scale of the inputs, of the initial weights, of the
//! loss's gradient); `--sgd` runs the same table with plain SGD as the
//! baseline's optimiser.
//!
//! Run: `cargo run --release --example 13_ablation [-- --seeds 10] [--sgd]`
//! (5 seeds by default).

#[path = "common/mod.rs"]
mod common;

use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Sgd, accuracy, dropout_mask, init, minibatches, select_labels, select_rows,
};
use common::Split;
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Params, Clone)]
struct Mlp {
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Activation {
    Relu,
    Sigmoid,
    Tanh,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Loss {
    CrossEntropy,
    MseOnSoftmax,
}

/// The training objective of every variant. `one_hot` is the MSE's target;
/// `l1_weight` and `l2_weight` are 0 where a penalty is off.
#[differentiable(wrt(model))]
#[allow(clippy::too_many_arguments)]
fn objective(
    model: &Mlp,
    x: &Array2<f32>,
    labels: &[usize],
    one_hot: &Array2<f32>,
    mask: &Array2<f32>,
    keep: f32,
    activation: Activation,
    loss: Loss,
    l1_weight: f32,
    l2_weight: f32,
) -> f32 {
    let z1 = linear(x, &model.w1, &model.b1);
    let h = match activation {
        Activation::Relu => relu(&z1),
        Activation::Sigmoid => sigmoid(&z1),
        Activation::Tanh => tanh(&z1),
    };
    let z = linear(&dropout(&h, mask, keep), &model.w2, &model.b2);
    let data = match loss {
        Loss::CrossEntropy => cross_entropy(&z, labels),
        Loss::MseOnSoftmax => mse_loss(&softmax(&z), one_hot),
    };
    let l1_term = l1_weight * (l1(&model.w1) + l1(&model.w2));
    data + l1_term + l2_weight * (l2(&model.w1) + l2(&model.w2))
}

/// The network at validation time: no dropout.
fn logits(model: &Mlp, x: &Array2<f32>, activation: Activation) -> Array2<f32> {
    let z1 = linear(x, &model.w1, &model.b1);
    let h = match activation {
        Activation::Relu => relu(&z1),
        Activation::Sigmoid => sigmoid(&z1),
        Activation::Tanh => tanh(&z1),
    };
    linear(&h, &model.w2, &model.b2)
}

#[derive(Clone, Copy, PartialEq)]
enum Order {
    Shuffled,
    Fixed,
    ByLabel,
}

#[derive(Clone, Copy, PartialEq)]
enum WeightInit {
    Kaiming,
    Xavier,
    Naive,
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    Adam,
    Sgd,
    Momentum,
}

#[derive(Clone, Copy, PartialEq)]
enum Lr {
    Cosine,
    Constant,
    Step,
    Exponential,
}

/// One variant of the recipe.
#[derive(Clone, Copy)]
struct Recipe {
    activation: Activation,
    loss: Loss,
    order: Order,
    standardize: bool,
    init: WeightInit,
    method: Method,
    schedule: Lr,
    l1: f32,
    l2: f32,
    keep: f32,
}

/// Tutorial 04's recipe.
const BASELINE: Recipe = Recipe {
    activation: Activation::Relu,
    loss: Loss::CrossEntropy,
    order: Order::Shuffled,
    standardize: true,
    init: WeightInit::Kaiming,
    method: Method::Adam,
    schedule: Lr::Cosine,
    l1: 0.0,
    l2: 1e-4,
    keep: 0.8,
};

const HIDDEN: usize = 256;
const EPOCHS: usize = 40;
const BATCH: usize = 32;

/// Plain SGD, momentum and Adam behind one type.
enum Stepper {
    Sgd(Sgd<f32>),
    Adam(Adam<f32>),
}

impl Stepper {
    fn step(&mut self, model: &mut Mlp, grad: &Mlp, lr: f64) {
        match self {
            Stepper::Sgd(o) => {
                o.set_learning_rate(lr);
                o.step(model, grad);
            }
            Stepper::Adam(o) => {
                o.set_learning_rate(lr);
                o.step(model, grad);
            }
        }
    }
}

/// The images of the three sets, raw and standardised, and the labels.
struct Data {
    standardized: [Array2<f32>; 3],
    raw: [Array2<f32>; 3],
    labels: [Vec<usize>; 3],
}

/// Trains one variant from one seed; returns its validation accuracy and
/// validation cross-entropy after the last epoch.
fn train(recipe: Recipe, seed: u64, data: &Data) -> (f64, f64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let [x_train, x_validation, _] = if recipe.standardize {
        &data.standardized
    } else {
        &data.raw
    };
    let [train_labels, validation_labels, _] = &data.labels;
    let mut model = Mlp {
        w1: Array2::zeros((HIDDEN, x_train.ncols())),
        b1: Array1::zeros(HIDDEN),
        w2: Array2::zeros((10, HIDDEN)),
        b2: Array1::zeros(10),
    };
    match recipe.init {
        WeightInit::Kaiming => init(&mut model, Init::KaimingNormal, &mut rng),
        WeightInit::Xavier => init(&mut model, Init::XavierNormal, &mut rng),
        WeightInit::Naive => {
            for w in [&mut model.w1, &mut model.w2] {
                w.mapv_inplace(|_| rng.random_range(-1.0..1.0));
            }
        }
    }
    let base = match recipe.method {
        Method::Adam => 3e-3,
        Method::Sgd => 0.1,
        Method::Momentum => 0.01,
    };
    let mut stepper = match recipe.method {
        Method::Adam => Stepper::Adam(Adam::new(base)),
        Method::Sgd => Stepper::Sgd(Sgd::new(base)),
        Method::Momentum => Stepper::Sgd(Sgd::momentum(base, 0.9)),
    };
    let steps_per_epoch = train_labels.len().div_ceil(BATCH);
    let total = EPOCHS * steps_per_epoch;
    let decay = match recipe.schedule {
        Lr::Cosine => Decay::Cosine { total, min: 1e-5 },
        Lr::Constant => Decay::Constant,
        Lr::Step => Decay::Step {
            every: 10 * steps_per_epoch,
            gamma: 0.5,
        },
        Lr::Exponential => Decay::Exponential {
            gamma: 0.01f64.powf(1.0 / total as f64),
        },
    };
    let schedule = Schedule::new(base, decay).with_warmup(steps_per_epoch);

    let mut by_label: Vec<usize> = (0..train_labels.len()).collect();
    by_label.sort_by_key(|&i| train_labels[i]);
    let fixed: Vec<Vec<usize>> = (0..train_labels.len())
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(<[usize]>::to_vec)
        .collect();
    let sorted: Vec<Vec<usize>> = by_label.chunks(BATCH).map(<[usize]>::to_vec).collect();
    let mut step = 0;
    for _ in 0..EPOCHS {
        let batches = match recipe.order {
            Order::Shuffled => minibatches(train_labels.len(), BATCH, &mut rng),
            Order::Fixed => fixed.clone(),
            Order::ByLabel => sorted.clone(),
        };
        for batch in &batches {
            let (x, y) = (select_rows(x_train, batch), select_labels(train_labels, batch));
            let mut one_hot = Array2::zeros((batch.len(), 10));
            for (row, &label) in y.iter().enumerate() {
                one_hot[[row, label]] = 1.0;
            }
            let mask = dropout_mask((batch.len(), HIDDEN), f64::from(recipe.keep), &mut rng);
            let (_, grad) = objective_grad(
                &model,
                &x,
                &y,
                &one_hot,
                &mask,
                recipe.keep,
                recipe.activation,
                recipe.loss,
                recipe.l1,
                recipe.l2,
            );
            stepper.step(&mut model, &grad.model, schedule.at(step));
            step += 1;
        }
    }
    let z = logits(&model, x_validation, recipe.activation);
    (
        accuracy(&z, validation_labels),
        f64::from(cross_entropy(&z, validation_labels)),
    )
}

/// The variants, by group: each changes one thing in the baseline `b`.
fn variants(b: Recipe) -> Vec<(&'static str, &'static str, Recipe)> {
    let adam = b.method == Method::Adam;
    let mut rows = vec![
        (
            "baseline",
            if adam {
                "tutorial 04's recipe"
            } else {
                "04's recipe, plain SGD"
            },
            b,
        ),
        (
            "activation",
            "sigmoid",
            Recipe {
                activation: Activation::Sigmoid,
                ..b
            },
        ),
        (
            "activation",
            "tanh",
            Recipe {
                activation: Activation::Tanh,
                ..b
            },
        ),
        (
            "loss",
            "MSE on softmax",
            Recipe {
                loss: Loss::MseOnSoftmax,
                ..b
            },
        ),
    ];
    if adam {
        // The same pair without Adam's per-parameter scaling of the step.
        rows.push((
            "loss",
            "cross-entropy, plain SGD",
            Recipe {
                method: Method::Sgd,
                ..b
            },
        ));
        rows.push((
            "loss",
            "MSE on softmax, plain SGD",
            Recipe {
                loss: Loss::MseOnSoftmax,
                method: Method::Sgd,
                ..b
            },
        ));
    }
    rows.extend([
        (
            "minibatches",
            "one fixed order",
            Recipe {
                order: Order::Fixed,
                ..b
            },
        ),
        (
            "minibatches",
            "sorted by label",
            Recipe {
                order: Order::ByLabel,
                ..b
            },
        ),
        (
            "inputs",
            "raw pixels 0–16",
            Recipe {
                standardize: false,
                ..b
            },
        ),
        (
            "init",
            "Xavier",
            Recipe {
                init: WeightInit::Xavier,
                ..b
            },
        ),
        (
            "init",
            "naive U(−1, 1)",
            Recipe {
                init: WeightInit::Naive,
                ..b
            },
        ),
    ]);
    for (method, name) in [
        (Method::Adam, "Adam, lr 3e-3"),
        (Method::Sgd, "plain SGD, lr 0.1"),
        (Method::Momentum, "momentum 0.9, lr 0.01"),
    ] {
        if method != b.method {
            rows.push(("optimiser", name, Recipe { method, ..b }));
        }
    }
    rows.extend([
        (
            "schedule",
            "constant",
            Recipe {
                schedule: Lr::Constant,
                ..b
            },
        ),
        (
            "schedule",
            "step ×0.5 / 10 epochs",
            Recipe {
                schedule: Lr::Step,
                ..b
            },
        ),
        (
            "schedule",
            "exponential to 1%",
            Recipe {
                schedule: Lr::Exponential,
                ..b
            },
        ),
        ("penalty", "none", Recipe { l2: 0.0, ..b }),
        ("penalty", "L1, λ = 1e-5", Recipe { l1: 1e-5, l2: 0.0, ..b }),
        ("dropout", "none", Recipe { keep: 1.0, ..b }),
    ]);
    rows
}

fn main() {
    let (seeds, args) = common::seeds_and_args();
    let seeds: Vec<u64> = if seeds.len() == 1 { (0..5).collect() } else { seeds };
    let sgd = args.iter().any(|a| a == "--sgd");
    let baseline = if sgd {
        Recipe {
            method: Method::Sgd,
            ..BASELINE
        }
    } else {
        BASELINE
    };
    let split = Split::digits();
    let data = Data {
        standardized: split.standardized(),
        raw: split.raw(),
        labels: [&split.train, &split.validation, &split.test].map(|d| d.labels.clone()),
    };
    let n_validation = data.labels[1].len();
    println!(
        "digits: {}; each variant trained {EPOCHS} epochs from {} seeds\n",
        split.describe(),
        seeds.len()
    );
    println!("| group | variant | validation accuracy | validation cross-entropy | change in accuracy |");
    println!("|---|---|---:|---:|---:|");
    let started = std::time::Instant::now();
    let mut rows = Vec::new();
    let (mut baseline_mean, mut baseline_std) = (0.0, 0.0);
    let n = seeds.len() as f64;
    for (group, name, recipe) in variants(baseline) {
        let (accuracies, losses): (Vec<f64>, Vec<f64>) = seeds.iter().map(|&s| train(recipe, s, &data)).unzip();
        let (mean, std) = common::mean_std(&accuracies);
        let (loss_mean, loss_std) = common::mean_std(&losses);
        let change = if group == "baseline" {
            (baseline_mean, baseline_std) = (mean, std);
            String::new()
        } else {
            // Beyond the seeds' noise when the difference of the means is
            // more than twice its standard error.
            let error = ((std * std + baseline_std * baseline_std) / n).sqrt();
            let beyond = (mean - baseline_mean).abs() > 2.0 * error;
            format!(
                "{:+.1} points{}",
                100.0 * (mean - baseline_mean),
                if beyond { " *" } else { "" }
            )
        };
        println!(
            "| {group} | {name} | {} | {loss_mean:.3} ± {loss_std:.3} | {change} |",
            common::mean_std_text(&accuracies, n_validation),
        );
        rows.push((format!("{group}: {name}"), mean, std));
    }
    println!("\n* beyond the noise between seeds: the change is more than twice its standard error");
    println!(
        "one validation image is {:.2} points; {} trainings in {:.0} s",
        100.0 / n_validation as f64,
        rows.len() * seeds.len(),
        started.elapsed().as_secs_f64()
    );
    let path = common::plot_path(if sgd { "13_ablation_sgd" } else { "13_ablation" });
    chart(&path, &rows, seeds.len()).expect("chart written");
    println!("chart of the validation error: {}", path.display());
}

/// Validation error (mean ± one standard deviation over seeds) per variant,
/// as horizontal bars on a log scale.
fn chart(path: &std::path::Path, rows: &[(String, f64, f64)], seeds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 60 + 28 * rows.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let errors: Vec<(f64, f64, f64)> = rows
        .iter()
        .map(|(_, mean, std)| {
            let e = 100.0 * (1.0 - mean);
            (e, (e - 100.0 * std).max(0.5), e + 100.0 * std)
        })
        .collect();
    let high = errors.iter().map(|e| e.2).fold(10.0, f64::max) * 1.2;
    let n = rows.len() as i32;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("validation error, mean ± std over {seeds} seeds (log scale)"),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(250)
        .build_cartesian_2d((0.5..high).log_scale(), (0..n).into_segmented())?;
    chart
        .configure_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&|y: &SegmentValue<i32>| match y {
            SegmentValue::CenterOf(i) => rows
                .get((n - 1 - *i) as usize)
                .map_or_else(String::new, |r| r.0.clone()),
            _ => String::new(),
        })
        .x_label_formatter(&|x: &f64| format!("{x}%"))
        .light_line_style(WHITE)
        .draw()?;
    for (i, (mean, low, high)) in errors.iter().enumerate() {
        // The first row (the baseline) at the top.
        let i = n - 1 - i as i32;
        let color = if i == n - 1 { BLUE } else { RED };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.5, SegmentValue::Exact(i)), (*mean, SegmentValue::Exact(i + 1))],
            color.mix(0.5).filled(),
        )))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(*low, SegmentValue::CenterOf(i)), (*high, SegmentValue::CenterOf(i))],
            BLACK.stroke_width(2),
        )))?;
    }
    root.present()?;
    Ok(())
}
