//! Tutorial 16: the curvature of a loss, through Hessian-vector products.
//!
//! The Hessian H of a network's loss has as many rows as the network has
//! parameters, far too many to form. What second-order methods need is H·v
//! for a direction v, and `#[differentiable(wrt(model), hvp)]` generates it
//! at compile time: `loss_hvp(model, .., &v)` returns the loss, its gradient
//! and H·v from one forward and one backward pass that carry tangents
//! (forward-over-reverse, Pearlmutter 1994), at a few times the cost of the
//! gradient. `loss_jvp` gives ⟨∇f, v⟩ in one forward pass.
//!
//! Part 1, the edge of stability. Full-batch gradient descent with step η is
//! stable on a quadratic only while the top eigenvalue of H, the
//! *sharpness* λ_max, stays below 2/η. Cohen et al. (2021) found that on
//! neural networks the sharpness rises during training ("progressive
//! sharpening") until it reaches 2/η, then hovers there while the loss keeps
//! falling, not monotonically. Here a tanh MLP on the digits trains with a
//! square loss at three step sizes; every few steps the sharpness is
//! measured by power iteration on `loss_hvp`, printed, and plotted against
//! 2/η.
//!
//! Part 2, Newton-CG. With H·v, conjugate gradients solve (H + λI)·d = −∇f
//! without forming H; a step along d is a (damped) Newton step. On softmax
//! regression of the digits (convex, with an L2 penalty), Newton-CG is
//! compared with gradient descent at its best fixed step, 1/λ_max, in
//! gradient-sized passes and wall time.
//!
//! Run: `cargo run --release --example 16_curvature`

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use autodiff::prelude::*;
use autodiff::train::curvature::{axpy, conjugate_gradient, dot, random_direction, scale, top_eigenvalue};
use autodiff::train::{Init, init};
use common::Split;
use plotters::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Params, Clone)]
struct Mlp {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

/// The square loss of a tanh MLP against one-hot targets, as Cohen et al.
/// train with: ½·mean over examples of ‖z − y‖².
#[differentiable(wrt(model), hvp)]
fn square_loss(model: &Mlp, x: &Array2<f64>, targets: &Array2<f64>, half_classes: f64) -> f64 {
    let h = tanh(&linear(x, &model.w1, &model.b1));
    let z = linear(&h, &model.w2, &model.b2);
    mse_loss(&z, targets) * half_classes
}

#[derive(Params, Clone)]
struct Softmax {
    w: Array2<f64>,
    b: Array1<f64>,
}

/// Softmax regression with an L2 penalty: strictly convex.
#[differentiable(wrt(model), hvp)]
fn regression_loss(model: &Softmax, x: &Array2<f64>, labels: &[usize], decay: f64) -> f64 {
    cross_entropy(&linear(x, &model.w, &model.b), labels) + decay * l2(&model.w)
}

const HIDDEN: usize = 32;
/// Full-batch steps per step size, and how often the sharpness is measured.
const STEPS: usize = 4_000;
const EVERY: usize = 50;
/// Power-iteration steps per measurement (warm-started from the last
/// eigenvector, so a few suffice once training is under way).
const POWER: usize = 20;

/// Part 1: gradient descent at step `eta` from the same initial model; the
/// sharpness and the loss every `EVERY` steps.
fn edge_of_stability(model: &Mlp, x: &Array2<f64>, targets: &Array2<f64>, eta: f64) -> (Vec<f64>, Vec<f64>) {
    let half_classes = targets.ncols() as f64 / 2.0;
    let mut model = model.clone();
    let mut rng = StdRng::seed_from_u64(7);
    let mut v = random_direction(&model, &mut rng);
    let (mut sharpness, mut losses) = (Vec::new(), Vec::new());
    for step in 0..=STEPS {
        let (value, grad) = square_loss_grad(&model, x, targets, half_classes);
        if step % EVERY == 0 {
            let (lambda, top, _) = top_eigenvalue(v.clone(), POWER, |v: &Mlp| {
                let direction = SquareLossGrad { model: v.clone() };
                square_loss_hvp(&model, x, targets, half_classes, &direction).2.model
            });
            v = top;
            sharpness.push(lambda);
            losses.push(value);
        }
        axpy(&mut model, -eta, &grad.model);
    }
    (sharpness, losses)
}

/// Part 2: what one optimiser did: (passes, milliseconds, loss) per iteration,
/// a pass being one gradient or one H·v.
type Trace = Vec<(usize, f64, f64)>;

fn gradient_descent(start: &Softmax, x: &Array2<f64>, labels: &[usize], decay: f64, eta: f64, passes: usize) -> Trace {
    let (mut model, started) = (start.clone(), Instant::now());
    let mut trace = Vec::new();
    for pass in 0..=passes {
        let (value, grad) = regression_loss_grad(&model, x, labels, decay);
        trace.push((pass, started.elapsed().as_secs_f64() * 1e3, value));
        axpy(&mut model, -eta, &grad.model);
    }
    trace
}

/// Newton-CG: d from (H + λI)·d = −∇f by at most `cg` conjugate-gradient
/// products, then a backtracking line search from the full step.
fn newton_cg(start: &Softmax, x: &Array2<f64>, labels: &[usize], decay: f64, passes: usize) -> Trace {
    let (mut model, started) = (start.clone(), Instant::now());
    let (damping, cg) = (1e-4, 20);
    let mut trace = Vec::new();
    let mut used = 0;
    loop {
        let (value, grad) = regression_loss_grad(&model, x, labels, decay);
        trace.push((used, started.elapsed().as_secs_f64() * 1e3, value));
        used += 1;
        if used >= passes {
            return trace;
        }
        let mut minus_g = grad.model.clone();
        scale(&mut minus_g, -1.0);
        let (d, solve) = conjugate_gradient(&minus_g, damping, cg.min(passes - used), 1e-3, |v: &Softmax| {
            let direction = RegressionLossGrad { model: v.clone() };
            regression_loss_hvp(&model, x, labels, decay, &direction).2.model
        });
        used += solve.products;
        // Armijo backtracking: halve until the loss falls by a tenth of the
        // decrease the gradient predicts.
        let slope = dot(&grad.model, &d);
        let mut t = 1.0;
        loop {
            let mut candidate = model.clone();
            axpy(&mut candidate, t, &d);
            let next = regression_loss(&candidate, x, labels, decay);
            used += 1;
            if next <= value + 0.1 * t * slope || t < 1e-4 {
                model = candidate;
                break;
            }
            t /= 2.0;
        }
    }
}

fn main() {
    let split = Split::digits();
    let [x_train, _, _] = split.standardized();
    let x = x_train.mapv(f64::from);
    let labels = split.train.labels.clone();
    let mut targets = Array2::zeros((labels.len(), 10));
    for (i, &label) in labels.iter().enumerate() {
        targets[[i, label]] = 1.0;
    }
    println!("digits of 8×8 pixels: {} training images, full batch", labels.len());

    // Part 1.
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = Mlp {
        w1: Array2::zeros((HIDDEN, 64)),
        b1: Array1::zeros(HIDDEN),
        w2: Array2::zeros((10, HIDDEN)),
        b2: Array1::zeros(10),
    };
    init(&mut model, Init::XavierNormal, &mut rng);
    let etas = [0.2, 0.3, 0.4];
    println!(
        "\npart 1: MLP 64 → {HIDDEN} (tanh) → 10, square loss, full-batch gradient descent for {STEPS} steps;\n\
         sharpness λ_max (top Hessian eigenvalue, {POWER} power-iteration steps on `_hvp`) every {EVERY} steps"
    );
    let started = Instant::now();
    let runs: Vec<(f64, Vec<f64>, Vec<f64>)> = etas
        .iter()
        .map(|&eta| {
            let (sharpness, losses) = edge_of_stability(&model, &x, &targets, eta);
            (eta, sharpness, losses)
        })
        .collect();
    println!("(three runs in {:.1} s)\n", started.elapsed().as_secs_f64());
    print!("| step |");
    for (eta, ..) in &runs {
        print!(" η = {eta}: λ_max (2/η = {:.1}) | loss |", 2.0 / eta);
    }
    println!("\n|---:|{}", "---:|---:|".repeat(runs.len()));
    for k in [0, 1, 2, 4, 6, 10, 20, 30, 40, 60, 80] {
        if k * EVERY > STEPS {
            break;
        }
        print!("| {} |", k * EVERY);
        for (_, sharpness, losses) in &runs {
            print!(" {:.1} | {:.4} |", sharpness[k], losses[k]);
        }
        println!();
    }
    println!();
    for (eta, sharpness, losses) in &runs {
        let edge = 2.0 / eta;
        // From the lowest point of the first half (a step above the edge at
        // the start is thrown out of the sharp region first).
        let low = (0..sharpness.len() / 2)
            .min_by(|&a, &b| sharpness[a].total_cmp(&sharpness[b]))
            .unwrap_or(0);
        let first = sharpness[low..].iter().position(|&s| s >= 0.9 * edge).map(|k| k + low);
        let late = &sharpness[sharpness.len() / 2..];
        let (lo, hi) = late
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        let rises = losses.windows(2).filter(|w| w[1] > w[0]).count();
        match first {
            Some(k) => println!(
                "η = {eta}: λ_max falls to {:.1} (step {}), then climbs to 90% of 2/η = {edge:.1} by step {}; over the second \
                 half it stays in [{lo:.2}, {hi:.2}] ({:.0}–{:.0}% of 2/η), and the loss rose between {rises} of {} measurements",
                sharpness[low],
                low * EVERY,
                k * EVERY,
                100.0 * lo / edge,
                100.0 * hi / edge,
                losses.len() - 1
            ),
            None => println!(
                "η = {eta}: λ_max falls to {:.1} (step {}), then climbs to {:.1}, still below 2/η = {edge:.1} after {STEPS} steps",
                sharpness[low],
                low * EVERY,
                sharpness[sharpness.len() - 1]
            ),
        }
    }
    // What the text claims, checked: the sharpness rises from its low point
    // at every step size, and the two largest steps hold it at 2/η.
    for (eta, sharpness, _) in &runs {
        let low = sharpness[..sharpness.len() / 2]
            .iter()
            .fold(f64::INFINITY, |m, &s| m.min(s));
        assert!(
            sharpness[sharpness.len() - 1] > 1.2 * low,
            "η = {eta}: no progressive sharpening"
        );
        if *eta >= 0.3 {
            let late = &sharpness[sharpness.len() / 2..];
            assert!(
                late.iter().all(|&s| (s * eta / 2.0 - 1.0).abs() < 0.1),
                "η = {eta}: the sharpness leaves 2/η ± 10% in the second half"
            );
        }
    }
    let path = common::plot_path("16_curvature");
    plot(&path, &runs).expect("plot written");
    println!("sharpness against 2/η, and the loss: {}", path.display());

    // Part 2.
    let decay = 1e-3;
    let start = Softmax {
        w: Array2::zeros((10, 64)),
        b: Array1::zeros(10),
    };
    let (lambda, _, _) = top_eigenvalue(random_direction(&start, &mut rng), 100, |v: &Softmax| {
        let direction = RegressionLossGrad { model: v.clone() };
        regression_loss_hvp(&start, &x, &labels, decay, &direction).2.model
    });
    let passes = 300;
    println!(
        "\npart 2: softmax regression 64 → 10 with L2 {decay}, from zero; λ_max at the start {lambda:.2}, so gradient \
         descent's best fixed step is about 1/λ_max = {:.2}",
        1.0 / lambda
    );
    let gd = gradient_descent(&start, &x, &labels, decay, 1.0 / lambda, passes);
    let newton = newton_cg(&start, &x, &labels, decay, passes);
    let best = gd.iter().chain(&newton).map(|t| t.2).fold(f64::INFINITY, f64::min);
    println!("loss minus the best loss found ({best:.6}), after as many passes (a gradient, an H·v or a loss each):\n");
    println!("| passes | gradient descent | ms | Newton-CG | ms |\n|---:|---:|---:|---:|---:|");
    let at = |trace: &Trace, passes: usize| trace.iter().take_while(|t| t.0 <= passes).last().copied();
    for p in [10, 25, 50, 100, 200, 300] {
        let (Some(g), Some(n)) = (at(&gd, p), at(&newton, p)) else {
            continue;
        };
        println!(
            "| {p} | {:.2e} | {:.1} | {:.2e} | {:.1} |",
            g.2 - best,
            g.1,
            n.2 - best,
            n.1
        );
    }
    let (g, n) = (gd[gd.len() - 1], newton[newton.len() - 1]);
    let same_time = newton
        .iter()
        .take_while(|t| t.1 <= g.1)
        .last()
        .copied()
        .expect("a pass");
    println!(
        "in the {:.0} ms gradient descent took, Newton-CG got to {:.2e} above the best ({} passes; its first step costs \
         a gradient, up to 20 H·v and a line search)",
        g.1,
        same_time.2 - best,
        same_time.0
    );
    let (g100, n100) = (at(&gd, 100).expect("a pass"), at(&newton, 100).expect("a pass"));
    assert!(
        n100.2 < g100.2 && n.2 < g.2,
        "Newton-CG is not ahead of gradient descent"
    );
    println!(
        "\nafter {passes} passes: gradient descent {:.2e} above the best ({:.0} ms), Newton-CG {:.2e} ({:.0} ms)",
        g.2 - best,
        g.1,
        n.2 - best,
        n.1
    );
}

/// Sharpness against 2/η (left) and the loss (right), per step size.
fn plot(path: &std::path::Path, runs: &[(f64, Vec<f64>, Vec<f64>)]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1100, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);
    let colors = [RED, BLUE, GREEN];
    let top = runs.iter().map(|(eta, ..)| 2.0 / eta).fold(0.0_f64, f64::max) * 1.25;
    let mut chart = ChartBuilder::on(&left)
        .caption("sharpness λ_max, and 2/η dashed", ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0..STEPS, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("λ_max")
        .light_line_style(WHITE)
        .draw()?;
    for ((eta, sharpness, _), color) in runs.iter().zip(colors) {
        let points = sharpness.iter().enumerate().map(|(k, &s)| (k * EVERY, s));
        chart
            .draw_series(LineSeries::new(points, &color))?
            .label(format!("η = {eta}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        let edge = 2.0 / eta;
        chart.draw_series(DashedLineSeries::new(
            vec![(0, edge), (STEPS, edge)],
            6,
            4,
            color.stroke_width(1),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    let (lo, hi) = runs
        .iter()
        .flat_map(|(_, _, l)| l.iter())
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(&right)
        .caption("training loss (square)", ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0..STEPS, (lo / 1.2..hi * 1.2).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss (log scale)")
        .light_line_style(WHITE)
        .draw()?;
    for ((_, _, losses), color) in runs.iter().zip(colors) {
        let points = losses.iter().enumerate().map(|(k, &l)| (k * EVERY, l));
        chart.draw_series(LineSeries::new(points, &color))?;
    }
    root.present()?;
    Ok(())
}
