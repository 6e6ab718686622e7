//! Training end to end on the bundled digits, with generated gradients.

use autodiff::data::digits;
use autodiff::prelude::*;
use autodiff::train::{
    Adam, Init, Optimizer, Sgd, Standardizer, accuracy, dropout_mask, init, load, minibatches, save, select_labels,
    select_rows,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Params, Clone, Debug, PartialEq)]
struct Mlp {
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

#[differentiable(wrt(model))]
fn loss(model: &Mlp, x: &Array2<f32>, labels: &[usize], mask: &Array2<f32>) -> f32 {
    let h = dropout(&relu(&linear(x, &model.w1, &model.b1)), mask, 0.9);
    cross_entropy(&linear(&h, &model.w2, &model.b2), labels) + 1e-4 * l2(&model.w1)
}

fn logits(model: &Mlp, x: &Array2<f32>) -> Array2<f32> {
    linear(&relu(&linear(x, &model.w1, &model.b1)), &model.w2, &model.b2)
}

/// Trains for `steps` minibatch steps from `seed`; returns the model and the
/// mean loss of the first and last ten steps.
fn train(seed: u64, steps: usize, optimizer: &mut impl Optimizer<f32>) -> (Mlp, f32, f32) {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = digits();
    let x = Standardizer::fit(&data.images, 1e-3).transform(&data.images);
    let mut model = Mlp {
        w1: Array2::zeros((32, 64)),
        b1: Array1::zeros(32),
        w2: Array2::zeros((10, 32)),
        b2: Array1::zeros(10),
    };
    init(&mut model, Init::KaimingUniform, &mut rng);
    let mut losses = Vec::new();
    while losses.len() < steps {
        for batch in minibatches(data.len(), 64, &mut rng) {
            if losses.len() == steps {
                break;
            }
            let (xb, yb) = (select_rows(&x, &batch), select_labels(&data.labels, &batch));
            let mask = dropout_mask((batch.len(), 32), 0.9, &mut rng);
            let (value, grad) = loss_grad(&model, &xb, &yb, &mask);
            optimizer.step(&mut model, &grad.model);
            losses.push(value);
        }
    }
    let mean = |s: &[f32]| s.iter().sum::<f32>() / s.len() as f32;
    (model, mean(&losses[..10]), mean(&losses[steps - 10..]))
}

#[test]
fn a_short_run_lowers_the_loss_and_learns() {
    let (model, first, last) = train(1, 120, &mut Adam::new(3e-3));
    assert!(last < 0.5 * first, "loss went from {first} to {last}");
    let data = digits();
    let x = Standardizer::fit(&data.images, 1e-3).transform(&data.images);
    let acc = accuracy(&logits(&model, &x), &data.labels);
    assert!(acc > 0.85, "training accuracy {acc}");
    // SGD with Nesterov momentum learns too.
    let (_, first, last) = train(1, 120, &mut Sgd::nesterov(0.05, 0.9));
    assert!(last < 0.5 * first, "SGD: loss went from {first} to {last}");
}

#[test]
fn the_same_seed_gives_bit_identical_weights() {
    let (a, _, _) = train(7, 30, &mut Adam::new(1e-3));
    let (b, _, _) = train(7, 30, &mut Adam::new(1e-3));
    assert_eq!(a, b);
    let (c, _, _) = train(8, 30, &mut Adam::new(1e-3));
    assert_ne!(a, c);
}

#[test]
fn a_trained_model_survives_a_checkpoint() {
    let (model, _, _) = train(3, 20, &mut Adam::new(1e-3));
    let path = std::env::temp_dir().join(format!("autodiff-training-{}.safetensors", std::process::id()));
    save(&model, &path).unwrap();
    let mut restored = Mlp {
        w1: Array2::zeros((32, 64)),
        b1: Array1::zeros(32),
        w2: Array2::zeros((10, 32)),
        b2: Array1::zeros(10),
    };
    load(&mut restored, &path).unwrap();
    assert_eq!(restored, model);
    std::fs::remove_file(path).ok();
}
