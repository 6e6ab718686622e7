//! Tutorial 4: train an MLP on the bundled handwritten digits with every
//! practical trick of backpropagation, and nothing hand-written.
//!
//! * ReLU activations;
//! * cross-entropy on log-softmax (`cross_entropy` fuses them);
//! * Kaiming initialisation (weights of variance 2/fan_in, biases at 0);
//! * inputs standardised per feature with statistics of the training split;
//! * minibatches, shuffled anew every epoch;
//! * Adam with a learning-rate schedule (warm-up, then cosine decay);
//! * L2 weight decay, coupled: `λ·(l2(w1) + l2(w2))` is part of the loss;
//! * dropout during training only (a fresh mask per minibatch; none at test time).
//!
//! The gradient of `loss` with respect to the whole `Mlp` comes from
//! `#[differentiable(wrt(model))]`. Everything is seeded: the same command
//! prints the same numbers.
//!
//! Run: `cargo run --release --example 04_train_digits`

#[path = "common/mod.rs"]
mod common;

use autodiff::data::digits;
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Standardizer, accuracy, dropout_mask, init, minibatches, select_labels,
    select_rows,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Params, Clone)]
struct Mlp {
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

/// The training loss: dropout on the hidden layer, L2 on the weights.
#[differentiable(wrt(model))]
fn loss(model: &Mlp, x: &Array2<f32>, labels: &[usize], mask: &Array2<f32>, keep: f32, decay: f32) -> f32 {
    let h = relu(&linear(x, &model.w1, &model.b1));
    let h = dropout(&h, mask, keep);
    let z = linear(&h, &model.w2, &model.b2);
    cross_entropy(&z, labels) + decay * (l2(&model.w1) + l2(&model.w2))
}

/// The network at test time: no dropout.
fn logits(model: &Mlp, x: &Array2<f32>) -> Array2<f32> {
    linear(&relu(&linear(x, &model.w1, &model.b1)), &model.w2, &model.b2)
}

const SEED: u64 = 2024;
const HIDDEN: usize = 256;
const EPOCHS: usize = 40;
const BATCH: usize = 32;
const KEEP: f32 = 0.8;
const DECAY: f32 = 1e-4;

fn main() {
    let mut rng = StdRng::seed_from_u64(SEED);
    let (train, test) = digits().split(0.2, &mut rng);
    println!(
        "digits: {} training and {} held-out test images of 8×8 pixels",
        train.len(),
        test.len()
    );

    // Standardise with the training split's statistics only.
    let standardizer = Standardizer::fit(&train.images, 1e-3);
    let (x_train, x_test) = (
        standardizer.transform(&train.images),
        standardizer.transform(&test.images),
    );

    let mut model = Mlp {
        w1: Array2::zeros((HIDDEN, 64)),
        b1: Array1::zeros(HIDDEN),
        w2: Array2::zeros((10, HIDDEN)),
        b2: Array1::zeros(10),
    };
    init(&mut model, Init::KaimingNormal, &mut rng);
    println!("model: 64 → {HIDDEN} → 10, {} parameters", model.num_params());

    let steps_per_epoch = train.len().div_ceil(BATCH);
    let schedule = Schedule::new(
        3e-3,
        Decay::Cosine {
            total: EPOCHS * steps_per_epoch,
            min: 1e-5,
        },
    )
    .with_warmup(steps_per_epoch);
    let mut optimizer = Adam::new(schedule.base);
    let (mut losses, mut accuracies) = (Vec::new(), Vec::new());
    let mut step = 0;
    let started = std::time::Instant::now();
    for epoch in 0..EPOCHS {
        let batches = minibatches(train.len(), BATCH, &mut rng);
        let bar = common::epoch_bar(epoch, EPOCHS, batches.len());
        let mut total = 0.0;
        for batch in &batches {
            let (x, y) = (select_rows(&x_train, batch), select_labels(&train.labels, batch));
            let mask = dropout_mask((batch.len(), HIDDEN), f64::from(KEEP), &mut rng);
            let (value, grad) = loss_grad(&model, &x, &y, &mask, KEEP, DECAY);
            optimizer.set_learning_rate(schedule.at(step));
            optimizer.step(&mut model, &grad.model);
            step += 1;
            total += f64::from(value);
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", total / bar.position() as f64));
        }
        bar.finish_and_clear();
        let epoch_loss = total / batches.len() as f64;
        let test_accuracy = accuracy(&logits(&model, &x_test), &test.labels);
        losses.push(epoch_loss);
        accuracies.push(test_accuracy);
        if epoch % 5 == 4 || epoch == 0 {
            println!(
                "epoch {:>2}: training loss {epoch_loss:.4}, test accuracy {:.2}%",
                epoch + 1,
                100.0 * test_accuracy
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let final_accuracy = accuracies[EPOCHS - 1];
    println!(
        "\ntest accuracy after {EPOCHS} epochs: {:.2}% ({} of {} held-out images), trained in {seconds:.1} s",
        100.0 * final_accuracy,
        (final_accuracy * test.len() as f64).round(),
        test.len()
    );
    let path = common::plot_path("04_train_digits");
    common::plot_curves(&path, "digits MLP", &losses, "test", &accuracies).expect("plot written");
    println!("loss and accuracy curves: {}", path.display());
}
