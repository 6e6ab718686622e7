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
//! 1. **Floating point.** The composed form computes p₁ first, and breaks
//!    twice. The gradient goes first: log's VJP divides by p₁, and 1/p₁ =
//!    eˢ + 2 overflows once s passes ln(MAX), 709.78 in f64 and 88.72 in f32
//!    (the type tutorials 4 to 6 train in), while p₁ itself is still a
//!    number. The loss goes later, when p₁ leaves the numbers: it is a
//!    subnormal with fewer bits from e^−708.4 (f64) or e^−87.3 (f32), rounds
//!    to the smallest subnormal near e^−744.4 (f64) or e^−103.3 (f32) so that
//!    −log p₁ reads too small, and rounds to 0 (the loss becomes inf) past
//!    e^−745.1 or e^−104.0. `log_softmax` computes z − max z − log Σ
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

/// What one row of the composed form shows.
#[derive(Debug, PartialEq)]
enum Composed {
    /// Loss and gradient finite, the loss within 1e-6 of the exact one.
    Right,
    /// The gradient has inf or NaN; the loss is still right.
    GradientBroken,
    /// The gradient is broken and the loss finite but wrong.
    LossWrong,
    /// The loss is infinite too.
    LossInfinite,
}

/// One table: the loss and gradient both ways, for each s; what the
/// composed form's row shows.
fn table<F: Float>(ty: &str, values: &[f64]) -> Vec<Composed> {
    let labels = [1];
    println!("{ty}: logits z = (s, 0, 0), true class 1; the exact loss is s + ln(1 + 2e^−s)\n");
    println!(
        "{:>6} | {:>11} {:>12} {:>27} | {:>11} {:>27}",
        "s", "p₁", "softmax+log", "dL/dz", "log_softmax", "dL/dz"
    );
    println!("{}", "-".repeat(104));
    let mut rows = Vec::new();
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
        let loss = l1.to_f64_lossless();
        let s_in_f = F::of(s).to_f64_lossless();
        let exact = s_in_f + (2.0 * (-s_in_f).exp()).ln_1p();
        let gradient_finite = g1.z.iter().all(|v| v.to_f64_lossless().is_finite());
        rows.push(
            match (loss.is_finite(), (loss - exact).abs() <= 1e-6 * exact, gradient_finite) {
                (true, true, true) => Composed::Right,
                (true, true, false) => Composed::GradientBroken,
                (true, false, _) => Composed::LossWrong,
                (false, _, _) => Composed::LossInfinite,
            },
        );
    }
    println!();
    rows
}

fn main() {
    use Composed::*;
    println!("1. Floating point: the same function, computed two ways.\n");
    let f64_rows = [1.0, 100.0, 709.7, 709.8, 744.0, 745.0, 745.2];
    let rows = table::<f64>("f64", &f64_rows);
    assert_eq!(
        rows,
        [Right, Right, Right, GradientBroken, LossWrong, LossWrong, LossInfinite],
        "f64: the gradient breaks between 709.7 and 709.8, the loss by 744"
    );
    println!(
        "The gradient breaks first: 1/p₁ = e^s + 2 exceeds the largest double, {:.3e} = e^{:.2}, from s = 709.8,",
        f64::MAX,
        f64::MAX.ln()
    );
    println!("while p₁ is still a (subnormal) number and the loss still right. Deep in the subnormals p₁ keeps");
    println!(
        "few bits (at 744 two: the loss reads 743.75); at 745 it rounds to the smallest, 2^−1074 = {:.3e} = e^{:.2},",
        f64::from_bits(1),
        f64::from_bits(1).ln()
    );
    println!("and the loss reads 744.44; past e^−745.13, half of that, p₁ rounds to 0 and the loss is inf.\n");

    let f32_rows = [10.0, 88.7, 88.8, 90.0, 100.0, 103.5, 104.0];
    let rows = table::<f32>("f32", &f32_rows);
    assert_eq!(
        rows,
        [
            Right,
            Right,
            GradientBroken,
            GradientBroken,
            LossWrong,
            LossWrong,
            LossInfinite
        ],
        "f32: the gradient breaks between 88.7 and 88.8, the loss by 100"
    );
    println!(
        "In f32 the gradient breaks from s = 88.8, where 1/p₁ exceeds the largest f32, {:.3e} = e^{:.2}; the",
        f32::MAX,
        f32::MAX.ln()
    );
    println!(
        "loss holds while the subnormal p₁ keeps enough bits (at 100 it reads 99.98), sits on the smallest, {:.3e} =",
        f32::from_bits(1)
    );
    println!(
        "e^{:.2}, at 103.5 (reading 103.28), and is inf from 104.",
        f64::from(f32::from_bits(1)).ln()
    );
    println!("Logits 89 apart happen in training, and one NaN in a gradient poisons every weight it reaches.\n");

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
