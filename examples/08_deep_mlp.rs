//! Tutorial 8: a network whose depth is a number, with and without batch
//! normalisation. The hidden layers are a `Vec<Layer>`, and the network
//! visits them with a `for` loop:
//!
//! ```text
//! for (i, layer) in net.layers.iter().enumerate() {
//!     let z = linear(&h, &layer.w, &layer.b);
//!     h = relu(&batch_norm_running(&z, &net.norms[i].gamma, &net.norms[i].beta, &stats[i], training, EPS));
//! }
//! ```
//!
//! `#[derive(Params)]` handles the `Vec`s (their tensors are named
//! `layers.0.w`, `layers.1.w`, ...), and `#[differentiable]` reverses the
//! loop: the backward pass visits the layers last to first and writes each
//! one's gradient into `g.net.layers[i]`. One compiled function serves every
//! depth, chosen here at run time.
//!
//! **Batch normalisation** rescales every unit's pre-activation by the mean
//! and standard deviation it has over the minibatch, then by a learned γ and
//! β. While training, the statistics are the batch's own and the gradient
//! flows through them; a model in use sees one image at a time, so it needs
//! statistics that do not depend on the batch: running averages kept during
//! training (`RunningStats`, PyTorch's `running_mean` and `running_var`),
//! used when `training` is false. The end of the tutorial shows what goes
//! wrong without them.
//!
//! The tutorial trains depths 1, 2, 4 and 8 (others on the command line),
//! each with plain layers and with batch-normalised ones, from several seeds,
//! picks the model with the best mean validation accuracy, and only then
//! reports its test accuracy.
//!
//! Run: `cargo run --release --example 08_deep_mlp [-- --seeds 10] [depths...]`
//! (3 seeds by default).

#[path = "common/mod.rs"]
mod common;

use autodiff::data::Dataset;
use autodiff::prelude::*;
use autodiff::train::{Adam, Init, Optimizer, accuracy, init, minibatches, select_labels, select_rows};
use common::{Curves, Metric, Split};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Params, Clone)]
struct Layer {
    w: Array2<f32>,
    b: Array1<f32>,
}

/// The γ and β of one batch-normalised layer.
#[derive(Params, Clone)]
struct Norm {
    gamma: Array1<f32>,
    beta: Array1<f32>,
}

/// `norms` is empty for plain layers, one per hidden layer otherwise.
#[derive(Params, Clone)]
struct DeepMlp {
    layers: Vec<Layer>,
    norms: Vec<Norm>,
    head: Layer,
}

const EPS: f32 = 1e-5;

/// The logits. With batch normalisation, `training` chooses the batch's own
/// statistics (and moves `stats` towards them) or the running averages.
#[differentiable(wrt(net))]
fn logits(net: &DeepMlp, stats: &[RunningStats<f32>], x: &Array2<f32>, training: bool) -> Array2<f32> {
    let mut h = x.clone();
    for (i, layer) in net.layers.iter().enumerate() {
        let z = linear(&h, &layer.w, &layer.b);
        h = if net.norms.is_empty() {
            relu(&z)
        } else {
            relu(&batch_norm_running(
                &z,
                &net.norms[i].gamma,
                &net.norms[i].beta,
                &stats[i],
                training,
                EPS,
            ))
        };
    }
    linear(&h, &net.head.w, &net.head.b)
}

#[differentiable(wrt(net))]
fn loss(net: &DeepMlp, stats: &[RunningStats<f32>], x: &Array2<f32>, labels: &[usize]) -> f32 {
    cross_entropy(&logits(net, stats, x, true), labels)
}

const WIDTH: usize = 96;
const EPOCHS: usize = 40;
const BATCH: usize = 32;

fn layer(outputs: usize, inputs: usize) -> Layer {
    Layer {
        w: Array2::zeros((outputs, inputs)),
        b: Array1::zeros(outputs),
    }
}

/// A trained network, its running statistics and its curves.
struct Trained {
    net: DeepMlp,
    stats: Vec<RunningStats<f32>>,
    curves: Curves,
}

