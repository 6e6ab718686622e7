//! Tutorial 5: backpropagation works on any directed acyclic graph.
//!
//! The network below is not a stack of layers:
//!
//! ```text
//!   x ─ linear ─ relu ─ h ─┬──────────────────────── add ─ h2 ─┬─ linear ─ a ─┐
//!                          └─ linear ─ relu ─ r ──────┘        └─ linear ─ b ─┴─ max ─ relu ─ dropout ─ linear ─ z
//! ```
//!
//! `h` fans out into the residual branch and the skip connection, so its
//! gradient is the sum of what both send back; `add` passes the gradient to
//! both inputs, and `max` routes it to whichever branch won. The macro orders
//! the modules topologically and reverses that order; nothing here is
//! special-cased. The tutorial shows it rather than saying it:
//!
//! 1. it prints the lines of the generated code that build the gradient of
//!    `h` (the sum is the `accumulate` line);
//! 2. it checks the whole gradient of the loss, every parameter, against
//!    finite differences in f64;
//! 3. it trains on the same digits split, with the same tricks, as tutorial
//!    04, so that the two models' accuracies can be compared (`--seeds 10`
//!    for mean ± standard deviation).
//!
//! Run: `cargo run --release --example 05_dag [-- --seeds 10]`

#[path = "common/mod.rs"]
mod common;

use autodiff::gradcheck::{Tolerance, numerical_gradient};
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, accuracy, dropout_mask, init, minibatches, select_labels, select_rows,
};
use common::{Curves, Metric, Split};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// One definition for training in f32 and checking in f64.
#[derive(Params, Clone)]
struct DagNet<F: Float> {
    w_in: Array2<F>,
    b_in: Array1<F>,
    w_res: Array2<F>,
    b_res: Array1<F>,
    w_a: Array2<F>,
    b_a: Array1<F>,
    w_b: Array2<F>,
    b_b: Array1<F>,
    w_out: Array2<F>,
    b_out: Array1<F>,
}

impl<F: Float> DagNet<F> {
    fn zeros(inputs: usize, hidden: usize) -> Self {
        let layer = |o: usize, i: usize| (Array2::zeros((o, i)), Array1::zeros(o));
        let ((w_in, b_in), (w_res, b_res)) = (layer(hidden, inputs), layer(hidden, hidden));
        let ((w_a, b_a), (w_b, b_b), (w_out, b_out)) =
            (layer(hidden, hidden), layer(hidden, hidden), layer(10, hidden));
        DagNet {
            w_in,
            b_in,
            w_res,
            b_res,
            w_a,
            b_a,
            w_b,
            b_b,
            w_out,
            b_out,
        }
    }
}

/// The DAG's logits; `mask` drops hidden units (all ones: no dropout).
#[differentiable(wrt(net))]
fn forward<F: Float>(net: &DagNet<F>, x: &Array2<F>, mask: &Array2<F>, keep: F) -> Array2<F> {
    let h = relu(&linear(x, &net.w_in, &net.b_in));
    let r = relu(&linear(&h, &net.w_res, &net.b_res));
    let h2 = &h + &r;
    let a = linear(&h2, &net.w_a, &net.b_a);
    let b = linear(&h2, &net.w_b, &net.b_b);
    let top = dropout(&relu(&max(&a, &b)), mask, keep);
    linear(&top, &net.w_out, &net.b_out)
}

/// The loss calls `forward`: a differentiable function is a module too.
/// L2 on the weights, as in tutorial 04.
#[differentiable(wrt(net))]
fn loss<F: Float>(net: &DagNet<F>, x: &Array2<F>, labels: &[usize], mask: &Array2<F>, keep: F, decay: F) -> F {
    let weights = l2(&net.w_in) + l2(&net.w_res) + l2(&net.w_a) + l2(&net.w_b) + l2(&net.w_out);
    cross_entropy(&forward(net, x, mask, keep), labels) + decay * weights
}

/// The network at test time: no dropout.
fn logits(net: &DagNet<f32>, x: &Array2<f32>) -> Array2<f32> {
    forward(net, x, &Array2::ones((x.nrows(), net.b_a.len())), 1.0)
}

const HIDDEN: usize = 128;
const EPOCHS: usize = 40;
const BATCH: usize = 32;
const KEEP: f32 = 0.8;
const DECAY: f32 = 1e-4;

