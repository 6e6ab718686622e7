//! Tutorial 3: log-softmax against softmax followed by log, and why the loss
//! sits on log-probabilities.
//!
//! Take logits z = (s, 0, 0) whose true class is 1, so the network is
//! confidently wrong when s is large: p₁ = softmax(z)₁ = 1 / (eˢ + 2).
//!
//! `nll_loss(log(softmax(z)))` and `nll_loss(log_softmax(z))` are the same
//! function in exact arithmetic. Their gradients agree too: the 1/p of the
//! log cancels the vanishing Jacobian of softmax, and both are
//! softmax(z) − onehot ≈ (1, −1, 0). Two separate effects tell them apart:
//!
//! 1. **Floating point.** The composed form computes p₁ first. Once p₁
//!    underflows, its log and the 1/p₁ of the gradient break: in f64 from
//!    s ≈ 745 (e^−745 is below the smallest subnormal double), and in f32,
//!    the type tutorials 4 to 6 train in, already from s ≈ 89, where 1/p₁
//!    exceeds the largest f32. `log_softmax` computes z − max z − log Σ
//!    e^{z − max z} and never forms p₁.
//! 2. **The vanishing gradient.** A loss on probabilities (squared error
//!    between softmax(z) and the one-hot target) has no log to cancel the
//!    softmax Jacobian, whose entries shrink like e^−s: a confidently wrong
//!    network gets almost no gradient. Cross-entropy on log-probabilities
//!    keeps a gradient of order one, so it learns most from its worst
//!    mistakes.
//!
//! Run: `cargo run --release --example 03_log_softmax`

use autodiff::prelude::*;

#[differentiable(wrt(z))]
fn softmax_then_log<F: Float>(z: &Array2<F>, labels: &[usize]) -> F {
    nll_loss(&log(&softmax(z)), labels)
}

#[differentiable(wrt(z))]
fn with_log_softmax<F: Float>(z: &Array2<F>, labels: &[usize]) -> F {
    nll_loss(&log_softmax(z), labels)
}

/// Squared error between the probabilities and the one-hot target.
#[differentiable(wrt(z))]
fn softmax_then_mse(z: &Array2<f64>, target: &Array2<f64>) -> f64 {
    mse_loss(&softmax(z), target)
}

fn logits<F: Float>(s: f64) -> Array2<F> {
    Array2::from_shape_vec((1, 3), vec![F::of(s), F::zero(), F::zero()]).expect("1×3")
}

fn show<F: Float>(g: &Array2<F>) -> String {
    let v: Vec<f64> = g.iter().map(|x| x.to_f64_lossless()).collect();
    format!("({:>7.3}, {:>7.3}, {:>7.3})", v[0], v[1], v[2])
}

fn finite<F: Float>(loss: F, g: &Array2<F>) -> bool {
    loss.to_f64_lossless().is_finite() && g.iter().all(|v| v.to_f64_lossless().is_finite())
}

/// One table: the loss and gradient both ways, for each s.
fn table<F: Float>(ty: &str, values: &[f64]) -> Vec<bool> {
    let labels = [1];
    println!("{ty}: logits z = (s, 0, 0), true class 1\n");
    println!(
        "{:>6} | {:>11} {:>12} {:>27} | {:>11} {:>27}",
        "s", "p₁", "softmax+log", "dL/dz", "log_softmax", "dL/dz"
    );
    println!("{}", "-".repeat(104));
    let mut composed_finite = Vec::new();
    for &s in values {
        let z = logits::<F>(s);
        let p1 = softmax(&z)[[0, 1]].to_f64_lossless();
        let (l1, g1) = softmax_then_log_grad(&z, &labels);
        let (l2, g2) = with_log_softmax_grad(&z, &labels);
        println!(
            "{s:>6} | {p1:>11.3e} {:>12.4} {:>27} | {:>11.4} {:>27}",
            l1.to_f64_lossless(),
            show(&g1.z),
            l2.to_f64_lossless(),
            show(&g2.z)
        );
        assert!(finite(l2, &g2.z), "log_softmax never breaks");
        assert_eq!(
            l2,
            cross_entropy(&z, &labels),
            "cross_entropy is the fused log_softmax + nll"
        );
        composed_finite.push(finite(l1, &g1.z));
    }
    println!();
    composed_finite
}

fn main() {
    println!("1. Floating point: the same function, computed two ways.\n");
    let f64_rows = [1.0, 10.0, 100.0, 700.0, 745.0, 1000.0];
    let ok = table::<f64>("f64", &f64_rows);
    assert_eq!(
        ok,
        [true, true, true, true, false, false],
        "f64 breaks between 700 and 745"
    );
    println!(
        "At s = 745, p₁ = e^−745 lies below the smallest subnormal double, 2^−1074 = {:.3e} = e^{:.2},",
        f64::from_bits(1),
        f64::from_bits(1).ln()
    );
    println!("and rounds to it: the loss reads 744.44 instead of 745, and 1/p₁ overflows to inf.\n");

    let f32_rows = [10.0, 80.0, 88.0, 89.0, 90.0, 104.0];
    let ok = table::<f32>("f32", &f32_rows);
    assert_eq!(
        ok,
        [true, true, true, false, false, false],
        "f32 breaks between 88 and 89"
    );
    println!(
        "In f32, 1/p₁ = e^s + 2 exceeds the largest f32, {:.3e} = e^{:.2}, from s ≈ 89: logits that",
        f32::MAX,
        f32::MAX.ln()
    );
    println!("large happen in training, and one NaN in a gradient poisons every weight it reaches.\n");

    println!("2. The vanishing gradient: a loss on probabilities against one on log-probabilities.\n");
    println!(
        "{:>6} | {:>22} | {:>26}",
        "s", "max |dL/dz|, MSE on p", "max |dL/dz|, cross-entropy"
    );
    println!("{}", "-".repeat(61));
    let target = Array2::from_shape_vec((1, 3), vec![0.0, 1.0, 0.0]).expect("one-hot");
    for s in [1.0, 5.0, 10.0, 20.0, 40.0] {
        let z = logits::<f64>(s);
        let (_, mse) = softmax_then_mse_grad(&z, &target);
        let (_, ce) = with_log_softmax_grad(&z, &[1]);
        let largest = |g: &Array2<f64>| g.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let (mse, ce) = (largest(&mse.z), largest(&ce.z));
        println!("{s:>6} | {mse:>22.2e} | {ce:>26.2e}");
        if s >= 10.0 {
            assert!(
                mse < 1e-3 && ce > 0.99,
                "the MSE gradient vanishes, cross-entropy's does not"
            );
        }
    }
    println!("\nThe more confidently wrong the network, the less MSE on softmax tells it; cross-entropy");
    println!("on log_softmax keeps telling it \"lower z₀, raise z₁\" at full strength.");
}
