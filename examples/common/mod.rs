//! Shared by the training tutorials: the one digits split they all use,
//! seeds from the command line, mean ± standard deviation, a progress bar per
//! epoch and the plot of the training curves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use autodiff::data::{Dataset, digits};
use autodiff::prelude::Array2;
use autodiff::train::Standardizer;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Seeds the split of the digits, the same in every tutorial so that models
/// are compared on the same images. Training seeds are separate.
pub const SPLIT_SEED: u64 = 2024;

/// Training, validation and test images. Models are chosen and tuned on the
/// validation images; the test images are evaluated once, at the end.
pub struct Split {
    pub train: Dataset,
    pub validation: Dataset,
    pub test: Dataset,
}

impl Split {
    /// The bundled digits: 20% held out for testing, then 20% of the rest for
    /// validation (1,150 / 288 / 359 images).
    pub fn digits() -> Split {
        let mut rng = StdRng::seed_from_u64(SPLIT_SEED);
        let (rest, test) = digits().split(0.2, &mut rng);
        let (train, validation) = rest.split(0.2, &mut rng);
        Split {
            train,
            validation,
            test,
        }
    }

    /// The three sets' images standardised per pixel with the statistics of
    /// the training images only.
    pub fn standardized(&self) -> [Array2<f32>; 3] {
        let s = Standardizer::fit(&self.train.images, 1e-3);
        [&self.train, &self.validation, &self.test].map(|d| s.transform(&d.images))
    }

    /// The three sets' images as they are (pixel values 0 to 16).
    pub fn raw(&self) -> [Array2<f32>; 3] {
        [&self.train, &self.validation, &self.test].map(|d| d.images.clone())
    }

    pub fn describe(&self) -> String {
        format!(
            "{} training, {} validation, {} test images",
            self.train.len(),
            self.validation.len(),
            self.test.len()
        )
    }
}

/// Seeds MNIST's validation split, the same in every MNIST tutorial so that
/// their validation numbers are comparable. Training seeds are separate.
pub const MNIST_SPLIT_SEED: u64 = 1998;

/// MNIST's 60,000 training images as 55,000 for training and 5,000 held
/// out for validation.
pub fn mnist_split(images: &Dataset) -> (Dataset, Dataset) {
    images.split(5_000.0 / 60_000.0, &mut StdRng::seed_from_u64(MNIST_SPLIT_SEED))
}

/// The training seeds asked for with `--seeds N` (0 to N−1; seed 0 alone by
/// default), and the other command-line arguments.
pub fn seeds_and_args() -> (Vec<u64>, Vec<String>) {
    let mut args = std::env::args().skip(1);
    let (mut seeds, mut rest) = (1, Vec::new());
    while let Some(arg) = args.next() {
        if arg == "--seeds" {
            seeds = match args.next().map(|n| n.parse::<u64>()) {
                Some(Ok(n)) if n > 0 => n,
                _ => {
                    eprintln!("--seeds takes a positive number of seeds");
                    std::process::exit(2);
                }
            };
        } else {
            rest.push(arg);
        }
    }
    ((0..seeds).collect(), rest)
}

/// The mean and the sample standard deviation (0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// How many decimals of a percentage a set of `n` images supports: one image
/// of 359 is 0.28 points, so one decimal; one of 10,000 is 0.01, so two.
pub fn decimals(n: usize) -> usize {
    if 100.0 / n as f64 >= 0.1 { 1 } else { 2 }
}

/// `97.8% (351/359)`: an accuracy with the digits its set supports.
pub fn accuracy_text(accuracy: f64, n: usize) -> String {
    let correct = (accuracy * n as f64).round();
    format!("{:.*}% ({correct}/{n})", decimals(n), 100.0 * accuracy)
}

/// `97.6 ± 0.4%`: mean and standard deviation over seeds, in percent.
pub fn mean_std_text(accuracies: &[f64], n: usize) -> String {
    let (mean, std) = mean_std(accuracies);
    let d = decimals(n);
    format!("{:.*} ± {:.*}%", d, 100.0 * mean, d, 100.0 * std)
}

/// A progress bar over one epoch's minibatches, showing the running loss.
pub fn epoch_bar(epoch: usize, epochs: usize, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {prefix:>3} [{bar:30}] {pos:>4}/{len:4} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{}/{epochs}", epoch + 1));
    bar
}

/// Where tutorials write their plots: `target/tutorials/NAME.svg`.
pub fn plot_path(name: &str) -> PathBuf {
    // The workspace's target directory: beside Cargo.lock, above the
    // tutorials' package directories.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("the tutorials are inside the repository");
    let dir = root.join("target").join("tutorials");
    std::fs::create_dir_all(&dir).expect("target/ is writable");
    dir.join(format!("{name}.svg"))
}

