//! The matrix products of one training step (as in `benches/gemm.rs`), by our
//! GEMM (`autodiff::gemm`, on the backend this CPU takes) and by the `gemm`
//! crate, in interleaved rounds. Run from this directory:
//!   cargo run --release --bin gemm

use std::hint::black_box;

use autodiff::Float;

#[path = "../../../benches/support/interleaved.rs"]
mod interleaved;
#[path = "../../../benches/support/machine.rs"]
mod machine;
#[path = "../../../benches/support/products.rs"]
mod step_products;
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

fn gemm_crate<F: Float>(step: &mut [Product<F>]) {
    for p in step {
        let mut c = std::mem::take(&mut p.c);
        let (a, b) = p.views();
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        let parallelism = if m * n * k >= 1 << 21 {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        let (rs, cs) = (c.strides()[0], c.strides()[1]);
        // SAFETY: live views of chaining shapes; c is a separate array.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
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
        p.c = c;
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
