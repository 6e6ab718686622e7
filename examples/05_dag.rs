//! Tutorial 5: backpropagation works on any directed acyclic graph.
//!
//! The network below is not a stack of layers:
//!
//! ```text
//!   x ─ linear ─ relu ─ h ─┬──────────────────────── add ─ h2 ─┬─ linear ─ a ─┐
//!                          └─ linear ─ relu ─ r ──────┘        └─ linear ─ b ─┴─ max ─ relu ─ linear ─ z ─ cross_entropy
//! ```
//!
//! `h` fans out into the residual branch and the skip connection (its
//! gradient is the sum of both), `add` passes the gradient to both inputs, and
//! `max` routes it to whichever branch won. The macro orders the modules
//! topologically and reverses that order; nothing here is special-cased.
//!
//! Run: `cargo run --release --example 05_dag`

#[path = "common/mod.rs"]
mod common;

use autodiff::data::digits;
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Decay, Init, Optimizer, Schedule, Standardizer, accuracy, init, minibatches, select_labels, select_rows,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Params, Clone)]
struct DagNet {
    w_in: Array2<f32>,
    b_in: Array1<f32>,
    w_res: Array2<f32>,
    b_res: Array1<f32>,
    w_a: Array2<f32>,
    b_a: Array1<f32>,
    w_b: Array2<f32>,
    b_b: Array1<f32>,
    w_out: Array2<f32>,
    b_out: Array1<f32>,
}

/// The DAG's logits.
#[differentiable]
fn forward(net: &DagNet, x: &Array2<f32>) -> Array2<f32> {
    let h = relu(&linear(x, &net.w_in, &net.b_in));
    let r = relu(&linear(&h, &net.w_res, &net.b_res));
    let h2 = &h + &r;
    let a = linear(&h2, &net.w_a, &net.b_a);
    let b = linear(&h2, &net.w_b, &net.b_b);
    linear(&relu(&max(&a, &b)), &net.w_out, &net.b_out)
}

/// The loss calls `forward`: a differentiable function is a module too.
#[differentiable(wrt(net))]
fn loss(net: &DagNet, x: &Array2<f32>, labels: &[usize]) -> f32 {
    cross_entropy(&forward(net, x), labels) + 1e-4 * (l2(&net.w_in) + l2(&net.w_res))
}

const HIDDEN: usize = 128;
const EPOCHS: usize = 30;
const BATCH: usize = 32;

fn main() {
    let mut rng = StdRng::seed_from_u64(5);
    let (train, test) = digits().split(0.2, &mut rng);
    let standardizer = Standardizer::fit(&train.images, 1e-3);
    let (x_train, x_test) = (
        standardizer.transform(&train.images),
        standardizer.transform(&test.images),
    );

    let square = || (Array2::zeros((HIDDEN, HIDDEN)), Array1::zeros(HIDDEN));
    let ((w_res, b_res), (w_a, b_a), (w_b, b_b)) = (square(), square(), square());
    let mut net = DagNet {
        w_in: Array2::zeros((HIDDEN, 64)),
        b_in: Array1::zeros(HIDDEN),
        w_res,
        b_res,
        w_a,
        b_a,
        w_b,
        b_b,
        w_out: Array2::zeros((10, HIDDEN)),
        b_out: Array1::zeros(10),
    };
    init(&mut net, Init::KaimingNormal, &mut rng);
    println!(
        "a residual block and a max of two branches: {} parameters in {} tensors",
        net.num_params(),
        net.shapes().len()
    );

    let steps = EPOCHS * train.len().div_ceil(BATCH);
    let schedule = Schedule::new(
        2e-3,
        Decay::Cosine {
            total: steps,
            min: 1e-5,
        },
    );
    let mut optimizer = Adam::new(schedule.base);
    let (mut losses, mut accuracies) = (Vec::new(), Vec::new());
    let mut step = 0;
    for epoch in 0..EPOCHS {
        let batches = minibatches(train.len(), BATCH, &mut rng);
        let bar = common::epoch_bar(epoch, EPOCHS, batches.len());
        let mut total = 0.0;
        for batch in &batches {
            let (x, y) = (select_rows(&x_train, batch), select_labels(&train.labels, batch));
            let (value, grad) = loss_grad(&net, &x, &y);
            optimizer.set_learning_rate(schedule.at(step));
            optimizer.step(&mut net, &grad.net);
            step += 1;
            total += f64::from(value);
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", total / bar.position() as f64));
        }
        bar.finish_and_clear();
        losses.push(total / batches.len() as f64);
        accuracies.push(accuracy(&forward(&net, &x_test), &test.labels));
        if epoch % 5 == 4 {
            println!(
                "epoch {:>2}: training loss {:.4}, test accuracy {:.2}%",
                epoch + 1,
                losses[epoch],
                100.0 * accuracies[epoch]
            );
        }
    }
    println!(
        "\ntest accuracy of the DAG network: {:.2}% of {} held-out images",
        100.0 * accuracies[EPOCHS - 1],
        test.len()
    );
    let path = common::plot_path("05_dag");
    common::plot_curves(&path, "digits DAG", &losses, "test", &accuracies).expect("plot written");
    println!("loss and accuracy curves: {}", path.display());
}
