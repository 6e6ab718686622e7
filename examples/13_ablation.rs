//! Tutorial 13: which of the tricks matter? An ablation on the digits.
//!
//! Tutorial 04 trains with every trick at once. Here each is changed alone,
//! the others kept as in 04 (the baseline), and every variant is trained on
//! the same split. What a trick is worth is the change in validation
//! accuracy it causes, weighed against the spread between seeds. (The
//! validation images are what one tunes on; the test images stay unread, as
//! they would until a recipe is final.)
//!
//! Three precautions make the comparison fair:
//!
//! - **Each variant gets its own learning rate.** A change can move the best
//!   rate (MSE on softmax has a gradient many times smaller than
//!   cross-entropy's); compared at the baseline's rate it would be judged on
//!   a rate chosen for another recipe. Every variant, the baseline included,
//!   tries its optimiser's default rate ×0.1 to ×100 on three tuning seeds
//!   and keeps the one with the lowest validation cross-entropy; the table
//!   shows the accuracy at the default rate too.
//! - **Paired seeds.** Seed s draws the initial weights, the order and the
//!   dropout masks; a variant and its reference trained from the same seed
//!   differ by the change and not by the draw, so the table reports the
//!   per-seed differences (10 measuring seeds, apart from the tuning ones).
//! - **A correction for many comparisons.** Seventeen tests at 5% each would
//!   flag about one change by chance; Holm's adjustment of the paired
//!   t-tests' p-values keeps the chance of any false flag at 5%.
//!
//! | group | baseline (tutorial 04) | changed to |
//! |---|---|---|
//! | activation | ReLU | sigmoid, tanh |
//! | output and loss | cross-entropy on log-softmax | MSE on softmax (with Adam, and with plain SGD) |
//! | minibatches | shuffled every epoch | one fixed order; sorted by label |
//! | inputs | standardised per pixel | raw pixel values 0 to 16 |
//! | initialisation | Kaiming N(0, 2/fan_in) | Xavier N(0, 2/(fan_in + fan_out)); naive U(−1, 1) |
//! | optimiser | Adam (default lr 3e-3) | plain SGD (default 0.1); momentum 0.9 (default 0.01) |
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
//! Run: `cargo run --release --example 13_ablation [-- --seeds 20] [--sgd]`
//! (10 measuring seeds by default; about 700 trainings, under three minutes
//! on two cores).

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
#[derive(Clone, Copy, PartialEq)]
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

/// Each optimiser's learning rate in tutorial 04's recipe (Adam) and in
/// the usual starting points for plain SGD and momentum: the middle of the
/// grid every variant's own rate is chosen from.
fn default_lr(method: Method) -> f64 {
    match method {
        Method::Adam => 3e-3,
        Method::Sgd => 0.1,
        Method::Momentum => 0.01,
    }
}

/// The learning rates tried per variant: the default ×0.1 to ×100 in steps
/// of √10. A rate chosen at either end is marked: the best may lie beyond.
const LR_FACTORS: [f64; 7] = [0.1, 0.316, 1.0, 3.16, 10.0, 31.6, 100.0];

/// The seeds that choose each variant's learning rate, apart from those
/// that measure it, so that the reported accuracies are not the lucky
/// draws the choice was made on.
const TUNING_SEEDS: [u64; 3] = [1000, 1001, 1002];

