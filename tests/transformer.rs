//! The tutorials' GPT (multi-head causal attention over a `Vec` of blocks,
//! tied embedding and head), its gradient against finite differences in f64
//! on a tiny configuration, its f32 gradient against the f64 one, and its
//! loss and gradient against PyTorch's for the same weights and data
//! (`tests/fixtures/gpt_tiny.txt`, written by `bench-peers/python/gpt_fixture.py`
//! from the inputs `write_the_fixtures_inputs` writes).

mod common;

use autodiff::prelude::*;
use common::{assert_f32_model_agrees, assert_model_gradient};
use models::gpt::{Config, Gpt};
use ndarray::Array2;
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

/// The fixture's inputs: every tensor of [`model`] as `name n values...`,
/// then the ids and targets, one line each.
fn fixture_inputs(m: &Gpt<f64>, ids: &Array2<usize>, targets: &[usize]) -> String {
    let mut out = String::new();
    m.visit(&mut |name, v| {
        let shape: Vec<String> = v.shape().iter().map(usize::to_string).collect();
        let values: Vec<String> = v.iter().map(|x| format!("{x:e}")).collect();
        out += &format!("tensor {name} {} {}\n", shape.join("x"), values.join(" "));
    });
    let ids: Vec<String> = ids.iter().map(usize::to_string).collect();
    let targets: Vec<String> = targets.iter().map(usize::to_string).collect();
    out += &format!("ids 2x5 {}\ntargets {}\n", ids.join(" "), targets.join(" "));
    out
}

fn fixture_case() -> (Gpt<f64>, Array2<usize>, Vec<usize>) {
    let ids = ndarray::array![[0, 3, 6, 2, 2], [5, 1, 0, 4, 3]];
    let targets = vec![3, 6, 2, 2, 1, 1, 0, 4, 3, 5];
    (model(tiny()), ids, targets)
}

/// Writes the inputs of the PyTorch fixture:
/// `cargo test --test transformer write_the_fixtures_inputs -- --ignored`,
/// then `python bench-peers/python/gpt_fixture.py`.
#[test]
#[ignore = "writes tests/fixtures/gpt_tiny_inputs.txt for bench-peers/python/gpt_fixture.py"]
fn write_the_fixtures_inputs() {
    let (m, ids, targets) = fixture_case();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gpt_tiny_inputs.txt");
    std::fs::write(path, fixture_inputs(&m, &ids, &targets)).expect("writable");
}

/// PyTorch's loss and gradients, in f64, for the same weights and data.
#[test]
fn loss_and_gradients_agree_with_pytorch() {
    let (m, ids, targets) = fixture_case();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    // The inputs the fixture was computed from are these.
    let inputs = std::fs::read_to_string(format!("{dir}gpt_tiny_inputs.txt")).expect("the fixture's inputs");
    assert_eq!(
        inputs,
        fixture_inputs(&m, &ids, &targets),
        "the fixture was written from other inputs"
    );
    let expected = std::fs::read_to_string(format!("{dir}gpt_tiny.txt")).expect("the fixture");
    let (loss, g) = m.loss_grad(&ids, &targets, tiny().heads);
    let mut lines = expected.lines();
    let torch_loss: f64 = lines
        .next()
        .and_then(|l| l.strip_prefix("loss "))
        .and_then(|v| v.parse().ok())
        .expect("the loss first");
    assert!(
        (loss - torch_loss).abs() <= 1e-9 * torch_loss.abs(),
        "loss {loss} against PyTorch's {torch_loss}"
    );
    let mut compared = 0;
    g.self_.visit(&mut |name, ours| {
        let line = lines.next().expect("one line per tensor");
        let mut fields = line.split(' ');
        assert_eq!(fields.next(), Some("grad"));
        assert_eq!(fields.next(), Some(name), "tensors in the same order");
        let theirs: Vec<f64> = fields.map(|v| v.parse().expect("a number")).collect();
        assert_eq!(theirs.len(), ours.len(), "{name}");
        let scale = theirs.iter().fold(1e-12_f64, |m, v| m.max(v.abs()));
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() <= 1e-9 * scale, "{name}: {a} against PyTorch's {b}");
        }
        compared += 1;
    });
    assert_eq!(compared, 4 + 12 * tiny().layers);
}
