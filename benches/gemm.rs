//! The matrix products of one training step: ours (`autodiff::gemm`, packing
//! memory kept per thread) on each backend this CPU runs, against ndarray's
//! matrixmultiply. For each step size the bench times all the products that
//! step performs (forward X·Wᵀ, backward Gᵀ·X and G·W, with the same
//! transposed views the kernels pass), then each product on its own.
//!
//! Criterion times each backend on each step's products; the summary printed
//! at the end measures the ratios in interleaved rounds, and names the CPU.
//! (The `gemm` crate is compared in `bench-peers/`, which keeps it out of the
//! workspace's build.)
//!
//! Run: `cargo bench --bench gemm` (`-- --summary-only` for the tables alone,
//! `-- --products` for the single products; add `AUTODIFF_NUM_THREADS=1
//! MATMUL_NUM_THREADS=1` for one thread).

use std::hint::black_box;

use autodiff::Float;
use autodiff::ndarray::ArrayView2;
use autodiff::ndarray::linalg::general_mat_mul;
use autodiff::stats::{CountingAllocator, heap_usage};
use criterion::{Criterion, criterion_group};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[path = "support/interleaved.rs"]
mod interleaved;
#[path = "support/machine.rs"]
mod machine;
#[path = "support/products.rs"]
mod step_products;
use autodiff::gemm::{Backend, backend, with_backend};
use interleaved::interleaved;
use step_products::{Product, SIZES, products};

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

/// Our product on a backend, per step, and matrixmultiply's, in interleaved
/// rounds: (ours / mm, ours µs, mm µs).
fn versus_mm<F: Float>(
    backend: Backend,
    step: &mut [Product<F>],
    other: &mut [Product<F>],
    reps: usize,
) -> (f64, f64, f64) {
    with_backend(backend, || {
        interleaved(
            || ours(black_box(&mut *step)),
            || matrixmultiply(black_box(&mut *other)),
            reps,
            21,
        )
    })
}

/// Calls per round: enough for a millisecond or more.
fn reps(name: &str) -> usize {
    if name == "small" { 4000 } else { 40 }
}

/// One row of the step table: every backend of ours against matrixmultiply.
fn step_row<F: Float>(name: &str, ty: &str, batch: usize, sizes: &[usize], backends: &[Backend]) {
    let mut step = products::<F>(batch, sizes);
    let mut other = products::<F>(batch, sizes);
    let mut cells = Vec::new();
    let mut mm = Vec::new();
    for &backend in backends {
        let (ratio, t_ours, t_mm) = versus_mm(backend, &mut step, &mut other, reps(name));
        cells.push(format!("{t_ours:.1} ({ratio:.2})"));
        mm.push(t_mm);
    }
    mm.sort_by(f64::total_cmp);
    let allocations = |f: &mut dyn FnMut()| heap_usage(f).allocations;
    let a_ours = allocations(&mut || ours(&mut step));
    let a_mm = allocations(&mut || matrixmultiply(&mut step));
    println!(
        "| {name} | {ty} | {} | {:.1} | {} | {a_ours} / {a_mm} |",
        step.len(),
        mm[mm.len() / 2],
        cells.join(" | ")
    );
}

/// One row per product of a step, on the current backend.
fn product_rows<F: Float>(name: &str, batch: usize, sizes: &[usize]) {
    let all = products::<F>(batch, sizes).into_iter();
    for (mine, theirs) in all.zip(products::<F>(batch, sizes)) {
        let (a, b) = mine.views();
        let what = format!(
            "{}{} · {}{}",
            shape(&a),
            if mine.a_t { "ᵀ" } else { "" },
            shape(&b),
            if mine.b_t { "ᵀ" } else { "" },
        );
        let (mut mine, mut theirs) = ([mine], [theirs]);
        let per_product = reps(name) * 10 / 4;
        let (ratio, t_ours, t_mm) = versus_mm(backend(), &mut mine, &mut theirs, per_product);
        println!("| {name} | {what} | {t_ours:.1} | {t_mm:.1} | {ratio:.2} |");
    }
}

/// `rows×cols` of a view as the product reads it.
fn shape<F>(x: &ArrayView2<F>) -> String {
    format!("{}×{}", x.nrows(), x.ncols())
}

/// The backends with kernels of ours that this CPU runs.
fn our_backends() -> Vec<Backend> {
    Backend::supported()
        .into_iter()
        .filter(|&b| b != Backend::Matrixmultiply)
        .collect()
}

fn products_criterion(c: &mut Criterion) {
    fn group<F: Float>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        ty: &str,
        batch: usize,
        sizes: &[usize],
    ) {
        let mut step = products::<F>(batch, sizes);
        for backend in our_backends() {
            group.bench_function(format!("{ty}/{backend}"), |b| {
                with_backend(backend, || b.iter(|| ours(black_box(&mut step))))
            });
        }
        group.bench_function(format!("{ty}/matrixmultiply"), |b| {
            b.iter(|| matrixmultiply(black_box(&mut step)))
        });
    }
    for (name, batch, sizes) in SIZES {
        let mut g = c.benchmark_group(format!("gemm/{name}"));
        group::<f32>(&mut g, "f32", batch, sizes);
        group::<f64>(&mut g, "f64", batch, sizes);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(2));
    targets = products_criterion
}

fn main() {
    // `-- --summary-only` skips criterion's runs; `-- --products` prints
    // only the table of single products.
    let arg = |name: &str| std::env::args().any(|a| a == name);
    if !arg("--summary-only") && !arg("--products") {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    summary(arg("--products"));
}

fn summary(products_only: bool) {
    println!("\nThe matrix products of one training step, ours against matrixmultiply (ndarray's GEMM).");
    println!("{}", machine::describe());
    if products_only {
        return product_table();
    }
    println!("Medians of 21 interleaved rounds, in µs per step (all its products); in brackets ours / mm.\n");
    let backends = our_backends();
    let names: Vec<String> = backends.iter().map(|b| format!("{b} µs")).collect();
    println!(
        "| size | type | products | matrixmultiply µs | {} | allocations (ours / mm) |",
        names.join(" | ")
    );
    println!("|---|---|---:|---:|{}---:|", "---:|".repeat(backends.len()));
    for (name, batch, sizes) in SIZES {
        step_row::<f32>(name, "f32", batch, sizes, &backends);
        step_row::<f64>(name, "f64", batch, sizes, &backends);
    }
    product_table();
}

fn product_table() {
    println!(
        "\nEach f32 product on its own, on the {} backend (ᵀ: read through a transposed view).\n",
        backend()
    );
    println!("| step | product | ours µs | mm µs | ours / mm |");
    println!("|---|---|---:|---:|---:|");
    for (name, batch, sizes) in SIZES {
        product_rows::<f32>(name, batch, sizes);
    }
}
