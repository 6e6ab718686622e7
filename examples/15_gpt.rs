//! Tutorial 15: a character-level GPT trained on Tiny Shakespeare.
//!
//! A decoder-only transformer (`examples/models/gpt.rs`) is an ordinary
//! `#[differentiable]` method: token and position embeddings, then for each
//! block of a `Vec`, causal multi-head self-attention (queries, keys and
//! values from one product, cut in three with `let [q, k, v] = split(..)`, the heads made an axis with
//! `reshape` and `permute`, scores by a batched `matmul`, `causal_mask`,
//! `softmax`) and a 4× GELU MLP, each pre-normed and added to the residual
//! stream; a final layer norm; the head tied to the token table. The
//! gradient of all of it is reversed at compile time.
//!
//! The small CPU recipe of nanoGPT's `shakespeare_char`: 4 layers, 4 heads,
//! width 128, context 64, batch 12, 2,000 iterations; AdamW with lr 1e-3,
//! β₂ = 0.99 and weight decay 0.1 on the matrices only; 100 steps of warm-up
//! then a cosine decay to 1e-4; the gradient clipped to norm 1; no dropout.
//! At the end: the loss on every block of the validation split (not a
//! sample), the wall time, a sample of generated text, and the loss curves.
//!
//! Run: `cargo run --release --example 15_gpt [-- --iters N] [--seed S] [--baby]`
//! (`--baby`: 6 layers, 6 heads, width 384, context 256, batch 64, 5,000
//! iterations, lr 1e-3 to 1e-4 with warm-up 100: nanoGPT's GPU recipe, which
//! takes hours on two cores).

use std::time::Instant;

use autodiff::data::text::{Vocabulary, all_blocks, blocks, sample};
use autodiff::prelude::*;
use autodiff::train::{Adam, Decay, Optimizer, Schedule, clip_grad_norm};
use models::gpt::{Config, Gpt};
use plotters::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[path = "common/mod.rs"]
mod common;