/// The generated lines that build the gradient of `h`: from the VJP of `add`
/// (the skip connection's contribution) to the VJP of the ReLU that made `h`,
/// which reads the sum. Generated names are `__v<n>_<name>` for values and
/// `__g<n>_<name>` for gradients; `__c<n>_<k>` is input `k`'s contribution
/// from the VJP of step `n`.
fn show_fan_out() {
    let source = FORWARD_GRAD_SOURCE;
    let lines: Vec<&str> = source.lines().collect();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let words = |line: &str| {
        line.split(|c: char| !is_ident(c))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let grad_h = source
        .split(|c: char| !is_ident(c))
        .find(|word| word.starts_with("__g") && word.ends_with("_h"))
        .expect("the gradient of h is in the generated code");
    let first = lines
        .iter()
        .position(|l| words(l).iter().any(|w| w == grad_h))
        .expect("h receives a gradient");
    // The contribution it starts from, `__c<n>_<k>`, and the VJP call that binds it.
    let contribution = words(lines[first])
        .into_iter()
        .find(|w| w.starts_with("__c"))
        .expect("a VJP's contribution");
    let tuple = contribution.rsplit_once('_').map_or(contribution.as_str(), |(t, _)| t);
    let from = lines[..first]
        .iter()
        .rposition(|l| l.trim_start().starts_with("let (") && l.contains(tuple))
        .unwrap_or(first);
    let to = lines
        .iter()
        .position(|l| l.contains(&format!("match {grad_h} ")))
        .map_or(first, |i| i + 1);
    println!(
        "1. Fan-out, as the macro generated it: the lines of `forward_grad` ({} lines in all, in the\n   \
         constant FORWARD_GRAD_SOURCE) that build `{grad_h}`, the gradient of h:\n",
        lines.len()
    );
    for (number, line) in lines.iter().enumerate().take(to + 1).skip(from) {
        let mark = if words(line).iter().any(|w| w == grad_h) {
            "▶"
        } else {
            " "
        };
        println!("   {:>4} {mark} {line}", number + 1);
    }
    println!(
        "\n   add_vjp gives h its first contribution (the skip connection); the residual branch's\n   \
         arrives from the linear_vjp of w_res and `accumulate` adds it; only then does the\n   \
         relu_vjp that made h read the sum."
    );
}

/// Every parameter's gradient against central differences, in f64, on a
/// small network (so that the check runs in a moment).
fn check_gradient(x: &Array2<f64>, labels: &[usize]) {
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = DagNet::<f64>::zeros(x.ncols(), 6);
    init(&mut net, Init::KaimingNormal, &mut rng);
    // Biases too, so that no ReLU input sits exactly on its kink at 0.
    net.visit_mut(&mut |_, mut v| v.mapv_inplace(|w| w + 0.01));
    let mask: Array2<f64> = dropout_mask((x.nrows(), 6), 0.8, &mut rng);
    let (keep, decay) = (0.8, 1e-3);
    let (_, grad) = loss_grad(&net, x, labels, &mask, keep, decay);

    let params: Vec<ArrayD<f64>> = net.views().into_iter().map(|v| v.to_owned()).collect();
    let analytic: Vec<ArrayD<f64>> = grad.net.views().into_iter().map(|v| v.to_owned()).collect();
    let at = |values: &[ArrayD<f64>]| {
        let mut moved = net.clone();
        let mut next = values.iter();
        moved.visit_mut(&mut |_, mut v| v.assign(next.next().expect("one array per tensor")));
        loss(&moved, x, labels, &mask, keep, decay)
    };
    let numeric = numerical_gradient(at, &params, 1e-6);
    let (mut worst, mut count) = (0.0f64, 0);
    let tolerance = Tolerance::default();
    for (a, n) in analytic.iter().zip(&numeric) {
        for (a, n) in a.iter().zip(n) {
            worst = worst.max((a - n).abs());
            count += 1;
            assert!(
                (a - n).abs() <= tolerance.atol + tolerance.rtol * n.abs(),
                "analytic {a:e} against finite differences {n:e}"
            );
        }
    }
    println!(
        "\n2. The gradient of the whole loss (DAG, dropout and L2) against central differences, in f64, on a\n   \
         64-6-10 copy of the network and {} digits: {count} parameters, largest difference {worst:.1e}: agreed.",
        x.nrows()
    );
}

/// Standardised images and labels of the three sets.
struct Data {
    x: [Array2<f32>; 3],
    labels: [Vec<usize>; 3],
}

/// Trains one network from `seed`, as tutorial 04 trains its MLP.
fn train(seed: u64, data: &Data, verbose: bool) -> (DagNet<f32>, Curves) {
    let mut rng = StdRng::seed_from_u64(seed);
    let [x_train, x_validation, _] = &data.x;
    let [train_labels, validation_labels, _] = &data.labels;
    let mut net = DagNet::zeros(x_train.ncols(), HIDDEN);
    init(&mut net, Init::KaimingNormal, &mut rng);
    let steps_per_epoch = train_labels.len().div_ceil(BATCH);
    let schedule = Schedule::new(
        3e-3,
        Decay::Cosine {
            total: EPOCHS * steps_per_epoch,
            min: 1e-5,
        },
    )
    .with_warmup(steps_per_epoch);
    let mut optimizer = Adam::new(schedule.base);
    let mut curves = Curves::default();
    let mut step = 0;
    for epoch in 0..EPOCHS {
        let batches = minibatches(train_labels.len(), BATCH, &mut rng);
        let bar = common::epoch_bar(epoch, EPOCHS, batches.len());
        let mut total = 0.0;
        for batch in &batches {
            let (x, y) = (select_rows(x_train, batch), select_labels(train_labels, batch));
            let mask = dropout_mask((batch.len(), HIDDEN), f64::from(KEEP), &mut rng);
            let (value, grad) = loss_grad(&net, &x, &y, &mask, KEEP, DECAY);
            optimizer.set_learning_rate(schedule.at(step));
            optimizer.step(&mut net, &grad.net);
            step += 1;
            total += f64::from(value);
            bar.inc(1);
        }
        bar.finish_and_clear();
        let validation_logits = logits(&net, x_validation);
        curves.train_loss.push(total / batches.len() as f64);
        curves
            .validation_loss
            .push(f64::from(cross_entropy(&validation_logits, validation_labels)));
        curves
            .train_accuracy
            .push(accuracy(&logits(&net, x_train), train_labels));
        curves
            .validation_accuracy
            .push(accuracy(&validation_logits, validation_labels));
        if verbose && epoch % 10 == 9 {
            println!(
                "   epoch {:>2}: training objective {:.4}, validation loss {:.4}, validation accuracy {}",
                epoch + 1,
                curves.train_loss[epoch],
                curves.validation_loss[epoch],
                common::accuracy_text(curves.validation_accuracy[epoch], validation_labels.len())
            );
        }
    }
    (net, curves)
}

fn main() {
    let (seeds, _) = common::seeds_and_args();
    let split = Split::digits();
    let data = Data {
        x: split.standardized(),
        labels: [&split.train, &split.validation, &split.test].map(|d| d.labels.clone()),
    };
    let (x_test, test_labels) = (&data.x[2], &data.labels[2]);

    show_fan_out();
    let few: Vec<usize> = (0..8).collect();
    check_gradient(
        &select_rows(&data.x[0], &few).mapv(f64::from),
        &select_labels(&data.labels[0], &few),
    );

    println!(
        "\n3. Training on the digits split of tutorial 04 ({}), with its tricks:",
        split.describe()
    );
    if let [seed] = seeds[..] {
        let (net, curves) = train(seed, &data, true);
        println!(
            "\n   {} parameters in {} tensors; test accuracy, evaluated once after training: {} (seed {seed})",
            net.num_params(),
            net.shapes().len(),
            common::accuracy_text(accuracy(&logits(&net, x_test), test_labels), test_labels.len())
        );
        let path = common::plot_path("05_dag");
        let label = "training objective: cross-entropy + L2, dropout on";
        common::plot_curves(&path, "digits DAG", &curves, label, Metric::Accuracy).expect("plot written");
        println!("   loss and accuracy curves: {}", path.display());
        println!("   one run is one draw: `-- --seeds 10` reports mean ± standard deviation over ten");
        return;
    }
    let (mut validation, mut test) = (Vec::new(), Vec::new());
    for &seed in &seeds {
        let (net, curves) = train(seed, &data, false);
        validation.push(curves.validation_accuracy[EPOCHS - 1]);
        test.push(accuracy(&logits(&net, x_test), test_labels));
    }
    println!(
        "   over {} seeds: validation {}, test {}",
        seeds.len(),
        common::mean_std_text(&validation, data.labels[1].len()),
        common::mean_std_text(&test, test_labels.len())
    );
}