/// Trains one variant at peak learning rate `base` from one seed; returns
/// its validation accuracy and validation cross-entropy after the last epoch.
fn train(recipe: Recipe, base: f64, seed: u64, data: &Data) -> (f64, f64) {
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

/// One row of the table: a variant, and the recipe it is compared with
/// (the baseline, except where a second change rides on the first).
struct Variant {
    group: &'static str,
    name: &'static str,
    recipe: Recipe,
    against: Recipe,
}

/// The variants, by group: each changes one thing in the baseline `b`.
fn variants(b: Recipe) -> Vec<Variant> {
    let row = |group, name, recipe| Variant {
        group,
        name,
        recipe,
        against: b,
    };
    let adam = b.method == Method::Adam;
    let sgd = Recipe {
        method: Method::Sgd,
        ..b
    };
    let mut rows = vec![
        row(
            "baseline",
            if adam {
                "tutorial 04's recipe"
            } else {
                "04's recipe, plain SGD"
            },
            b,
        ),
        row(
            "activation",
            "sigmoid",
            Recipe {
                activation: Activation::Sigmoid,
                ..b
            },
        ),
        row(
            "activation",
            "tanh",
            Recipe {
                activation: Activation::Tanh,
                ..b
            },
        ),
        row(
            "loss",
            "MSE on softmax",
            Recipe {
                loss: Loss::MseOnSoftmax,
                ..b
            },
        ),
    ];
    if adam {
        // The same change without Adam's per-parameter scaling of the
        // step, measured against cross-entropy with plain SGD (the
        // optimiser group's row).
        rows.push(Variant {
            against: sgd,
            ..row(
                "loss",
                "MSE on softmax, plain SGD",
                Recipe {
                    loss: Loss::MseOnSoftmax,
                    ..sgd
                },
            )
        });
    }
    rows.extend([
        row(
            "minibatches",
            "one fixed order",
            Recipe {
                order: Order::Fixed,
                ..b
            },
        ),
        row(
            "minibatches",
            "sorted by label",
            Recipe {
                order: Order::ByLabel,
                ..b
            },
        ),
        row(
            "inputs",
            "raw pixels 0–16",
            Recipe {
                standardize: false,
                ..b
            },
        ),
        row(
            "init",
            "Xavier",
            Recipe {
                init: WeightInit::Xavier,
                ..b
            },
        ),
        row(
            "init",
            "naive U(−1, 1)",
            Recipe {
                init: WeightInit::Naive,
                ..b
            },
        ),
    ]);
    for (method, name) in [
        (Method::Adam, "Adam"),
        (Method::Sgd, "plain SGD"),
        (Method::Momentum, "momentum 0.9"),
    ] {
        if method != b.method {
            rows.push(row("optimiser", name, Recipe { method, ..b }));
        }
    }
    rows.extend([
        row(
            "schedule",
            "constant",
            Recipe {
                schedule: Lr::Constant,
                ..b
            },
        ),
        row(
            "schedule",
            "step ×0.5 / 10 epochs",
            Recipe {
                schedule: Lr::Step,
                ..b
            },
        ),
        row(
            "schedule",
            "exponential to 1%",
            Recipe {
                schedule: Lr::Exponential,
                ..b
            },
        ),
        row("penalty", "none", Recipe { l2: 0.0, ..b }),
        row("penalty", "L1, λ = 1e-5", Recipe { l1: 1e-5, l2: 0.0, ..b }),
        row("dropout", "none", Recipe { keep: 1.0, ..b }),
    ]);
    rows
}

/// What one variant measured: its chosen learning rate and, per measuring
/// seed, the validation accuracy at that rate and at its optimiser's default.
struct Measured {
    lr: f64,
    accuracies: Vec<f64>,
    losses: Vec<f64>,
    at_default: Vec<f64>,
}

/// Chooses the variant's learning rate on the tuning seeds (the lowest mean
/// validation cross-entropy: on 288 images accuracy moves in steps of 0.35
/// points and often ties, the cross-entropy moves smoothly), then trains it
/// from every measuring seed at that rate, and at the default rate.
fn measure(recipe: Recipe, seeds: &[u64], data: &Data) -> Measured {
    let default = default_lr(recipe.method);
    let mut best = (f64::INFINITY, default);
    for factor in LR_FACTORS {
        let lr = default * factor;
        // A diverged run's cross-entropy is NaN: the worst.
        let loss = TUNING_SEEDS
            .iter()
            .map(|&s| train(recipe, lr, s, data).1)
            .map(|l| if l.is_nan() { f64::INFINITY } else { l })
            .sum::<f64>();
        if loss < best.0 {
            best = (loss, lr);
        }
    }
    let lr = best.1;
    let (accuracies, losses): (Vec<f64>, Vec<f64>) = seeds.iter().map(|&s| train(recipe, lr, s, data)).unzip();
    let at_default = if lr == default {
        accuracies.clone()
    } else {
        seeds.iter().map(|&s| train(recipe, default, s, data).0).collect()
    };
    Measured {
        lr,
        accuracies,
        losses,
        at_default,
    }
}

fn main() {
    let (seeds, args) = common::seeds_and_args();
    let seeds: Vec<u64> = if seeds.len() == 1 { (0..10).collect() } else { seeds };
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
    let rows = variants(baseline);
    println!(
        "digits: {}; each variant trained {EPOCHS} epochs: its learning rate chosen from {} on seeds {:?}, \
         then measured from {} other seeds\n",
        split.describe(),
        LR_FACTORS.map(|f| format!("×{f}")).join(" "),
        TUNING_SEEDS,
        seeds.len()
    );
    let started = std::time::Instant::now();
    let progress = indicatif::ProgressBar::new(rows.len() as u64);
    let measured: Vec<Measured> = rows
        .iter()
        .map(|row| {
            progress.set_message(row.name);
            let m = measure(row.recipe, &seeds, &data);
            progress.inc(1);
            m
        })
        .collect();
    progress.finish_and_clear();

    // Each variant against its reference, seed by seed; Holm's adjustment
    // over all of them at once.
    let reference = |recipe: Recipe| {
        rows.iter()
            .position(|r| r.recipe == recipe)
            .expect("every reference is a row")
    };
    let comparisons: Vec<Option<common::Paired>> = rows
        .iter()
        .zip(&measured)
        .map(|(row, m)| {
            (row.recipe != row.against)
                .then(|| common::paired(&m.accuracies, &measured[reference(row.against)].accuracies))
        })
        .collect();
    let p: Vec<f64> = comparisons.iter().flatten().map(|c| c.p).collect();
    let mut adjusted = common::holm(&p).into_iter();

    println!(
        "| group | variant | lr | validation accuracy | change (paired) | p, Holm-adjusted | accuracy at the default lr |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut bars = Vec::new();
    for ((row, m), comparison) in rows.iter().zip(&measured).zip(&comparisons) {
        let (change, significance) = match comparison {
            None => (String::new(), String::new()),
            Some(c) => {
                let p = adjusted.next().expect("one adjusted p per comparison");
                let against = if row.against == baseline {
                    String::new()
                } else {
                    format!(" vs {}", rows[reference(row.against)].name)
                };
                (
                    format!("{:+.1} ± {:.1}{against}", 100.0 * c.mean, 100.0 * c.std),
                    format!("{}{}", common::p_text(p), if p < 0.05 { " *" } else { "" }),
                )
            }
        };
        let (loss_mean, _) = common::mean_std(&m.losses);
        println!(
            "| {} | {} | {} | {} (CE {loss_mean:.3}) | {change} | {significance} | {} |",
            row.group,
            row.name,
            lr_text(m.lr, default_lr(row.recipe.method)),
            common::mean_std_text(&m.accuracies, n_validation),
            common::mean_std_text(&m.at_default, n_validation),
        );
        let (mean, std) = common::mean_std(&m.accuracies);
        bars.push((format!("{}: {}", row.group, row.name), mean, std));
    }
    println!(
        "\nchange: validation accuracy minus the baseline's (or the named row's), seed by seed, in points \
         (mean ± sd over {} seeds; one image is {:.2} points)",
        seeds.len(),
        100.0 / n_validation as f64
    );
    println!(
        "*: adjusted p below 0.05 (paired t-test; Holm's adjustment over the {} comparisons keeps the chance \
         of any false * below 5%)",
        p.len()
    );
    println!(
        "{} trainings in {:.0} s",
        rows.len() * (LR_FACTORS.len() * TUNING_SEEDS.len() + seeds.len())
            + rows
                .iter()
                .zip(&measured)
                .filter(|(row, m)| m.lr != default_lr(row.recipe.method))
                .count()
                * seeds.len(),
        started.elapsed().as_secs_f64()
    );
    let path = common::plot_path(if sgd { "13_ablation_sgd" } else { "13_ablation" });
    chart(&path, &bars, seeds.len()).expect("chart written");
    println!("chart of the validation error: {}", path.display());
}

/// `3e-3` or `9.5e-3 (×3.16)`: the rate, and its factor when not the default.
fn lr_text(lr: f64, default: f64) -> String {
    let short = |v: f64, decimals: usize| {
        let text = format!("{v:.decimals$}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let rate = if lr >= 0.1 {
        short(lr, 2)
    } else {
        format!("{lr:.1e}").replace(".0e", "e")
    };
    let factor = lr / default;
    let at = |f: f64| (factor / f - 1.0).abs() < 1e-9;
    let edge = if at(LR_FACTORS[0]) || at(LR_FACTORS[LR_FACTORS.len() - 1]) {
        ", edge"
    } else {
        ""
    };
    if (factor - 1.0).abs() < 1e-9 {
        rate
    } else {
        format!("{rate} (×{}{edge})", short(factor, 3))
    }
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