struct Recipe {
    config: Config,
    batch: usize,
    iters: usize,
    warmup: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let baby = args.iter().any(|a| a == "--baby");
    let seed: u64 = flag("--seed").and_then(|s| s.parse().ok()).unwrap_or(1337);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tinyshakespeare/input.txt");
    let text = std::fs::read_to_string(path).expect("the bundled Tiny Shakespeare");
    let vocabulary = Vocabulary::of(&text);
    let tokens = vocabulary.encode(&text).expect("every character is in the vocabulary");
    // nanoGPT's split: the first 90% for training, the last 10% for validation.
    let split = tokens.len() * 9 / 10;
    let (train, validation) = (&tokens[..split], &tokens[split..]);
    let mut recipe = if baby {
        Recipe {
            config: Config {
                vocab: vocabulary.len(),
                context: 256,
                layers: 6,
                heads: 6,
                width: 384,
            },
            batch: 64,
            iters: 5_000,
            warmup: 100,
        }
    } else {
        Recipe {
            config: Config {
                vocab: vocabulary.len(),
                context: 64,
                layers: 4,
                heads: 4,
                width: 128,
            },
            batch: 12,
            iters: 2_000,
            warmup: 100,
        }
    };
    if let Some(iters) = flag("--iters").and_then(|s| s.parse().ok()) {
        recipe.iters = iters;
    }
    let Recipe {
        config,
        batch,
        iters,
        warmup,
    } = recipe;
    println!(
        "{} characters ({} training, {} validation), vocabulary of {}",
        tokens.len(),
        train.len(),
        validation.len(),
        vocabulary.len()
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Gpt::<f32>::new(config, &mut rng);
    println!(
        "GPT: {} layers, {} heads, width {}, context {}: {} parameters; batch {batch}, {iters} iterations, seed {seed}",
        config.layers,
        config.heads,
        config.width,
        config.context,
        model.num_params()
    );

    let schedule = Schedule::new(
        1e-3,
        Decay::Cosine {
            total: iters,
            min: 1e-4,
        },
    )
    .with_warmup(warmup);
    let mut optimizer = Adam::adamw(schedule.base, 0.1).decay_where(|_, shape| shape.len() >= 2);
    optimizer.beta2 = 0.99;
    let mut workspace = Workspace::new();
    let every = (iters / 20).max(1);
    let (mut curve, mut running, mut since) = (Vec::new(), 0.0, 0);
    let started = Instant::now();
    let mut stepping = std::time::Duration::ZERO;
    for step in 0..iters {
        let step_started = Instant::now();
        let (x, y) = blocks(train, batch, config.context, &mut rng);
        let targets = y.as_slice().expect("a new array");
        optimizer.set_learning_rate(schedule.at(step));
        let (loss, mut grad) = model.loss_grad_with(&mut workspace, &x, targets, config.heads);
        clip_grad_norm(&mut grad.self_, 1.0);
        optimizer.step(&mut model, &grad.self_);
        workspace.recycle(grad.self_);
        stepping += step_started.elapsed();
        running += f64::from(loss);
        since += 1;
        if (step + 1) % every == 0 || step + 1 == iters {
            let train_loss = running / since as f64;
            // A quick estimate on 8 random validation batches, by the forward
            // pass alone on the step's workspace (`loss_with`: no allocation).
            let estimate = (0..8)
                .map(|_| {
                    let (x, y) = blocks(validation, batch, config.context, &mut rng);
                    let targets = y.as_slice().expect("a new array");
                    f64::from(model.loss_with(&mut workspace, &x, targets, config.heads))
                })
                .sum::<f64>()
                / 8.0;
            println!(
                "step {:>5}: training loss {train_loss:.4}, validation estimate {estimate:.4}  ({:.0} s)",
                step + 1,
                started.elapsed().as_secs_f64()
            );
            curve.push((step + 1, train_loss, estimate));
            (running, since) = (0.0, 0);
        }
    }
    let training = started.elapsed().as_secs_f64();

    // Every block of the validation split, 64 blocks at a time.
    let (vx, vy) = all_blocks(validation, config.context);
    let (mut total, mut count) = (0.0, 0);
    for start in (0..vx.nrows()).step_by(64) {
        let end = (start + 64).min(vx.nrows());
        let x = vx.slice(s![start..end, ..]).to_owned();
        let y = vy.slice(s![start..end, ..]).to_owned();
        let n = y.len();
        let targets = y.as_slice().expect("a new array");
        total += f64::from(model.loss_with(&mut workspace, &x, targets, config.heads)) * n as f64;
        count += n;
    }
    println!(
        "\nvalidation loss {:.4} on all {count} predictions of the validation split ({} blocks of {})",
        total / count as f64,
        vx.nrows(),
        config.context
    );
    println!(
        "training took {training:.1} s: {:.1} s in the {iters} steps ({:.1} ms each), the rest in the validation estimates",
        stepping.as_secs_f64(),
        1e3 * stepping.as_secs_f64() / iters as f64
    );

    // A sample, from a newline, temperature 0.8, the 40 likeliest characters.
    let mut context = vocabulary.encode("\n").expect("a newline");
    for _ in 0..400 {
        let start = context.len().saturating_sub(config.context);
        let ids = Array2::from_shape_vec((1, context.len() - start), context[start..].to_vec()).expect("one row");
        let logits = model.last_logits(&ids, config.heads);
        context.push(sample(logits.view(), 0.8, Some(40), &mut rng));
    }
    println!("\nsample:\n{}", vocabulary.decode(&context));

    let path = common::plot_path("15_gpt");
    plot(&path, &curve).expect("plot written");
    println!("\nloss curves: {}", path.display());
}

/// Training loss (mean over each interval) and the validation estimate.
fn plot(path: &std::path::Path, curve: &[(usize, f64, f64)]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (700, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let last = curve.last().map_or(1, |c| c.0);
    let hi = curve.iter().map(|c| c.1.max(c.2)).fold(0.0, f64::max).max(1.0);
    let mut chart = ChartBuilder::on(&root)
        .caption("character-level GPT on Tiny Shakespeare", ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0..last, 1.0..hi * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("cross-entropy (nats)")
        .draw()?;
    chart
        .draw_series(LineSeries::new(curve.iter().map(|c| (c.0, c.1)), &RED))?
        .label("training (mean over the interval)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(curve.iter().map(|c| (c.0, c.2)), &BLUE))?
        .label("validation (8 random batches)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}
