//! The second-order functions against the gradient, on the MLPs of
//! `benches/step.rs` (forward + gradient of the mean cross-entropy, f32):
//! `_grad_with`, `_jvp_with` (value and ⟨∇f, v⟩) and `_hvp_with` (value,
//! gradient and H·v) in one workspace each, timed in interleaved rounds.
//! The ratio hvp / grad is the cost of a Hessian-vector product in units of
//! a training step's gradient (forward-over-reverse costs a few: every
//! product of the step becomes three). Peers: `bench-peers/python/hvp.py`
//! (JAX's `jvp(grad(f))` under jit, PyTorch's `torch.func.jvp` over `grad`).
//!
//! Run: `cargo bench --bench hvp`

use std::hint::black_box;

use autodiff::MethodGrad;
use autodiff::prelude::*;
use criterion::{Criterion, criterion_group};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "support/interleaved.rs"]
mod interleaved;
#[path = "support/machine.rs"]
mod machine;
use interleaved::{median, median_ratio, rounds_of};

#[derive(Params, Clone)]
struct Mlp {
    layers: Vec<Dense>,
}

#[derive(Params, Clone)]
struct Dense {
    w: Array2<f32>,
    b: Array1<f32>,
}

impl Mlp {
    fn new(sizes: &[usize], rng: &mut StdRng) -> Mlp {
        let layers = sizes
            .windows(2)
            .map(|io| {
                let s = (6.0 / io[0] as f64).sqrt();
                Dense {
                    w: Array2::from_shape_simple_fn((io[1], io[0]), || rng.random_range(-s..s) as f32),
                    b: Array1::zeros(io[1]),
                }
            })
            .collect();
        Mlp { layers }
    }

    /// ReLU between layers, cross-entropy at the end: the step of `benches/step.rs`.
    #[differentiable(wrt(self), hvp)]
    fn loss(&self, x: &Array2<f32>, labels: &[usize]) -> f32 {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = linear(&h, &layer.w, &layer.b);
            if i < last {
                h = relu(&h);
            }
        }
        cross_entropy(&h, labels)
    }
}

struct Problem {
    model: Mlp,
    x: Array2<f32>,
    labels: Vec<usize>,
    direction: MethodGrad<Mlp, ()>,
}

fn problem(batch: usize, sizes: &[usize]) -> Problem {
    let mut rng = StdRng::seed_from_u64(42);
    let model = Mlp::new(sizes, &mut rng);
    let x = Array2::from_shape_simple_fn((batch, sizes[0]), || rng.random_range(-1.0..1.0_f32));
    let labels = (0..batch).map(|i| i % sizes[sizes.len() - 1]).collect();
    let mut v = model.clone();
    v.visit_mut(&mut |_, mut t| t.mapv_inplace(|_| rng.random_range(-1.0..1.0_f32)));
    Problem {
        model,
        x,
        labels,
        direction: MethodGrad { self_: v, args: () },
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
        group.bench_function("grad", |b| {
            b.iter(|| {
                let (loss, g) = p.model.loss_grad_with(&mut ws, &p.x, &p.labels);
                ws.recycle(g.self_);
                black_box(loss)
            })
        });
        group.bench_function("jvp", |b| {
            b.iter(|| black_box(p.model.loss_jvp_with(&mut ws, &p.x, &p.labels, &p.direction)))
        });
        group.bench_function("hvp", |b| {
            b.iter(|| {
                let (loss, g, hv) = p.model.loss_hvp_with(&mut ws, &p.x, &p.labels, &p.direction);
                ws.recycle((g.self_, hv.self_));
                black_box(loss)
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = second_order
}

fn summary() {
    println!("\nThe MLPs of benches/step.rs in f32, in a workspace each; medians of {ROUNDS} interleaved rounds.");
    println!("grad = `_grad_with` (value and gradient); jvp = `_jvp_with` (value and ⟨∇f, v⟩);");
    println!("hvp = `_hvp_with` (value, gradient and H·v).\n");
    println!("| size | grad µs | jvp µs | hvp µs | jvp / grad | hvp / grad |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, batch, sizes) in SIZES {
        let p = problem(batch, sizes);
        let reps = if name == "small" { 1000 } else { 10 };
        let (mut w1, mut w2, mut w3) = (Workspace::new(), Workspace::new(), Workspace::new());
        let times = rounds_of(
            &mut [
                &mut || {
                    let (loss, g) = p.model.loss_grad_with(&mut w1, &p.x, &p.labels);
                    w1.recycle(g.self_);
                    black_box(loss);
                },
                &mut || {
                    black_box(p.model.loss_jvp_with(&mut w2, &p.x, &p.labels, &p.direction));
                },
                &mut || {
                    let (loss, g, hv) = p.model.loss_hvp_with(&mut w3, &p.x, &p.labels, &p.direction);
                    w3.recycle((g.self_, hv.self_));
                    black_box(loss);
                },
            ],
            reps,
            ROUNDS,
        );
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
            median(&times[0]),
            median(&times[1]),
            median(&times[2]),
            median_ratio(&times[1], &times[0]),
            median_ratio(&times[2], &times[0]),
        );
    }
    println!("\n{}", machine::describe());
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
