//! The matrix products of one training step (as in `benches/gemm.rs`), by our
//! GEMM (`autodiff::gemm`, on the backend this CPU takes) and by the `gemm`
//! crate, in interleaved rounds. Run from this directory:
//!   cargo run --release --bin gemm

use std::hint::black_box;

use autodiff::Float;
use autodiff::ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "../../../benches/support/interleaved.rs"]
mod interleaved;
#[path = "../../../benches/support/machine.rs"]
mod machine;
use interleaved::interleaved;

const SIZES: [(&str, usize, &[usize]); 3] = [
    ("small", 16, &[64, 32, 10]),
    ("mnist", 128, &[784, 256, 10]),
    ("deep", 64, &[784, 512, 512, 512, 10]),
];

/// C ← A·B with A, B stored as given and read transposed where flagged.
struct Product<F> {
    a: Array2<F>,
    a_t: bool,
    b: Array2<F>,
    b_t: bool,
    c: Array2<F>,
}

/// Per layer (in → out, batch n): forward X·Wᵀ, then ∂W = Gᵀ·X and, except
/// for the first layer, ∂X = G·W.
fn products<F: Float>(batch: usize, sizes: &[usize]) -> Vec<Product<F>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut random = |shape: (usize, usize)| Array2::from_shape_simple_fn(shape, || F::of(rng.random_range(-1.0..1.0)));
    let mut all = Vec::new();
    for (layer, io) in sizes.windows(2).enumerate() {
        let (x, w, g) = (random((batch, io[0])), random((io[1], io[0])), random((batch, io[1])));
        let product = |a: &Array2<F>, a_t, b: &Array2<F>, b_t, c| Product {
            a: a.clone(),
            a_t,
            b: b.clone(),
            b_t,
            c: Array2::zeros(c),
        };
        all.push(product(&x, false, &w, true, (batch, io[1])));
        all.push(product(&g, true, &x, false, (io[1], io[0])));
        if layer > 0 {
            all.push(product(&g, false, &w, false, (batch, io[0])));
        }
    }
    all
}

fn ours<F: Float>(step: &mut [Product<F>]) {
    for p in step {
        let a = if p.a_t { p.a.t() } else { p.a.view() };
        let b = if p.b_t { p.b.t() } else { p.b.view() };
        autodiff::gemm::gemm_into(F::one(), &a, &b, F::zero(), &mut p.c);
    }
}

fn gemm_crate<F: Float>(step: &mut [Product<F>]) {
    for p in step {
        let a = if p.a_t { p.a.t() } else { p.a.view() };
        let b = if p.b_t { p.b.t() } else { p.b.view() };
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        let parallelism = if m * n * k >= 1 << 21 {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        let (rs, cs) = (p.c.strides()[0], p.c.strides()[1]);
        // SAFETY: live views of chaining shapes; c is a separate array.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                p.c.as_mut_ptr(),
                cs,
                rs,
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
    }
}

fn row<F: Float>(name: &str, ty: &str, batch: usize, sizes: &[usize]) {
    let reps = if name == "small" { 4000 } else { 40 };
    let (mut step, mut other) = (products::<F>(batch, sizes), products::<F>(batch, sizes));
    let (ratio, t_ours, t_gemm) = interleaved(
        || ours(black_box(&mut step)),
        || gemm_crate(black_box(&mut other)),
        reps,
        21,
    );
    println!("| {name} | {ty} | {t_ours:.1} | {t_gemm:.1} | {ratio:.2} |");
}

fn main() {
    println!("The matrix products of one training step: ours against the gemm crate.");
    println!("{}", machine::describe());
    println!("Medians of 21 interleaved rounds, µs per step.\n");
    println!("| size | type | ours µs | gemm crate µs | ours / gemm |");
    println!("|---|---|---:|---:|---:|");
    for (name, batch, sizes) in SIZES {
        row::<f32>(name, "f32", batch, sizes);
        row::<f64>(name, "f64", batch, sizes);
    }
}
