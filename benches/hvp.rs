//! The second-order functions against the gradient, on the MLPs of
//! `benches/step.rs` (forward + gradient of the mean cross-entropy, f32):
//! `_grad_with`, `_jvp_with` (value and ⟨∇f, v⟩) and `_hvp_with` (value,
//! gradient and H·v) in one workspace each, each timed in rounds of its own
//! (see `blocks_of`), as the peers' scripts time theirs.
//! The ratio hvp / grad is the cost of a Hessian-vector product in units of
//! a training step's gradient (forward-over-reverse costs a few: every
//! product of the step becomes three). Peers: `bench-peers/python/hvp.py`
//! (JAX's `jvp(grad(f))` under jit, PyTorch's `torch.func.jvp` over `grad`).
//!
//! Run: `cargo bench --bench hvp`

use std::hint::black_box;

use autodiff::prelude::*;
use autodiff::stats::{CountingAllocator, heap_usage};
use criterion::{Criterion, criterion_group};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[path = "support/interleaved.rs"]
mod interleaved;
#[path = "support/machine.rs"]
mod machine;
use interleaved::{blocks_of, median};

/// The networks of `benches/step.rs`, written as it writes them: one
/// function per depth, each layer's weights a differentiated parameter.
#[differentiable(wrt(w1, b1, w2, b2), hvp)]
fn two(
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

#[differentiable(wrt(w1, b1, w2, b2, w3, b3, w4, b4), hvp)]
#[allow(clippy::too_many_arguments)]
fn four(
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

type Layers = Vec<(Array2<f32>, Array1<f32>)>;

struct Problem {
    x: Array2<f32>,
    labels: Vec<usize>,
    layers: Layers,
    direction: Layers,
    /// The direction as the generated functions take it, built once.
    two: Option<TwoGrad>,
    four: Option<FourGrad>,
}

fn problem(batch: usize, sizes: &[usize]) -> Problem {
    let mut rng = StdRng::seed_from_u64(42);
    let mut uniform = |shape: (usize, usize), scale: f64| {
        Array2::from_shape_simple_fn(shape, || rng.random_range(-scale..scale) as f32)
    };
    let x = uniform((batch, sizes[0]), 1.0);
    let mut layers = Vec::new();
    let mut direction = Vec::new();
    for io in sizes.windows(2) {
        layers.push((
            uniform((io[1], io[0]), (6.0 / io[0] as f64).sqrt()),
            Array1::zeros(io[1]),
        ));
        direction.push((
            uniform((io[1], io[0]), 1.0),
            uniform((1, io[1]), 1.0).into_shape_with_order(io[1]).expect("a row"),
        ));
    }
    let labels = (0..batch).map(|i| i % sizes[sizes.len() - 1]).collect();
    let mut p = Problem {
        x,
        labels,
        layers,
        direction,
        two: None,
        four: None,
    };
    if p.layers.len() == 2 {
        let v = &p.direction;
        p.two = Some(TwoGrad {
            w1: v[0].0.clone(),
            b1: v[0].1.clone(),
            w2: v[1].0.clone(),
            b2: v[1].1.clone(),
        });
    } else {
        p.four = Some(p.four_direction());
    }
    p
}

/// One step of each kind, in a workspace; the gradients are handed back.
impl Problem {
    fn grad(&self, ws: &mut Workspace) -> f32 {
        let (x, y, l) = (&self.x, &self.labels, &self.layers);
        if l.len() == 2 {
            let (loss, g) = two_grad_with(ws, x, y, &l[0].0, &l[0].1, &l[1].0, &l[1].1);
            ws.recycle((g.w1, g.b1, g.w2, g.b2));
            return loss;
        }
        let (loss, g) = four_grad_with(
            ws, x, y, &l[0].0, &l[0].1, &l[1].0, &l[1].1, &l[2].0, &l[2].1, &l[3].0, &l[3].1,
        );
        ws.recycle((g.w1, g.b1, g.w2, g.b2, g.w3, g.b3, g.w4, g.b4));
        loss
    }

    fn jvp(&self, ws: &mut Workspace) -> f32 {
        let (x, y, l) = (&self.x, &self.labels, &self.layers);
        if let Some(v) = &self.two {
            return two_jvp_with(ws, x, y, &l[0].0, &l[0].1, &l[1].0, &l[1].1, v).1;
        }
        let v = self.four.as_ref().expect("a direction");
        four_jvp_with(
            ws, x, y, &l[0].0, &l[0].1, &l[1].0, &l[1].1, &l[2].0, &l[2].1, &l[3].0, &l[3].1, v,
        )
        .1
    }

    fn hvp(&self, ws: &mut Workspace) -> f32 {
        let (x, y, l) = (&self.x, &self.labels, &self.layers);
        if let Some(v) = &self.two {
            let (loss, g, hv) = two_hvp_with(ws, x, y, &l[0].0, &l[0].1, &l[1].0, &l[1].1, v);
            ws.recycle((g.w1, g.b1, g.w2, g.b2, hv.w1, hv.b1, hv.w2, hv.b2));
            return loss;
        }
        let v = self.four.as_ref().expect("a direction");
        let (loss, g, hv) = four_hvp_with(
            ws, x, y, &l[0].0, &l[0].1, &l[1].0, &l[1].1, &l[2].0, &l[2].1, &l[3].0, &l[3].1, v,
        );
        ws.recycle((g.w1, g.b1, g.w2, g.b2, g.w3, g.b3, g.w4, g.b4));
        ws.recycle((hv.w1, hv.b1, hv.w2, hv.b2, hv.w3, hv.b3, hv.w4, hv.b4));
        loss
    }

    fn four_direction(&self) -> FourGrad {
        let v = &self.direction;
        FourGrad {
            w1: v[0].0.clone(),
            b1: v[0].1.clone(),
            w2: v[1].0.clone(),
            b2: v[1].1.clone(),
            w3: v[2].0.clone(),
            b3: v[2].1.clone(),
            w4: v[3].0.clone(),
            b4: v[3].1.clone(),
        }
    }
}

const SIZES: [(&str, usize, &[usize]); 3] = [
    ("small", 16, &[64, 32, 10]),
    ("mnist", 128, &[784, 256, 10]),
    ("deep", 64, &[784, 512, 512, 512, 10]),
];

const ROUNDS: usize = 21;

fn second_order(c: &mut Criterion) {
    for (name, batch, sizes) in SIZES {
        let p = problem(batch, sizes);
        let mut group = c.benchmark_group(format!("hvp/{name}"));
        let mut ws = Workspace::new();
        group.bench_function("grad", |b| b.iter(|| black_box(p.grad(&mut ws))));
        group.bench_function("jvp", |b| b.iter(|| black_box(p.jvp(&mut ws))));
        group.bench_function("hvp", |b| b.iter(|| black_box(p.hvp(&mut ws))));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = second_order
}

fn summary() {
    println!("\nThe MLPs of benches/step.rs in f32, in a workspace each; medians of {ROUNDS} rounds of each.");
    println!("grad = `_grad_with` (value and gradient); jvp = `_jvp_with` (value and ⟨∇f, v⟩);");
    println!("hvp = `_hvp_with` (value, gradient and H·v).\n");
    println!(
        "| size | matrix products (grad / hvp) | allocations (grad / jvp / hvp) | grad µs | jvp µs | hvp µs | jvp / grad | hvp / grad |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, batch, sizes) in SIZES {
        let p = problem(batch, sizes);
        let reps = if name == "small" { 1000 } else { 10 };
        let (mut w1, mut w2, mut w3) = (Workspace::new(), Workspace::new(), Workspace::new());
        let times = blocks_of(
            &mut [
                &mut || {
                    black_box(p.grad(&mut w1));
                },
                &mut || {
                    black_box(p.jvp(&mut w2));
                },
                &mut || {
                    black_box(p.hvp(&mut w3));
                },
            ],
            reps,
            ROUNDS,
        );
        let products = |f: &mut dyn FnMut()| {
            let before = autodiff::stats::gemm_calls();
            f();
            autodiff::stats::gemm_calls() - before
        };
        let mut ws = Workspace::new();
        let grad_products = products(&mut || {
            black_box(p.grad(&mut ws));
        });
        let hvp_products = products(&mut || {
            black_box(p.hvp(&mut ws));
        });
        // Allocations of a steady-state step (after the warm-up rounds above).
        let allocations = |f: &mut dyn FnMut()| heap_usage(f).allocations;
        let (grad_allocs, jvp_allocs, hvp_allocs) = (
            allocations(&mut || {
                black_box(p.grad(&mut w1));
            }),
            allocations(&mut || {
                black_box(p.jvp(&mut w2));
            }),
            allocations(&mut || {
                black_box(p.hvp(&mut w3));
            }),
        );
        println!(
            "| {name} | {grad_products} / {hvp_products} | {grad_allocs} / {jvp_allocs} / {hvp_allocs} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
            median(&times[0]),
            median(&times[1]),
            median(&times[2]),
            median(&times[1]) / median(&times[0]),
            median(&times[2]) / median(&times[0]),
        );
    }
    println!("\n{}", machine::describe());
}

fn main() {
    // `-- --summary-only` skips criterion's runs.
    if !std::env::args().any(|a| a == "--summary-only") {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    summary();
}