/// Trains a network of `depth` hidden layers from one seed.
fn train(
    depth: usize,
    normalised: bool,
    seed: u64,
    train: &Dataset,
    x: &Array2<f32>,
    validation: (&Array2<f32>, &[usize]),
) -> Trained {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut net = DeepMlp {
        layers: (0..depth)
            .map(|i| layer(WIDTH, if i == 0 { x.ncols() } else { WIDTH }))
            .collect(),
        norms: Vec::new(),
        head: layer(10, if depth == 0 { x.ncols() } else { WIDTH }),
    };
    init(&mut net, Init::KaimingNormal, &mut rng);
    if normalised {
        net.norms = (0..depth)
            .map(|_| Norm {
                gamma: Array1::ones(WIDTH),
                beta: Array1::zeros(WIDTH),
            })
            .collect();
    }
    let stats: Vec<RunningStats<f32>> = (0..net.norms.len()).map(|_| RunningStats::new(WIDTH)).collect();
    let mut optimizer = Adam::new(1e-3);
    let mut workspace = Workspace::new();
    let mut curves = Curves::default();
    for _ in 0..EPOCHS {
        let mut total = 0.0;
        let batches = minibatches(train.len(), BATCH, &mut rng);
        for batch in &batches {
            let (xb, yb) = (select_rows(x, batch), select_labels(&train.labels, batch));
            let (value, grad) = loss_grad_with(&mut workspace, &net, &stats, &xb, &yb);
            optimizer.step(&mut net, &grad.net);
            workspace.recycle(grad.net);
            total += f64::from(value);
        }
        let z = logits(&net, &stats, validation.0, false);
        curves.train_loss.push(total / batches.len() as f64);
        curves.validation_loss.push(f64::from(cross_entropy(&z, validation.1)));
        curves
            .train_accuracy
            .push(accuracy(&logits(&net, &stats, x, false), &train.labels));
        curves.validation_accuracy.push(accuracy(&z, validation.1));
    }
    Trained { net, stats, curves }
}

fn main() {
    let (seeds, args) = common::seeds_and_args();
    let seeds: Vec<u64> = if seeds.len() == 1 { (0..3).collect() } else { seeds };
    let depths: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let depths = if depths.is_empty() { vec![1, 2, 4, 8] } else { depths };
    let split = Split::digits();
    let (train_set, validation, test) = (&split.train, &split.validation, &split.test);
    let [x_train, x_validation, x_test] = split.standardized();
    println!(
        "digits: {}; hidden layers of {WIDTH} units, Adam at 1e-3, {EPOCHS} epochs, {} seeds",
        split.describe(),
        seeds.len()
    );
    println!(
        "\n| depth | batch norm | parameters | final training loss | validation accuracy | batch norm's change (paired) |"
    );
    println!("|---:|---|---:|---:|---:|---:|");
    let started = std::time::Instant::now();
    // The best configuration by mean validation accuracy, and the test
    // accuracies of its models (read only for the one chosen).
    let mut best: Option<(usize, bool, f64, Vec<f64>)> = None;
    // The first seed's batch-normalised network of the last depth, for the end.
    let mut deepest = None;
    for &depth in &depths {
        let mut plain = Vec::new();
        for normalised in [false, true] {
            let runs: Vec<Trained> = seeds
                .iter()
                .map(|&s| {
                    train(
                        depth,
                        normalised,
                        s,
                        train_set,
                        &x_train,
                        (&x_validation, &validation.labels),
                    )
                })
                .collect();
            let last = |r: &Trained, values: fn(&Curves) -> &Vec<f64>| values(&r.curves)[EPOCHS - 1];
            let accuracies: Vec<f64> = runs.iter().map(|r| last(r, |c| &c.validation_accuracy)).collect();
            let losses: Vec<f64> = runs.iter().map(|r| last(r, |c| &c.train_loss)).collect();
            let (loss, loss_std) = common::mean_std(&losses);
            // The same seed with and without: the difference is the change's.
            let change = if normalised {
                let c = common::paired(&accuracies, &plain);
                format!(
                    "{:+.1} ± {:.1} points (p {})",
                    100.0 * c.mean,
                    100.0 * c.std,
                    common::p_text(c.p)
                )
            } else {
                plain = accuracies.clone();
                String::new()
            };
            println!(
                "| {depth} | {} | {} | {loss:.4} ± {loss_std:.4} | {} | {change} |",
                if normalised { "yes" } else { "no" },
                runs[0].net.num_params(),
                common::mean_std_text(&accuracies, validation.len()),
            );
            let name = format!("08_deep_mlp_depth{depth}{}", if normalised { "_bn" } else { "" });
            let title = format!(
                "depth {depth}{}, seed {}",
                if normalised { ", batch norm" } else { "" },
                seeds[0]
            );
            let label = "training cross-entropy (minibatch mean)";
            common::plot_curves(
                &common::plot_path(&name),
                &title,
                &runs[0].curves,
                label,
                Metric::Accuracy,
            )
            .expect("plot written");
            let (mean, _) = common::mean_std(&accuracies);
            if best.as_ref().is_none_or(|b| mean > b.2) {
                let tests = runs
                    .iter()
                    .map(|r| accuracy(&logits(&r.net, &r.stats, &x_test, false), &test.labels))
                    .collect();
                best = Some((depth, normalised, mean, tests));
            }
            if normalised && depth == depths[depths.len() - 1] {
                deepest = runs.into_iter().next();
            }
        }
    }
    println!("({:.1} s)", started.elapsed().as_secs_f64());
    let (depth, normalised, _, tests) = best.expect("at least one depth");
    println!(
        "\nbest on validation: depth {depth}{}; its test accuracy over the {} seeds: {}",
        if normalised { " with batch norm" } else { "" },
        seeds.len(),
        common::mean_std_text(&tests, test.len())
    );
    println!("curves: {}", common::plot_path("08_deep_mlp_depth*").display());

    let trained = deepest.expect("the last depth was trained with batch norm");
    one_at_a_time(&trained, depths[depths.len() - 1], seeds[0], &x_test, &test.labels);
}

