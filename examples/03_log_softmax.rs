//! Tutorial 3: why log-softmax beats softmax followed by log.
//!
//! Take logits z = (s, 0, 0) whose true class is 1, so the network is
//! confidently wrong when s is large. The loss is −log softmax(z)₁ either way,
//! but computed two ways:
//!
//! * `nll_loss(log(softmax(z)))`: softmax saturates. Its outputs become 1 and
//!   (underflowing) 0, log(0) = −∞, and the gradient becomes NaN: the network
//!   cannot learn from its worst mistakes.
//! * `nll_loss(log_softmax(z))` (or the fused `cross_entropy(z)`): computed as
//!   z − max z − log Σ e^{z − max z}, the loss is simply ≈ s and the gradient
//!   softmax(z) − onehot stays of order one: ≈ (1, −1, 0).
//!
//! Run: `cargo run --release --example 03_log_softmax`

use autodiff::prelude::*;

#[differentiable(wrt(z))]
fn softmax_then_log(z: &Array2<f64>, labels: &[usize]) -> f64 {
    nll_loss(&log(&softmax(z)), labels)
}

#[differentiable(wrt(z))]
fn with_log_softmax(z: &Array2<f64>, labels: &[usize]) -> f64 {
    nll_loss(&log_softmax(z), labels)
}

fn main() {
    let labels = [1];
    println!("logits z = (s, 0, 0), true class 1\n");
    println!(
        "{:>6} | {:>12} {:>28} | {:>12} {:>28}",
        "s", "softmax+log", "dL/dz", "log_softmax", "dL/dz"
    );
    println!("{}", "-".repeat(96));
    for s in [1.0, 10.0, 100.0, 745.0, 1000.0, 1e4] {
        let z = Array2::from_shape_vec((1, 3), vec![s, 0.0, 0.0]).expect("1×3");
        let (l1, g1) = softmax_then_log_grad(&z, &labels);
        let (l2, g2) = with_log_softmax_grad(&z, &labels);
        let fmt = |g: &Array2<f64>| format!("({:>8.3}, {:>8.3}, {:>8.3})", g[[0, 0]], g[[0, 1]], g[[0, 2]]);
        println!("{s:>6} | {l1:>12.4} {:>28} | {l2:>12.4} {:>28}", fmt(&g1.z), fmt(&g2.z));
        assert!(
            l2.is_finite() && g2.z.iter().all(|v| v.is_finite()),
            "log_softmax never breaks"
        );
        assert_eq!(
            l2,
            cross_entropy(&z, &labels),
            "cross_entropy is the fused log_softmax + nll"
        );
    }

    // The vanishing gradient itself: the softmax Jacobian diag(p) − p·pᵀ shrinks
    // to zero as softmax saturates, while log_softmax's Jacobian I − 1·pᵀ does not.
    println!("\nlargest Jacobian entry, as s grows:");
    println!("{:>6} | {:>12} {:>12}", "s", "softmax", "log_softmax");
    for s in [1.0, 5.0, 10.0, 20.0, 40.0] {
        let z = Array2::from_shape_vec((1, 3), vec![s, 0.0, 0.0]).expect("1×3");
        let p = softmax(&z);
        let jacobian_max = |f: &dyn Fn(usize, usize) -> f64| {
            (0..3)
                .flat_map(|i| (0..3).map(move |j| (i, j)))
                .map(|(i, j)| f(i, j).abs())
                .fold(0.0, f64::max)
        };
        let soft = jacobian_max(&|i, j| {
            if i == j {
                p[[0, i]] * (1.0 - p[[0, i]])
            } else {
                -p[[0, i]] * p[[0, j]]
            }
        });
        let logsoft = jacobian_max(&|i, j| if i == j { 1.0 - p[[0, j]] } else { -p[[0, j]] });
        println!("{s:>6} | {soft:>12.2e} {logsoft:>12.2e}");
    }
}
