//! Tutorial 12: anomaly mode finds where a NaN is born.
//!
//! A training step that returns NaN or infinity says nothing about where it
//! came from: by the time the loss is printed, every module after the first
//! bad one has passed the bad values on. Anomaly mode (like PyTorch's
//! `torch.autograd.detect_anomaly`) checks every module call's forward output
//! and every gradient its VJP sends back, and stops the step at the first one
//! that is not finite, naming the module and the line of the call.
//!
//! Switch it on with `AUTODIFF_DETECT_ANOMALY=1` in the environment, or with
//! `autodiff::anomaly::set_enabled(true)`. Off, it costs one branch per
//! module call.
//!
//! The example is tutorial 03's: `log(softmax(z))` on logits far apart, here
//! with every input classified right. In f32 a class's probability underflows
//! to 0 once its logit is about 104 below the largest (e^−103.97 is half the
//! smallest subnormal float). Its log is then −∞, which the loss does not read
//! (it takes the labels' entries, whose probabilities round to 1), but log's
//! VJP computes 0·(1/0) = NaN for it. (Tutorial 03's other thresholds, 88.7 to
//! 88.8 where 1/p overflows, need the label's own probability to be tiny.)
//!
//! Run: `cargo run --release --example 12_anomaly`

use autodiff::prelude::*;

#[derive(Params)]
struct Linear {
    w: Array2<f32>,
    b: Array1<f32>,
}

/// Cross-entropy composed by hand: softmax, then log, then the negative
/// log-likelihood of the labels.
#[differentiable(wrt(model))]
fn composed_loss(model: &Linear, x: &Array2<f32>, labels: &[usize]) -> f32 {
    let z = linear(x, &model.w, &model.b);
    let p = softmax(&z);
    nll_loss(&log(&p), labels)
}

/// `log(softmax(z))` of one row of logits, for the table of spreads.
#[differentiable(wrt(z))]
fn composed_row(z: &Array2<f32>, labels: &[usize]) -> f32 {
    nll_loss(&log(&softmax(z)), labels)
}

/// The same function with log-softmax fused into the loss.
#[differentiable(wrt(model))]
fn fused_loss(model: &Linear, x: &Array2<f32>, labels: &[usize]) -> f32 {
    let z = linear(x, &model.w, &model.b);
    cross_entropy(&z, labels)
}

fn count_non_finite(g: &Linear) -> usize {
    let mut n = 0;
    g.visit(&mut |_, v| n += v.iter().filter(|x| !x.is_finite()).count());
    n
}

/// Runs `f`, returning its panic message, if any, without the default hook's
/// report on stderr.
fn caught(f: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    outcome.err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

fn main() {
    // Three inputs, three classes; the weights are large, as they become
    // when training diverges, so the logits spread by a few hundred.
    let x = Array2::from_shape_vec((3, 2), vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0]).unwrap();
    let labels = [0, 1, 2];
    let model = Linear {
        w: Array2::from_shape_vec((3, 2), vec![150.0, -150.0, -150.0, 150.0, 10.0, 10.0]).unwrap(),
        b: Array1::zeros(3),
    };
    println!("logits z = x·wᵀ + b:\n{}\n", linear(&x, &model.w, &model.b));

    println!("1. Anomaly mode off (the default): the step completes, and only the gradient shows something is wrong.");
    let (value, grad) = composed_loss_grad(&model, &x, &labels);
    let bad = count_non_finite(&grad.model);
    println!(
        "   composed loss = {value} (every label's probability rounds to 1), but {bad} of {} gradient values are NaN:\n   \
         an optimiser step would write NaN into every weight",
        model.num_params()
    );
    assert!(bad > 0);

    println!("\n   Where it starts: logits (0, −d, −d), label 0, by the spread d:");
    let mut broken = Vec::new();
    for d in [88.8_f32, 103.5, 104.0] {
        let z = Array2::from_shape_vec((1, 3), vec![0.0, -d, -d]).unwrap();
        let (value, g) = composed_row_grad(&z, &[0]);
        let p = softmax(&z)[[0, 1]];
        println!(
            "   d = {d:>5}: p of the other classes {p:.3e}, loss {value:.3e}, gradient {:?}",
            g.z.row(0).to_vec()
        );
        broken.push(g.z.iter().any(|v| !v.is_finite()));
    }
    assert_eq!(broken, [false, false, true], "NaN from a spread of 104, not before");

    println!("\n2. Anomaly mode on: the step stops at the first module whose output is not finite.");
    autodiff::anomaly::set_enabled(true);
    let message = caught(|| {
        composed_loss_grad(&model, &x, &labels);
    })
    .expect("anomaly mode stops the step");
    println!("   {message}");
    assert!(message.contains("`log`"), "{message}");
    println!(
        "   softmax itself was finite: its zeros are underflows (e^-300 is 0 in f32); `log` made them -inf, which the\n   \
         loss did not read (it takes the labels' entries only) but the backward pass did: log's VJP divides by p = 0."
    );

    println!("\n3. The fix: log-softmax computed in one module (`cross_entropy`, or `log_softmax` then `nll_loss`).");
    let (value, grad) = fused_loss_grad(&model, &x, &labels);
    println!(
        "   fused loss = {value:.2}, with anomaly mode still on; non-finite gradient values: {}",
        count_non_finite(&grad.model)
    );
    assert!(value.is_finite() && count_non_finite(&grad.model) == 0);
    autodiff::anomaly::set_enabled(false);
    println!(
        "\n   (log-softmax is z − max(z) − log Σ exp(z − max(z)): nothing underflows before the log, so an input\n   \
         classified wrong would get a large finite loss, about the gap between its logits, and a finite gradient,\n   \
         as tutorial 03's rows show.)"
    );
}