/// A batch-normalised network used as a deployed model is: one image at a
/// time. With the batch's statistics, a batch of one normalises every unit
/// to exactly β, so every image gets the same logits.
fn one_at_a_time(trained: &Trained, depth: usize, seed: u64, x_test: &Array2<f32>, labels: &[usize]) {
    let one_by_one = |training: bool| {
        // A copy: in training mode each call also moves the averages.
        let stats = trained.stats.clone();
        let rows: Vec<Array2<f32>> = (0..x_test.nrows())
            .map(|i| {
                logits(
                    &trained.net,
                    &stats,
                    &x_test.slice(s![i..i + 1, ..]).to_owned(),
                    training,
                )
            })
            .collect();
        let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
        autodiff::ndarray::concatenate(Axis(0), &views).expect("rows of 10 logits")
    };
    let whole = |training: bool| logits(&trained.net, &trained.stats.clone(), x_test, training);
    let running = one_by_one(false);
    let batch_of_one = one_by_one(true);
    let distinct = |z: &Array2<f32>| {
        let mut predictions: Vec<usize> = z
            .rows()
            .into_iter()
            .map(|r| (0..10).max_by(|&a, &b| r[a].total_cmp(&r[b])).expect("10 classes"))
            .collect();
        predictions.sort_unstable();
        predictions.dedup();
        predictions.len()
    };
    let n = labels.len();
    println!(
        "\ndepth {depth} with batch norm (seed {seed}), its {n} test images classified in evaluation mode and not:\n"
    );
    println!("| statistics used | images per call | test accuracy | different predictions |");
    println!("|---|---:|---:|---:|");
    for (name, per_call, z) in [
        ("running averages (evaluation mode)", n, whole(false)),
        ("running averages (evaluation mode)", 1, running.clone()),
        ("the batch's own (training mode)", n, whole(true)),
        ("the batch's own (training mode)", 1, batch_of_one.clone()),
    ] {
        println!(
            "| {name} | {per_call} | {} | {} |",
            common::accuracy_text(accuracy(&z, labels), n),
            distinct(&z)
        );
    }
    // In evaluation mode an image's logits do not depend on the others in
    // its batch; with batch statistics a batch of one has no spread, and
    // every image gets the same logits.
    let largest = (&running - &whole(false)).mapv(f32::abs).fold(0.0f32, |m, &v| m.max(v));
    assert!(largest < 1e-4, "evaluation mode depends on the batch: {largest}");
    assert_eq!(
        distinct(&batch_of_one),
        1,
        "a batch of one normalises to β: one prediction for all"
    );
}
