//! Input standardisation: each feature (or channel) to mean 0 and standard
//! deviation 1, with statistics fitted on the training split only and applied
//! unchanged to the test split. The divisor is max(σ, ε), so a constant feature
//! (a border pixel that is always 0) maps to 0 instead of dividing by zero.

use ndarray::{Array1, Array2};

use crate::float::Float;

/// Per-feature mean and divisor, fitted on training data.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer<F: Float> {
    /// The mean of each feature.
    pub mean: Array1<F>,
    /// max(σ, ε) of each feature.
    pub scale: Array1<F>,
}

impl<F: Float> Standardizer<F> {
    /// Fits one mean and σ per feature (column) of `x` `[samples, features]`.
    pub fn fit(x: &Array2<F>, eps: F) -> Self {
        assert!(x.nrows() > 0, "Standardizer::fit: no samples");
        let (mean, scale): (Vec<F>, Vec<F>) = x.columns().into_iter().map(|c| moments(c.iter().copied(), eps)).unzip();
        Standardizer {
            mean: Array1::from(mean),
            scale: Array1::from(scale),
        }
    }

    /// Fits one mean and σ per channel, for features laid out channel by
    /// channel (`[c₀ features…, c₁ features…, …]`, as an image `[C, H, W]`
    /// flattened), and repeats them over each channel's features.
    pub fn fit_channels(x: &Array2<F>, channels: usize, eps: F) -> Self {
        let features = x.ncols();
        assert!(
            channels > 0 && features.is_multiple_of(channels),
            "Standardizer::fit_channels: {features} features do not split into {channels} channels"
        );
        assert!(x.nrows() > 0, "Standardizer::fit_channels: no samples");
        let per_channel = features / channels;
        let mut mean = Array1::zeros(features);
        let mut scale = Array1::zeros(features);
        for c in 0..channels {
            let range = c * per_channel..(c + 1) * per_channel;
            let block = x.slice(ndarray::s![.., range.clone()]);
            let (m, sd) = moments(block.iter().copied(), eps);
            mean.slice_mut(ndarray::s![range.clone()]).fill(m);
            scale.slice_mut(ndarray::s![range]).fill(sd);
        }
        Standardizer { mean, scale }
    }

    /// (x − mean) / scale, feature by feature.
    pub fn transform(&self, x: &Array2<F>) -> Array2<F> {
        assert_eq!(
            x.ncols(),
            self.mean.len(),
            "Standardizer::transform: data has {} features, the standardizer was fitted on {}",
            x.ncols(),
            self.mean.len()
        );
        (x - &self.mean) / &self.scale
    }
}

/// The mean and max(σ, ε) of the values, accumulated in f64: summing tens of
/// millions of f32 pixels in f32 drifts in the third digit.
fn moments<F: Float>(values: impl Iterator<Item = F> + Clone, eps: F) -> (F, F) {
    let (n, sum) = values
        .clone()
        .fold((0usize, 0.0f64), |(n, s), v| (n + 1, s + v.to_f64_lossless()));
    let mean = sum / n as f64;
    let var = values.fold(0.0f64, |s, v| s + (v.to_f64_lossless() - mean).powi(2)) / n as f64;
    (F::of(mean), F::of(var.sqrt()).max(eps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn fitted_statistics_and_transform() {
        let train = arr2(&[[1.0, 10.0, 5.0], [3.0, 30.0, 5.0], [5.0, 20.0, 5.0]]);
        let s = Standardizer::fit(&train, 1e-6);
        assert_eq!(s.mean, ndarray::arr1(&[3.0, 20.0, 5.0]));
        let sd = (8.0_f64 / 3.0).sqrt();
        assert!((s.scale[0] - sd).abs() < 1e-12);
        assert!((s.scale[1] - 5.0 * sd).abs() < 1e-12); // deviations −10, 10, 0
        assert_eq!(s.scale[2], 1e-6, "a constant feature gets ε");
        let z = s.transform(&train);
        for j in 0..2 {
            let col = z.column(j);
            assert!(col.mean().unwrap().abs() < 1e-12);
            assert!((col.mapv(|v| v * v).mean().unwrap() - 1.0).abs() < 1e-12);
        }
        assert!(z.column(2).iter().all(|&v| v == 0.0));
        // The test split uses the training statistics.
        let test = arr2(&[[3.0, 20.0, 6.0]]);
        assert_eq!(s.transform(&test)[[0, 0]], 0.0);
        assert_eq!(s.transform(&test)[[0, 2]], 1e6);
    }

    #[test]
    fn many_f32_values_keep_f64_accuracy() {
        // 4 million values alternating 0.1 and 0.3: mean 0.2, σ 0.1 exactly.
        let x = Array2::from_shape_fn((2_000_000, 2), |(i, j)| if (i + j) % 2 == 0 { 0.1_f32 } else { 0.3 });
        let s = Standardizer::fit_channels(&x, 1, 1e-6);
        assert!((s.mean[0] - 0.2).abs() < 1e-6, "{}", s.mean[0]);
        assert!((s.scale[0] - 0.1).abs() < 1e-6, "{}", s.scale[0]);
    }

    #[test]
    fn per_channel_statistics() {
        // Two channels of two features each.
        let x = arr2(&[[0.0_f32, 2.0, 10.0, 10.0], [2.0, 4.0, 30.0, 30.0]]);
        let s = Standardizer::fit_channels(&x, 2, 1e-6);
        assert_eq!(s.mean, ndarray::arr1(&[2.0, 2.0, 20.0, 20.0]));
        assert!((s.scale[0] - 2.0_f32.sqrt()).abs() < 1e-6);
        assert_eq!(s.scale[2], 10.0);
    }
}
