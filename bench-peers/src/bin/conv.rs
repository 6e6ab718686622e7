//! The two convolutions of LeNet-5 (batch 64, f32), forward and VJP (∂w, ∂b,
//! and ∂x where the network needs it), in autodiff and in candle, whose
//! `conv2d` lowers to im2col and the `gemm` crate as ours lowers to im2col
//! and our GEMM; its gradient comes from its tape (`backward()` of
//! Σ y ⊙ r). Interleaved rounds in one run.
//!
//! Run from bench-peers/: cargo run --release --bin conv

use std::hint::black_box;

use autodiff::prelude::*;
use candle_core::{Device, Tensor, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "../../../benches/support/interleaved.rs"]
mod interleaved;
use interleaved::interleaved;

fn random(shape: [usize; 4], rng: &mut StdRng) -> Array4<f32> {
    Array4::from_shape_simple_fn(shape, || rng.random_range(-1.0..1.0))
}

fn tensor(a: &Array4<f32>) -> candle_core::Result<Tensor> {
    Tensor::from_vec(a.iter().copied().collect::<Vec<_>>(), a.dim(), &Device::Cpu)
}

fn main() -> candle_core::Result<()> {
    let mut rng = StdRng::seed_from_u64(3);
    println!("| convolution | autodiff forward ms | candle forward ms | autodiff forward + VJP ms | candle forward + backward ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, xs, ws, padding, need_x) in [
        ("conv1 [64,1,28,28] * [6,1,5,5], padding 2", [64, 1, 28, 28], [6, 1, 5, 5], 2, false),
        ("conv2 [64,6,14,14] * [16,6,5,5]", [64, 6, 14, 14], [16, 6, 5, 5], 0, true),
    ] {
        let (x, w) = (random(xs, &mut rng), random(ws, &mut rng));
        let b = Array1::from_shape_simple_fn(ws[0], || rng.random_range(-1.0..1.0));
        let y = conv2d(&x, &w, &b, 1, padding);
        let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));

        // x is tracked (a `Var`) only where the network needs ∂x.
        let cx = if need_x { Var::from_tensor(&tensor(&x)?)?.as_tensor().clone() } else { tensor(&x)? };
        let cw = Var::from_tensor(&tensor(&w)?)?;
        let cb = Var::from_tensor(&Tensor::from_vec(b.to_vec(), (1, ws[0], 1, 1), &Device::Cpu)?)?;
        let cr = tensor(&r)?;
        let candle_forward = || -> candle_core::Result<Tensor> {
            cx.conv2d(cw.as_tensor(), padding, 1, 1, 1)?.broadcast_add(cb.as_tensor())
        };
        // The two agree.
        let cy: Vec<f32> = candle_forward()?.flatten_all()?.to_vec1()?;
        let largest = y.iter().zip(&cy).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(largest < 1e-3, "{name}: outputs differ by {largest}");

        let mut ws_fwd = Workspace::new();
        let (_, ours_fwd, candle_fwd) = interleaved(
            || ws_fwd.run(|| autodiff::workspace::recycle_array(black_box(conv2d(&x, &w, &b, 1, padding)))),
            || {
                black_box(candle_forward().expect("candle forward"));
            },
            20,
            9,
        );
        let mut ws_step = Workspace::new();
        let (_, ours_step, candle_step) = interleaved(
            || {
                ws_step.run(|| {
                    let y = conv2d(&x, &w, &b, 1, padding);
                    let g = scale(&r, 1.0);
                    let grads = conv2d_vjp(&x, &w, &b, 1, padding, &y, g, [need_x, true, true, false, false]);
                    black_box(&grads);
                    autodiff::workspace::recycle_array(y);
                })
            },
            || {
                let y = candle_forward().expect("candle forward");
                let loss = (y * &cr).expect("product").sum_all().expect("sum");
                let grads = loss.backward().expect("backward");
                black_box(grads.get(&cw).expect("∂w"));
            },
            10,
            9,
        );
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} |",
            ours_fwd / 1e3,
            candle_fwd / 1e3,
            ours_step / 1e3,
            candle_step / 1e3
        );
    }
    Ok(())
}