/// Per epoch: the training objective as the optimizer saw it (averaged over
/// the epoch's minibatches), the validation loss, and the accuracy on the
/// training and validation images.
#[derive(Default)]
pub struct Curves {
    pub train_loss: Vec<f64>,
    pub validation_loss: Vec<f64>,
    pub train_accuracy: Vec<f64>,
    pub validation_accuracy: Vec<f64>,
}

/// What the right-hand panel shows, as the console does.
#[derive(Clone, Copy)]
pub enum Metric {
    Accuracy,
    /// 1 − accuracy, on a log scale: for error rates of a few percent.
    Error,
}

/// Two panels: the losses on a log scale (`train_label` says what the
/// training loss includes), and the training and validation accuracy or
/// error, against integer epochs.
pub fn plot_curves(
    path: &Path,
    title: &str,
    curves: &Curves,
    train_label: &str,
    metric: Metric,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1100, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);
    let epochs = curves.train_loss.len().max(2) as u32;
    let points = |values: &[f64], scale: f64| -> Vec<(u32, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as u32 + 1, v * scale))
            .collect()
    };
    let range = |values: &[&[f64]], scale: f64| {
        let all = values
            .iter()
            .flat_map(|v| v.iter())
            .map(|v| v * scale)
            .filter(|v| *v > 0.0);
        let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo.is_finite() {
            (lo / 1.3, hi * 1.3)
        } else {
            (0.1, 1.0)
        }
    };
    // Tick labels of a log axis, without the float noise (0.30000000000001).
    let short = |v: &f64| {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let legend = |color: RGBColor| move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 20, y)], color);

    let (lo, hi) = range(&[&curves.train_loss, &curves.validation_loss], 1.0);
    let mut chart = ChartBuilder::on(&left)
        .caption(format!("{title}: loss"), ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(1..epochs, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(epochs.min(12) as usize)
        .y_desc("loss (log scale)")
        .y_label_formatter(&short)
        .light_line_style(WHITE)
        .draw()?;
    chart
        .draw_series(LineSeries::new(points(&curves.train_loss, 1.0), &RED))?
        .label(train_label)
        .legend(legend(RED));
    chart
        .draw_series(LineSeries::new(points(&curves.validation_loss, 1.0), &BLUE))?
        .label("validation cross-entropy")
        .legend(legend(BLUE));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let accuracies = [&curves.train_accuracy, &curves.validation_accuracy];
    match metric {
        Metric::Accuracy => {
            let low = accuracies
                .iter()
                .flat_map(|a| a.iter())
                .copied()
                .fold(1.0, f64::min)
                .min(0.9)
                * 100.0;
            let mut chart = ChartBuilder::on(&right)
                .caption(format!("{title}: accuracy"), ("sans-serif", 18))
                .margin(15)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(1..epochs, low..100.0)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .x_labels(epochs.min(12) as usize)
                .y_desc("accuracy (%)")
                .light_line_style(WHITE)
                .draw()?;
            for (values, color, label) in [(accuracies[0], RED, "training"), (accuracies[1], BLUE, "validation")] {
                chart
                    .draw_series(LineSeries::new(points(values, 100.0), &color))?
                    .label(label)
                    .legend(legend(color));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        Metric::Error => {
            let errors = accuracies.map(|a| a.iter().map(|a| 1.0 - a).collect::<Vec<f64>>());
            let (lo, hi) = range(&[&errors[0], &errors[1]], 100.0);
            let mut chart = ChartBuilder::on(&right)
                .caption(format!("{title}: error"), ("sans-serif", 18))
                .margin(15)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(1..epochs, (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .x_labels(epochs.min(12) as usize)
                .y_desc("error (%, log scale)")
                .y_label_formatter(&short)
                .light_line_style(WHITE)
                .draw()?;
            for (values, color, label) in [(&errors[0], RED, "training"), (&errors[1], BLUE, "validation")] {
                // A log axis has no zero: an error of 0 is drawn at the bottom.
                let floor: Vec<(u32, f64)> = points(values, 100.0).into_iter().map(|(x, y)| (x, y.max(lo))).collect();
                chart
                    .draw_series(LineSeries::new(floor, &color))?
                    .label(label)
                    .legend(legend(color));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}

/// A paired comparison of two recipes trained from the same seeds: the mean
/// and standard deviation of the per-seed differences `a[i] − b[i]`, and the
/// two-sided p-value of Student's paired t-test (how often differences this
/// far from zero would arise if the two recipes were equally good).
pub struct Paired {
    pub mean: f64,
    pub std: f64,
    pub p: f64,
}

pub fn paired(a: &[f64], b: &[f64]) -> Paired {
    assert_eq!(a.len(), b.len(), "a paired comparison needs one value of each per seed");
    let differences: Vec<f64> = a.iter().zip(b).map(|(a, b)| a - b).collect();
    let (mean, std) = mean_std(&differences);
    let n = differences.len();
    let p = if n < 2 {
        1.0
    } else if std == 0.0 {
        // Every seed moved by the same amount: no noise to weigh it against.
        if mean == 0.0 { 1.0 } else { 0.0 }
    } else {
        let t = mean / (std / (n as f64).sqrt());
        student_t_two_sided(t, n - 1)
    };
    Paired { mean, std, p }
}

/// P(|T| ≥ |t|) for Student's t with `dof` degrees of freedom, by the finite
/// series for integer degrees of freedom (Abramowitz & Stegun 26.7.3-4), in
/// θ = atan(|t|/√dof): P(|T| < |t|) is 2θ/π plus a series in cos²θ for odd
/// `dof`, a series alone for even.
pub fn student_t_two_sided(t: f64, dof: usize) -> f64 {
    assert!(dof > 0, "Student's t needs at least one degree of freedom");
    let theta = (t.abs() / (dof as f64).sqrt()).atan();
    let (s, c2) = (theta.sin(), theta.cos().powi(2));
    let inside = if dof % 2 == 1 {
        // 1 + (2/3)c² + (2·4)/(3·5)c⁴ + … up to c^(dof−3).
        let (mut term, mut sum) = (1.0, 0.0);
        if dof > 1 {
            sum = 1.0;
            let mut k = 2;
            while k < dof - 1 {
                term *= k as f64 / (k + 1) as f64 * c2;
                sum += term;
                k += 2;
            }
        }
        2.0 / std::f64::consts::PI * (theta + s * theta.cos() * sum)
    } else {
        // sinθ (1 + (1/2)c² + (1·3)/(2·4)c⁴ + … up to c^(dof−2)).
        let (mut term, mut sum) = (1.0, 1.0);
        let mut k = 1;
        while k < dof - 1 {
            term *= k as f64 / (k + 1) as f64 * c2;
            sum += term;
            k += 2;
        }
        s * sum
    };
    (1.0 - inside).clamp(0.0, 1.0)
}

/// A p-value as a table prints it: three decimals, or `< 0.001`.
pub fn p_text(p: f64) -> String {
    if p < 0.001 { "< 0.001".into() } else { format!("{p:.3}") }
}

/// Holm's step-down adjustment of `p` for testing them all at once: with m
/// tests, the smallest is multiplied by m, the next by m − 1, and so on, each
/// kept at least as large as the one before. Rejecting where the adjusted
/// value is below α keeps the chance of any false claim among the m below α.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_matches_the_tables() {
        // Two-sided 5% and 1% critical values (any statistics table).
        for (t, dof, p) in [
            (12.706205, 1, 0.05),
            (4.302653, 2, 0.05),
            (3.182446, 3, 0.05),
            (2.262157, 9, 0.05),
            (2.228139, 10, 0.05),
            (3.249836, 9, 0.01),
            (2.093024, 19, 0.05),
            (2.845340, 20, 0.01),
        ] {
            let got = student_t_two_sided(t, dof);
            assert!((got - p).abs() < 1e-6, "t = {t}, dof = {dof}: {got} instead of {p}");
            assert!((student_t_two_sided(-t, dof) - got).abs() < 1e-15);
        }
        assert_eq!(student_t_two_sided(0.0, 5), 1.0);
    }

    #[test]
    fn a_paired_test_sees_a_consistent_small_change() {
        // Noisy values whose per-seed differences are all close to +0.01.
        let b = [0.90, 0.95, 0.85, 0.99, 0.92];
        let a: Vec<f64> = b
            .iter()
            .zip([0.011, 0.009, 0.010, 0.012, 0.008])
            .map(|(b, d)| b + d)
            .collect();
        let p = paired(&a, &b);
        assert!((p.mean - 0.010).abs() < 1e-12);
        assert!(p.p < 1e-3, "{}", p.p);
        assert_eq!(paired(&b, &b).p, 1.0);
    }

    #[test]
    fn holm_multiplies_by_rank_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.5]);
        let expected = [0.04, 0.09, 0.09, 0.5];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
    }
}
