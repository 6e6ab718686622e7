//! Shared by the training tutorials: a progress bar per epoch and the plot of
//! the training curves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;

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
    // The workspace's target directory, beside this package's directory.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ is inside the repository");
    let dir = root.join("target").join("tutorials");
    std::fs::create_dir_all(&dir).expect("target/ is writable");
    dir.join(format!("{name}.svg"))
}

/// Two panels: the training loss and an accuracy (`which`: test or
/// validation), per epoch.
pub fn plot_curves(
    path: &Path,
    title: &str,
    loss: &[f64],
    which: &str,
    accuracy: &[f64],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (960, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(480);
    let epochs = loss.len() as f64;

    let max_loss = loss.iter().copied().fold(0.0, f64::max) * 1.05;
    let mut chart = ChartBuilder::on(&left)
        .caption(format!("{title}: training loss"), ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(1.0..epochs.max(2.0), 0.0..max_loss)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("mean cross-entropy")
        .draw()?;
    chart.draw_series(LineSeries::new(
        loss.iter().enumerate().map(|(i, &l)| (i as f64 + 1.0, l)),
        &RED,
    ))?;

    let low = accuracy.iter().copied().fold(1.0, f64::min).min(0.9) * 100.0;
    let mut chart = ChartBuilder::on(&right)
        .caption(format!("{title}: {which} accuracy (%)"), ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(1.0..epochs.max(2.0), low..100.0)?;
    chart.configure_mesh().x_desc("epoch").y_desc("accuracy %").draw()?;
    chart.draw_series(LineSeries::new(
        accuracy.iter().enumerate().map(|(i, &a)| (i as f64 + 1.0, a * 100.0)),
        &BLUE,
    ))?;
    root.present()?;
    Ok(())
}
