//! The tutorials' GPT (multi-head causal attention over a `Vec` of blocks,
//! tied embedding and head), its gradient against finite differences in f64
//! on a tiny configuration, and its f32 gradient against the f64 one.

mod common;

use autodiff::prelude::*;
use common::{assert_f32_model_agrees, assert_model_gradient};
use models::gpt::{Config, Gpt};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn tiny() -> Config {
    Config {
        vocab: 7,
        context: 5,
        layers: 2,
        heads: 2,
        width: 4,
    }
}

/// A model whose norms' scales and biases are not their defaults, so that
/// every parameter's gradient is exercised.
fn model(config: Config) -> Gpt<f64> {
    let mut m = Gpt::<f64>::new(config, &mut StdRng::seed_from_u64(1));
    let mut rng = StdRng::seed_from_u64(2);
    m.visit_mut(&mut |_, mut v| {
        v.mapv_inplace(|x| x * 20.0 + rand::Rng::random_range(&mut rng, -0.3..0.3));
    });
    m
}

#[test]
fn the_gpt_matches_finite_differences() {
    let config = tiny();
    let m = model(config);
    let ids = ndarray::array![[0, 3, 6, 2, 2], [5, 1, 0, 4, 3]];
    let targets = [3, 6, 2, 2, 1, 1, 0, 4, 3, 5];
    let (value, g) = m.loss_grad(&ids, &targets, config.heads);
    assert_eq!(value, m.loss(&ids, &targets, config.heads));
    assert_model_gradient(|m: &Gpt<f64>| m.loss(&ids, &targets, config.heads), &m, &g.self_);
    // For one position, the loss is −log softmax of the sampling logits.
    let one = ndarray::array![[3]];
    let logits = m.last_logits(&one, config.heads);
    let expected = logits.mapv(f64::exp).sum().ln() - logits[5];
    assert!((m.loss(&one, &[5], config.heads) - expected).abs() < 1e-12);
    // And for a longer prefix, the logits of its last position.
    let logits = m.last_logits(&ids.slice(ndarray::s![0..1, ..]).to_owned(), config.heads);
    assert_eq!(logits.len(), config.vocab);
}

#[test]
fn f32_gradients_agree_with_f64() {
    let config = tiny();
    let m64 = model(config);
    let mut m32 = Gpt::<f32>::new(config, &mut StdRng::seed_from_u64(1));
    let mut values = m64
        .views()
        .into_iter()
        .map(|v| v.to_owned())
        .collect::<Vec<_>>()
        .into_iter();
    m32.visit_mut(&mut |_, mut v| {
        let source = values.next().expect("same tensors");
        v.zip_mut_with(&source, |a, &b| *a = b as f32);
    });
    let ids = ndarray::array![[1, 2, 3, 4, 5]];
    let targets = [2, 3, 4, 5, 6];
    let (_, g64) = m64.loss_grad(&ids, &targets, config.heads);
    let (_, g32) = m32.loss_grad(&ids, &targets, config.heads);
    assert_f32_model_agrees(&g32.self_, &g64.self_, 1e-3);
}
