//! The matrix products of one training step, by three GEMMs: ours
//! (`autodiff::gemm`, packing memory kept per thread), ndarray's
//! matrixmultiply, and the `gemm` crate. For each step size the bench times
//! all the products that step performs (forward X·Wᵀ, backward Gᵀ·X and G·W,
//! with the same transposed views the kernels pass) and prints the ratios,
//! measured in interleaved rounds, with the allocations each library makes.
//!
//! Criterion times each library on each step's products; the summary printed
//! at the end measures the ratios in interleaved rounds.
//!
//! Run: `cargo bench --bench gemm` (`-- --summary-only` for the table alone;
//! add `AUTODIFF_NUM_THREADS=1 MATMUL_NUM_THREADS=1 RAYON_NUM_THREADS=1` for
//! one thread).

use std::hint::black_box;

use autodiff::Float;
use autodiff::ndarray::linalg::general_mat_mul;
use autodiff::ndarray::{Array2, ArrayView2};
use autodiff::stats::{CountingAllocator, heap_usage};
use criterion::{Criterion, criterion_group};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[path = "support/interleaved.rs"]
mod interleaved;
use interleaved::interleaved;

const SIZES: [(&str, usize, &[usize]); 3] = [
    ("small", 16, &[64, 32, 10]),
    ("mnist", 128, &[784, 256, 10]),
    ("deep", 64, &[784, 512, 512, 512, 10]),
];

/// One product: C ← A·B, with A and B given as owned storage and whether to
/// read each transposed.
struct Product<F> {
    a: Array2<F>,
    a_t: bool,
    b: Array2<F>,
    b_t: bool,
    c: Array2<F>,
}

impl<F: Float> Product<F> {
    fn views(&self) -> (ArrayView2<'_, F>, ArrayView2<'_, F>) {
        let a = if self.a_t { self.a.t() } else { self.a.view() };
        let b = if self.b_t { self.b.t() } else { self.b.view() };
        (a, b)
    }
}

/// The products of a step: per layer (in → out, batch n), forward X·Wᵀ,
/// then ∂W = Gᵀ·X and, except for the first layer, ∂X = G·W.
fn products<F: Float>(batch: usize, sizes: &[usize]) -> Vec<Product<F>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut random = |shape: (usize, usize)| Array2::from_shape_simple_fn(shape, || F::of(rng.random_range(-1.0..1.0)));
    let mut all = Vec::new();
    for (layer, io) in sizes.windows(2).enumerate() {
        let (inputs, outputs) = (io[0], io[1]);
        let (x, w, g) = (
            random((batch, inputs)),
            random((outputs, inputs)),
            random((batch, outputs)),
        );
        all.push(Product {
            a: x.clone(),
            a_t: false,
            b: w.clone(),
            b_t: true,
            c: Array2::zeros((batch, outputs)),
        });
        all.push(Product {
            a: g.clone(),
            a_t: true,
            b: x,
            b_t: false,
            c: Array2::zeros((outputs, inputs)),
        });
        if layer > 0 {
            all.push(Product {
                a: g,
                a_t: false,
                b: w,
                b_t: false,
                c: Array2::zeros((batch, inputs)),
            });
        }
    }
    all
}

fn ours<F: Float>(step: &mut [Product<F>]) {
    for p in step {
        let mut c = std::mem::take(&mut p.c);
        let (a, b) = p.views();
        autodiff::gemm::gemm_into(F::one(), &a, &b, F::zero(), &mut c);
        p.c = c;
    }
}

fn matrixmultiply<F: Float>(step: &mut [Product<F>]) {
    for p in step {
        let mut c = std::mem::take(&mut p.c);
        let (a, b) = p.views();
        general_mat_mul(F::one(), &a, &b, F::zero(), &mut c);
        p.c = c;
    }
}

fn gemm_crate<F: Float>(step: &mut [Product<F>]) {
    for p in step {
        let mut c = std::mem::take(&mut p.c);
        let (a, b) = p.views();
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        // The same threading rule the runtime used with this crate.
        let parallelism = if m * n * k >= 1 << 21 {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: live views of chaining shapes; c is a separate array.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                c.strides()[1],
                c.strides()[0],
                false,
                a.as_ptr(),
                a.strides()[1],
                a.strides()[0],
                b.as_ptr(),
                b.strides()[1],
                b.strides()[0],
                F::zero(),
                F::one(),
                false,
                false,
                false,
                parallelism,
            );
        }
        p.c = c;
    }
}

fn row<F: Float>(name: &str, ty: &str, batch: usize, sizes: &[usize]) {
    let reps = if name == "small" { 4000 } else { 40 };
    let mut step = products::<F>(batch, sizes);
    let mut other = products::<F>(batch, sizes);
    let (to_mm, t_ours, t_mm) = interleaved(
        || ours(black_box(&mut step)),
        || matrixmultiply(black_box(&mut other)),
        reps,
        21,
    );
    let (to_gemm, _, t_gemm) = interleaved(
        || ours(black_box(&mut step)),
        || gemm_crate(black_box(&mut other)),
        reps,
        21,
    );
    let allocations = |f: &mut dyn FnMut()| heap_usage(f).allocations;
    let a_ours = allocations(&mut || ours(&mut step));
    let a_mm = allocations(&mut || matrixmultiply(&mut step));
    let a_gemm = allocations(&mut || gemm_crate(&mut step));
    println!(
        "| {name} | {ty} | {} | {t_ours:.1} | {t_mm:.1} | {t_gemm:.1} | {to_mm:.2} | {to_gemm:.2} | {a_ours} / {a_mm} / {a_gemm} |",
        step.len()
    );
}

fn products_criterion(c: &mut Criterion) {
    for (name, batch, sizes) in SIZES {
        let mut group = c.benchmark_group(format!("gemm/{name}"));
        let mut step = products::<f32>(batch, sizes);
        group.bench_function("f32/ours", |b| b.iter(|| ours(black_box(&mut step))));
        group.bench_function("f32/matrixmultiply", |b| {
            b.iter(|| matrixmultiply(black_box(&mut step)))
        });
        group.bench_function("f32/gemm", |b| b.iter(|| gemm_crate(black_box(&mut step))));
        let mut step = products::<f64>(batch, sizes);
        group.bench_function("f64/ours", |b| b.iter(|| ours(black_box(&mut step))));
        group.bench_function("f64/matrixmultiply", |b| {
            b.iter(|| matrixmultiply(black_box(&mut step)))
        });
        group.bench_function("f64/gemm", |b| b.iter(|| gemm_crate(black_box(&mut step))));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(2));
    targets = products_criterion
}

fn main() {
    // `cargo bench --bench gemm -- --summary-only` skips criterion's runs.
    if !std::env::args().any(|a| a == "--summary-only") {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    summary();
}

fn summary() {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "unset".into());
    println!(
        "\nThe matrix products of one step. AUTODIFF_NUM_THREADS={}, MATMUL_NUM_THREADS={}, RAYON_NUM_THREADS={};",
        env("AUTODIFF_NUM_THREADS"),
        env("MATMUL_NUM_THREADS"),
        env("RAYON_NUM_THREADS")
    );
    println!("times are medians of 21 interleaved rounds, per step (all its products).\n");
    println!(
        "| size | type | products | ours µs | matrixmultiply µs | gemm crate µs | ours / mm | ours / gemm | allocations (ours / mm / gemm) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, batch, sizes) in SIZES {
        row::<f32>(name, "f32", batch, sizes);
        row::<f64>(name, "f64", batch, sizes);
    }
}
