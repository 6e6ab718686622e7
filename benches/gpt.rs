//! One training step of the tutorials' GPT (`examples/models/gpt.rs`) on
//! nanoGPT's two character-level recipes, f32: the small CPU one (4 layers,
//! 4 heads, width 128, context 64, batch 12) and the "baby" one (6 layers, 6
//! heads, width 384, context 256, batch 64), vocabulary 65. Timed apart:
//! forward + gradients (`loss_grad_with`), the AdamW update (decay on
//! matrices only) with clipping, and an evaluation: the forward pass alone on
//! the step's workspace (`loss_with`) and the plain function (`loss`). The
//! summary counts the heap allocations of a steady-state step, and the peak
//! live heap of the first step (the workspace filling, the gradient and the
//! optimizer's state: what a step needs).
//!
//! Run: `cargo bench --bench gpt` (`-- --summary-only` for the table alone,
//! `-- --small` for the small recipe only; `AUTODIFF_NUM_THREADS=1` for one
//! thread). The peers: `python bench-peers/python/gpt.py`.

use std::hint::black_box;
use std::time::Instant;

use autodiff::prelude::*;
use autodiff::stats::{CountingAllocator, heap_usage};
use autodiff::train::{Adam, Optimizer, clip_grad_norm};
use models::gpt::{Config, Gpt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

struct Recipe {
    name: &'static str,
    config: Config,
    batch: usize,
}

fn recipes() -> Vec<Recipe> {
    let small = Recipe {
        name: "small (4 layers, width 128, context 64, batch 12)",
        config: Config {
            vocab: 65,
            context: 64,
            layers: 4,
            heads: 4,
            width: 128,
        },
        batch: 12,
    };
    let baby = Recipe {
        name: "baby (6 layers, width 384, context 256, batch 64)",
        config: Config {
            vocab: 65,
            context: 256,
            layers: 6,
            heads: 6,
            width: 384,
        },
        batch: 64,
    };
    if std::env::args().any(|a| a == "--small") {
        vec![small]
    } else {
        vec![small, baby]
    }
}

/// Median of `rounds` timings of `f`, in ms.
fn median_ms(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let threads = std::env::var("AUTODIFF_NUM_THREADS")
        .ok()
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.to_string()))
        .unwrap_or_default();
    println!("GPT training step, f32, {threads} thread(s); times are medians, in ms");
    println!(
        "| recipe | forward + gradients | AdamW + clipping | evaluation: loss_with / loss | allocations / steady step | peak heap of the first step |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for recipe in recipes() {
        let Recipe { name, config, batch } = recipe;
        let mut rng = StdRng::seed_from_u64(3);
        let mut model = Gpt::<f32>::new(config, &mut rng);
        let ids = Array2::from_shape_simple_fn((batch, config.context), || rng.random_range(0..config.vocab));
        let targets: Vec<usize> = (0..batch * config.context)
            .map(|_| rng.random_range(0..config.vocab))
            .collect();
        let mut optimizer = Adam::adamw(1e-3, 0.1).decay_where(|_, shape| shape.len() >= 2);
        let mut workspace = Workspace::new();
        let step = |model: &mut Gpt<f32>, optimizer: &mut Adam<f32>, workspace: &mut Workspace| {
            let (loss, mut g) = model.loss_grad_with(workspace, &ids, &targets, config.heads);
            clip_grad_norm(&mut g.self_, 1.0);
            optimizer.step(model, &g.self_);
            workspace.recycle(g.self_);
            black_box(loss);
        };
        // Warm-up: the workspace and the optimizer's state fill. The first
        // step's peak of live heap is the memory a step needs (beyond the
        // model, its gradient and the optimizer's state, which it allocates too).
        let first = heap_usage(|| step(&mut model, &mut optimizer, &mut workspace));
        step(&mut model, &mut optimizer, &mut workspace);
        let rounds = if config.width > 200 { 3 } else { 30 };
        let gradients = median_ms(rounds, || {
            let (loss, g) = model.loss_grad_with(&mut workspace, &ids, &targets, config.heads);
            black_box(loss);
            workspace.recycle(g.self_);
        });
        let evaluation = median_ms(rounds, || {
            black_box(model.loss_with(&mut workspace, &ids, &targets, config.heads));
        });
        let plain = median_ms(rounds, || {
            black_box(model.loss(&ids, &targets, config.heads));
        });
        let (_, mut g) = model.loss_grad_with(&mut workspace, &ids, &targets, config.heads);
        let update = median_ms(rounds, || {
            clip_grad_norm(&mut g.self_, 1.0);
            optimizer.step(&mut model, &g.self_);
        });
        workspace.recycle(g.self_);
        let usage = heap_usage(|| step(&mut model, &mut optimizer, &mut workspace));
        let gradients_only = heap_usage(|| {
            let (loss, g) = model.loss_grad_with(&mut workspace, &ids, &targets, config.heads);
            black_box(loss);
            workspace.recycle(g.self_);
        });
        println!(
            "| {name} | {gradients:.1} | {update:.1} | {evaluation:.1} / {plain:.1} | {} ({} in forward + gradients) | {:.1} MiB |",
            usage.allocations,
            gradients_only.allocations,
            first.peak as f64 / (1 << 20) as f64
        );
    }
}
