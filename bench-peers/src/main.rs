//! One training step (forward + gradients of the mean cross-entropy, no
//! optimizer) of the same MLP in autodiff (the generated `_grad_with` in a
//! workspace) and in candle (define-by-run: a tape recorded during the
//! forward pass, walked by `backward()`), measured in interleaved rounds in
//! one run. Sizes as in `benches/step.rs`; f32.

use std::hint::black_box;

use autodiff::prelude::*;
use candle_core::{Device, Tensor, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[differentiable(wrt(w1, b1, w2, b2))]
fn two_layers(
    x: &Array2<f32>,
    labels: &[usize],
    w1: &Array2<f32>,
    b1: &Array1<f32>,
    w2: &Array2<f32>,
    b2: &Array1<f32>,
) -> f32 {
    let h = relu(&linear(x, w1, b1));
    cross_entropy(&linear(&h, w2, b2), labels)
}

#[differentiable(wrt(w1, b1, w2, b2, w3, b3, w4, b4))]
#[allow(clippy::too_many_arguments)]
fn four_layers(
    x: &Array2<f32>,
    labels: &[usize],
    w1: &Array2<f32>,
    b1: &Array1<f32>,
    w2: &Array2<f32>,
    b2: &Array1<f32>,
    w3: &Array2<f32>,
    b3: &Array1<f32>,
    w4: &Array2<f32>,
    b4: &Array1<f32>,
) -> f32 {
    let h1 = relu(&linear(x, w1, b1));
    let h2 = relu(&linear(&h1, w2, b2));
    let h3 = relu(&linear(&h2, w3, b3));
    cross_entropy(&linear(&h3, w4, b4), labels)
}

struct Problem {
    x: Array2<f32>,
    labels: Vec<usize>,
    layers: Vec<(Array2<f32>, Array1<f32>)>,
}

fn problem(batch: usize, sizes: &[usize]) -> Problem {
    let mut rng = StdRng::seed_from_u64(42);
    let mut uniform =
        |shape: (usize, usize), scale: f32| Array2::from_shape_simple_fn(shape, || rng.random_range(-scale..scale));
    let x = uniform((batch, sizes[0]), 1.0);
    let layers = sizes
        .windows(2)
        .map(|io| {
            (
                uniform((io[1], io[0]), (6.0 / io[0] as f32).sqrt()),
                Array1::zeros(io[1]),
            )
        })
        .collect();
    Problem {
        x,
        labels: (0..batch).map(|i| i % sizes[sizes.len() - 1]).collect(),
        layers,
    }
}

fn autodiff_step(ws: &mut Workspace, p: &Problem) -> f32 {
    let l = &p.layers;
    if l.len() == 2 {
        let (loss, g) = two_layers_grad_with(ws, &p.x, &p.labels, &l[0].0, &l[0].1, &l[1].0, &l[1].1);
        ws.recycle((g.w1, g.b1, g.w2, g.b2));
        return loss;
    }
    let (loss, g) = four_layers_grad_with(
        ws, &p.x, &p.labels, &l[0].0, &l[0].1, &l[1].0, &l[1].1, &l[2].0, &l[2].1, &l[3].0, &l[3].1,
    );
    ws.recycle((g.w1, g.b1, g.w2, g.b2, g.w3, g.b3, g.w4, g.b4));
    loss
}

/// The same network and data as candle tensors.
struct CandleProblem {
    x: Tensor,
    labels: Tensor,
    layers: Vec<(Var, Var)>,
}

fn to_candle(p: &Problem) -> candle_core::Result<CandleProblem> {
    let dev = Device::Cpu;
    let tensor2 = |a: &Array2<f32>| Tensor::from_vec(a.iter().copied().collect::<Vec<_>>(), a.dim(), &dev);
    let layers = p
        .layers
        .iter()
        .map(|(w, b)| {
            Ok((
                Var::from_tensor(&tensor2(w)?)?,
                Var::from_tensor(&Tensor::from_vec(b.to_vec(), b.len(), &dev)?)?,
            ))
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let labels = Tensor::from_vec(
        p.labels.iter().map(|&l| l as u32).collect::<Vec<_>>(),
        p.labels.len(),
        &dev,
    )?;
    Ok(CandleProblem {
        x: tensor2(&p.x)?,
        labels,
        layers,
    })
}

fn candle_step(p: &CandleProblem) -> candle_core::Result<f32> {
    let mut h = p.x.clone();
    let n = p.layers.len();
    for (i, (w, b)) in p.layers.iter().enumerate() {
        h = h.matmul(&w.t()?)?.broadcast_add(b)?;
        if i + 1 < n {
            h = h.relu()?;
        }
    }
    let loss = candle_nn::loss::cross_entropy(&h, &p.labels)?;
    let grads = loss.backward()?;
    for (w, b) in &p.layers {
        black_box(grads.get(w));
        black_box(grads.get(b));
    }
    loss.to_scalar::<f32>()
}

#[path = "../../benches/support/interleaved.rs"]
mod interleaved;
use interleaved::interleaved;

fn main() -> candle_core::Result<()> {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "unset".into());
    println!(
        "One training step, f32. autodiff: its own GEMM, AUTODIFF_NUM_THREADS={}; candle: the gemm crate through rayon, RAYON_NUM_THREADS={}\n",
        env("AUTODIFF_NUM_THREADS"),
        env("RAYON_NUM_THREADS")
    );
    println!("| size | autodiff µs | candle µs | candle / autodiff |");
    println!("|---|---:|---:|---:|");
    for (name, batch, sizes) in [
        ("small", 16, &[64, 32, 10][..]),
        ("mnist", 128, &[784, 256, 10]),
        ("deep", 64, &[784, 512, 512, 512, 10]),
    ] {
        let p = problem(batch, sizes);
        let c = to_candle(&p)?;
        let (ours, theirs) = (autodiff_step(&mut Workspace::new(), &p), candle_step(&c)?);
        assert!(
            (ours - theirs).abs() < 1e-4 * ours.abs().max(1.0),
            "same loss: {ours} vs {theirs}"
        );
        let mut ws = Workspace::new();
        let reps = if name == "small" { 2000 } else { 20 };
        let (ratio, t_candle, t_ours) = interleaved(
            || {
                black_box(candle_step(&c).expect("candle step"));
            },
            || {
                black_box(autodiff_step(&mut ws, &p));
            },
            reps,
            31,
        );
        println!("| {name} | {t_ours:.1} | {t_candle:.1} | {ratio:.2} |");
    }
    Ok(())
}
