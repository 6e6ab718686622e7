//! Normalisation: `batch_norm` (statistics per channel over the batch and
//! every spatial position, training mode) and `layer_norm` (statistics per
//! row over the last axis). Both compute `x̂ = (x − μ)/√(σ² + ε)` with the
//! biased variance, then `y = γ·x̂ + β`.
//!
//! With m the number of elements sharing one μ and σ, and g = ∂C/∂y:
//! ∂C/∂β = Σ g, ∂C/∂γ = Σ g·x̂, and with ĝ = γ·g,
//! ∂C/∂x = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))/√(σ² + ε) within each group. μ and σ
//! are computed again in the VJP (two passes over x, cheaper than storing
//! x̂); the variance is the mean of squared deviations, never E[x²] − μ²,
//! which cancels catastrophically.

use ndarray::{Array, Array1, ArrayRef, ArrayRef1, Dimension};

use crate::float::Float;
use crate::workspace::{recycle_array, take_scratch, zeros};

/// Mean and 1/√(σ² + ε) of groups of elements: `group(i)` lists the
/// contiguous runs of group `i` as (start, len) through the callback.
fn statistics<F: Float>(
    x: &[F],
    groups: usize,
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
    eps: F,
) -> (Array1<F>, Array1<F>) {
    let (mut mean, mut inv_std): (Array1<F>, Array1<F>) = (zeros(groups), zeros(groups));
    for k in 0..groups {
        let (mut sum, mut count) = (F::zero(), 0);
        runs(k, &mut |start, len| {
            sum = x[start..start + len].iter().fold(sum, |s, &v| s + v);
            count += len;
        });
        let mu = sum / F::of_usize(count.max(1));
        let mut squares = F::zero();
        runs(k, &mut |start, len| {
            squares = x[start..start + len]
                .iter()
                .fold(squares, |s, &v| s + (v - mu) * (v - mu));
        });
        mean[k] = mu;
        inv_std[k] = F::one() / (squares / F::of_usize(count.max(1)) + eps).sqrt();
    }
    (mean, inv_std)
}

/// Which (start, len) runs of a standard-layout `[n, c, rest]` array belong to channel `k`.
fn channel_runs(n: usize, c: usize, rest: usize) -> impl Fn(usize, &mut dyn FnMut(usize, usize)) {
    move |k, f| {
        for i in 0..n {
            f((i * c + k) * rest, rest);
        }
    }
}

/// The runs of row `k` of a standard-layout array whose last axis has `d` elements.
fn row_runs(d: usize) -> impl Fn(usize, &mut dyn FnMut(usize, usize)) {
    move |k, f| f(k * d, d)
}

/// The gradients of one normalisation: x, γ and β, each when `need`ed.
/// `param(k, j)` is the index of γ for element j of run group k.
#[allow(clippy::too_many_arguments)]
fn backward<F: Float, D: Dimension>(
    x: &ArrayRef<F, D>,
    gamma: &ArrayRef1<F>,
    g: &Array<F, D>,
    groups: usize,
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
    param: impl Fn(usize, usize) -> usize,
    eps: F,
    need: [bool; 3],
) -> (Option<Array<F, D>>, Option<Array1<F>>, Option<Array1<F>>) {
    let x = x.as_standard_layout();
    let g = g.as_standard_layout();
    let (xs, gs) = (
        x.as_slice().expect("standard layout"),
        g.as_slice().expect("standard layout"),
    );
    let (mean, inv_std) = statistics(xs, groups, runs, eps);
    let (mut g_gamma, mut g_beta): (Array1<F>, Array1<F>) = (zeros(gamma.len()), zeros(gamma.len()));
    let mut gx: Option<Array<F, D>> = need[0].then(|| take_scratch(x.raw_dim()));
    for k in 0..groups {
        let (mu, s) = (mean[k], inv_std[k]);
        // Σĝ and Σĝ·x̂ over the group, and the γ, β sums on the way.
        let (mut sum_gh, mut sum_ghx, mut count) = (F::zero(), F::zero(), 0);
        runs(k, &mut |start, len| {
            for j in start..start + len {
                let (xhat, p) = ((xs[j] - mu) * s, param(k, j));
                g_gamma[p] += gs[j] * xhat;
                g_beta[p] += gs[j];
                let gh = gs[j] * gamma[p];
                sum_gh += gh;
                sum_ghx += gh * xhat;
            }
            count += len;
        });
        if let Some(gx) = gx.as_mut() {
            let out = gx.as_slice_mut().expect("a new array is contiguous");
            let m = F::of_usize(count.max(1));
            let (mean_gh, mean_ghx) = (sum_gh / m, sum_ghx / m);
            runs(k, &mut |start, len| {
                for j in start..start + len {
                    let xhat = (xs[j] - mu) * s;
                    out[j] = (gs[j] * gamma[param(k, j)] - mean_gh - xhat * mean_ghx) * s;
                }
            });
        }
    }
    recycle_array(mean);
    recycle_array(inv_std);
    let g_gamma = if need[1] {
        Some(g_gamma)
    } else {
        recycle_array(g_gamma);
        None
    };
    let g_beta = if need[2] {
        Some(g_beta)
    } else {
        recycle_array(g_beta);
        None
    };
    (gx, g_gamma, g_beta)
}

/// `[n, c, rest]` of a batch-norm input, checked against γ and β.
/// The inputs' tangents as the rules take them: `None` is zero.
struct Tangents<'a, F, D: Dimension> {
    x: Option<&'a ArrayRef<F, D>>,
    gamma: Option<&'a ArrayRef1<F>>,
    beta: Option<&'a ArrayRef1<F>>,
}

/// The tangent rules of both normalisations, per group (see the module's
/// docs for the first order). With ẋ̂ = (ẋ − mean ẋ − x̂·mean(x̂ẋ))·s, s =
/// 1/√(σ² + ε): ẏ = γ̇·x̂ + γ·ẋ̂ + β̇. With ĝ = γ·g, ġ̂ = γ·ġ + γ̇·g and
/// A = ĝ − mean ĝ − x̂·mean(ĝx̂) (so that ∂C/∂x = s·A): the tangent of ∂C/∂x
/// is s·(Ȧ − mean(x̂ẋ)·s·A), with Ȧ = ġ̂ − mean ġ̂ − ẋ̂·mean(ĝx̂) −
/// x̂·mean(ġ̂x̂ + ĝẋ̂) (s changes by −mean(x̂ẋ)·s²); those of ∂C/∂γ and ∂C/∂β
/// are Σ(ġ·x̂ + g·ẋ̂) and Σ ġ. Returns ẏ when `g` is `None`, else the three
/// tangents of the gradients asked for.
// Indices shared by several arrays of a group's runs.
#[allow(clippy::too_many_arguments, clippy::type_complexity, clippy::needless_range_loop)]
fn tangents<F: Float, D: Dimension>(
    x: &ArrayRef<F, D>,
    gamma: &ArrayRef1<F>,
    t: Tangents<'_, F, D>,
    g: Option<(&Array<F, D>, Option<&Array<F, D>>)>,
    groups: usize,
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
    param: impl Fn(usize, usize) -> usize,
    eps: F,
    need: [bool; 3],
) -> (Option<Array<F, D>>, Option<Array1<F>>, Option<Array1<F>>) {
    let zero = F::zero();
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let tx = t.x.map(|t| t.as_standard_layout());
    let txs = tx.as_ref().map(|t| t.as_slice().expect("standard layout"));
    let tgamma = |p: usize| t.gamma.map_or(zero, |t| t[p]);
    let (mean, inv_std) = statistics(xs, groups, runs, eps);
    let mut out: Array<F, D> = zeros(x.raw_dim());
    let (mut t_gamma, mut t_beta): (Array1<F>, Array1<F>) = (zeros(gamma.len()), zeros(gamma.len()));
    let g = g.map(|(g, tg)| (g.as_standard_layout(), tg.map(|t| t.as_standard_layout())));
    let gs = g.as_ref().map(|(g, tg)| {
        let tgs = tg.as_ref().map(|t| t.as_slice().expect("standard layout"));
        (g.as_slice().expect("standard layout"), tgs)
    });
    {
        let out = out.as_slice_mut().expect("a new array is contiguous");
        for k in 0..groups {
            let (mu, s) = (mean[k], inv_std[k]);
            let xhat = |j: usize| (xs[j] - mu) * s;
            // mean ẋ and mean x̂ẋ, for ẋ̂.
            let (mut sum_tx, mut sum_xtx, mut count) = (zero, zero, 0);
            runs(k, &mut |start, len| {
                if let Some(txs) = txs {
                    for j in start..start + len {
                        sum_tx += txs[j];
                        sum_xtx += xhat(j) * txs[j];
                    }
                }
                count += len;
            });
            let m = F::of_usize(count.max(1));
            let (mean_tx, mean_xtx) = (sum_tx / m, sum_xtx / m);
            let txhat = |j: usize| txs.map_or(zero, |txs| (txs[j] - mean_tx - xhat(j) * mean_xtx) * s);
            let Some((gs, tgs)) = gs else {
                runs(k, &mut |start, len| {
                    for j in start..start + len {
                        let p = param(k, j);
                        out[j] = tgamma(p) * xhat(j) + gamma[p] * txhat(j) + t.beta.map_or(zero, |b| b[p]);
                    }
                });
                continue;
            };
            let tg = |j: usize| tgs.map_or(zero, |t| t[j]);
            let (mut sum_gh, mut sum_ghx, mut sum_tgh, mut sum_tghx, mut sum_ghtx) = (zero, zero, zero, zero, zero);
            runs(k, &mut |start, len| {
                for j in start..start + len {
                    let p = param(k, j);
                    let (gh, tgh) = (gs[j] * gamma[p], tg(j) * gamma[p] + gs[j] * tgamma(p));
                    sum_gh += gh;
                    sum_ghx += gh * xhat(j);
                    sum_tgh += tgh;
                    sum_tghx += tgh * xhat(j);
                    sum_ghtx += gh * txhat(j);
                    t_gamma[p] += tg(j) * xhat(j) + gs[j] * txhat(j);
                    t_beta[p] += tg(j);
                }
            });
            let (mean_gh, mean_ghx, mean_tgh) = (sum_gh / m, sum_ghx / m, sum_tgh / m);
            let mean_second = (sum_tghx + sum_ghtx) / m;
            if need[0] {
                runs(k, &mut |start, len| {
                    for j in start..start + len {
                        let p = param(k, j);
                        let (gh, tgh) = (gs[j] * gamma[p], tg(j) * gamma[p] + gs[j] * tgamma(p));
                        let a = gh - mean_gh - xhat(j) * mean_ghx;
                        let ta = tgh - mean_tgh - txhat(j) * mean_ghx - xhat(j) * mean_second;
                        out[j] = s * (ta - mean_xtx * s * a);
                    }
                });
            }
        }
    }
    recycle_array(mean);
    recycle_array(inv_std);
    if g.is_none() {
        return (Some(out), None, None);
    }
    (
        need[0].then_some(out),
        need[1].then_some(t_gamma),
        need[2].then_some(t_beta),
    )
}

fn channels<F, D: Dimension>(x: &ArrayRef<F, D>, gamma: &ArrayRef1<F>, beta: &ArrayRef1<F>) -> (usize, usize, usize) {
    if x.ndim() < 2 {
        panic!(
            "batch_norm: x has shape {:?}; it needs a batch axis and a channel axis",
            x.shape()
        );
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    if gamma.len() != c || beta.len() != c {
        panic!(
            "batch_norm: x has shape {:?} ({c} channels) but gamma has shape {:?} and beta {:?}; both must be [{c}]",
            x.shape(),
            gamma.shape(),
            beta.shape()
        );
    }
    if n * x.shape()[2..].iter().product::<usize>() == 0 {
        panic!(
            "batch_norm: x has shape {:?}: no elements to take statistics of",
            x.shape()
        );
    }
    (n, c, x.shape()[2..].iter().product())
}

/// `[rows, d]` of a layer-norm input, checked against γ and β.
fn rows<F, D: Dimension>(x: &ArrayRef<F, D>, gamma: &ArrayRef1<F>, beta: &ArrayRef1<F>) -> (usize, usize) {
    let Some(&d) = x.shape().last() else {
        panic!("layer_norm: x is a scalar (shape []); it normalises over its last axis");
    };
    if gamma.len() != d || beta.len() != d {
        panic!(
            "layer_norm: x has shape {:?} (last axis {d}) but gamma has shape {:?} and beta {:?}; both must be [{d}]",
            x.shape(),
            gamma.shape(),
            beta.shape()
        );
    }
    if d == 0 {
        panic!(
            "layer_norm: x has shape {:?}: an empty last axis has no statistics",
            x.shape()
        );
    }
    (x.len() / d, d)
}

/// `y = γ·x̂ + β` for every group, in a new array of x's shape.
fn normalise<F: Float, D: Dimension>(
    x: &ArrayRef<F, D>,
    gamma: &ArrayRef1<F>,
    beta: &ArrayRef1<F>,
    groups: usize,
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
    param: impl Fn(usize, usize) -> usize,
    eps: F,
) -> Array<F, D> {
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let (mean, inv_std) = statistics(xs, groups, runs, eps);
    let mut y: Array<F, D> = take_scratch(x.raw_dim());
    let out = y.as_slice_mut().expect("a new array is contiguous");
    for k in 0..groups {
        let (mu, s) = (mean[k], inv_std[k]);
        runs(k, &mut |start, len| {
            for j in start..start + len {
                let p = param(k, j);
                out[j] = gamma[p] * (xs[j] - mu) * s + beta[p];
            }
        });
    }
    recycle_array(mean);
    recycle_array(inv_std);
    y
}

crate::module! {
    /// Batch normalisation in training mode, as `F.batch_norm(x, None, None,
    /// gamma, beta, training=True, eps=eps)`: every channel (axis 1) of `x`
    /// `[n, c, ...]` normalised by the mean and biased variance of that
    /// channel over the batch and every other axis, then scaled by `gamma`
    /// `[c]` and shifted by `beta` `[c]`. Running averages for evaluation
    /// are constant code beside it (see [`batch_statistics`]).
    ///
    /// # Panics
    /// If `x` has fewer than 2 axes or no elements, or `gamma`, `beta` are not `[c]`.
    pub fn batch_norm<F: Float, D: Dimension>(x: &ArrayRef<F, D>, gamma: &ArrayRef1<F>, beta: &ArrayRef1<F>, eps: F) -> Array<F, D> {
        let (n, c, rest) = channels(x, gamma, beta);
        normalise(x, gamma, beta, c, &channel_runs(n, c, rest), |k, _| k, eps)
    }

    backward(y, g, need) {
        let (n, c, rest) = channels(x, gamma, beta);
        crate::value::check_shape("batch_norm", "output", x.shape(), g.shape());
        let (gx, g_gamma, g_beta) =
            backward(x, gamma, &g, c, &channel_runs(n, c, rest), |k, _| k, eps, [need.x, need.gamma, need.beta]);
        recycle_array(g);
        grad x: Array<F, D> = gx.expect("asked for");
        grad gamma: Array1<F> = g_gamma.expect("asked for");
        grad beta: Array1<F> = g_beta.expect("asked for");
    }

    /// See `tangents`: the same algebra per channel.
    tangent(y) {
        let (n, c, rest) = channels(x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        tangents(x, gamma, t, None, c, &channel_runs(n, c, rest), |k, _| k, eps, [true; 3]).0.expect("ẏ")
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (n, c, rest) = channels(x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        let flags = [need.x, need.gamma, need.beta];
        let (tx, tgamma, tbeta) = tangents(x, gamma, t, Some((g, g_t)), c, &channel_runs(n, c, rest), |k, _| k, eps, flags);
        grad x: Array<F, D> = tx.expect("asked for");
        grad gamma: Array1<F> = tgamma.expect("asked for");
        grad beta: Array1<F> = tbeta.expect("asked for");
    }

    gradcheck {
        x: random([4, 3]), gamma: random([3]), beta: random([3]), eps: 1e-5;
        x: random([3, 2, 2, 3]), gamma: random([2]), beta: random([2]), eps: 1e-5;
        x: random([2, 3, 4]), gamma: random([3]), beta: random([3]), eps: 0.1;
    }
}

/// The per-channel mean and biased variance of a batch, as [`batch_norm`]
/// uses them: to keep running averages for evaluation, e.g.
/// `running = 0.9·running + 0.1·batch` (PyTorch keeps the unbiased variance
/// there; multiply by m/(m − 1) for the same numbers).
pub fn batch_statistics<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> (Array1<F>, Array1<F>) {
    if x.ndim() < 2 {
        panic!(
            "batch_statistics: x has shape {:?}; it needs a batch axis and a channel axis",
            x.shape()
        );
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let rest = x.shape()[2..].iter().product();
    let standard = x.as_standard_layout();
    let (mean, inv_std) = statistics(
        standard.as_slice().expect("standard layout"),
        c,
        &channel_runs(n, c, rest),
        F::zero(),
    );
    let var = inv_std.mapv(|s| F::one() / (s * s));
    (mean, var)
}

crate::module! {
    /// Layer normalisation over the last axis, as `F.layer_norm(x, [d],
    /// gamma, beta, eps)`: every row of `x` `[..., d]` normalised by its own
    /// mean and biased variance, then scaled by `gamma` `[d]` and shifted by
    /// `beta` `[d]`.
    ///
    /// # Panics
    /// If `x` is a scalar or its last axis is empty, or `gamma`, `beta` are not `[d]`.
    pub fn layer_norm<F: Float, D: Dimension>(x: &ArrayRef<F, D>, gamma: &ArrayRef1<F>, beta: &ArrayRef1<F>, eps: F) -> Array<F, D> {
        let (n, d) = rows(x, gamma, beta);
        normalise(x, gamma, beta, n, &row_runs(d), move |_, j| j % d, eps)
    }

    backward(y, g, need) {
        let (n, d) = rows(x, gamma, beta);
        crate::value::check_shape("layer_norm", "output", x.shape(), g.shape());
        let (gx, g_gamma, g_beta) =
            backward(x, gamma, &g, n, &row_runs(d), move |_, j| j % d, eps, [need.x, need.gamma, need.beta]);
        recycle_array(g);
        grad x: Array<F, D> = gx.expect("asked for");
        grad gamma: Array1<F> = g_gamma.expect("asked for");
        grad beta: Array1<F> = g_beta.expect("asked for");
    }

    /// See `tangents`: the same algebra per row.
    tangent(y) {
        let (n, d) = rows(x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        tangents(x, gamma, t, None, n, &row_runs(d), move |_, j| j % d, eps, [true; 3]).0.expect("ẏ")
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (n, d) = rows(x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        let flags = [need.x, need.gamma, need.beta];
        let (tx, tgamma, tbeta) = tangents(x, gamma, t, Some((g, g_t)), n, &row_runs(d), move |_, j| j % d, eps, flags);
        grad x: Array<F, D> = tx.expect("asked for");
        grad gamma: Array1<F> = tgamma.expect("asked for");
        grad beta: Array1<F> = tbeta.expect("asked for");
    }

    gradcheck {
        x: random([4, 5]), gamma: random([5]), beta: random([5]), eps: 1e-5;
        x: random([2, 3, 4]), gamma: random([4]), beta: random([4]), eps: 1e-5;
        x: random([3]), gamma: random([3]), beta: random([3]), eps: 0.1;
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, Array4, Axis, array, s};

    use super::*;

    #[test]
    fn batch_norm_output_has_zero_mean_and_unit_variance_per_channel() {
        crate::check::reset_seed();
        let x: Array4<f64> = crate::check::random([4, 3, 2, 5]);
        let y = batch_norm(&x, &Array1::ones(3), &Array1::zeros(3), 0.0);
        for c in 0..3 {
            let channel = y.index_axis(Axis(1), c);
            let mean = channel.mean().unwrap();
            let var = channel.mapv(|v| (v - mean).powi(2)).mean().unwrap();
            assert!(
                mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12,
                "channel {c}: {mean}, {var}"
            );
        }
        let (mean, var) = batch_statistics(&x);
        assert!((mean[1] - x.index_axis(Axis(1), 1).mean().unwrap()).abs() < 1e-12);
        assert!((var[1] - x.index_axis(Axis(1), 1).var(0.0)).abs() < 1e-12);
    }

    #[test]
    fn layer_norm_normalises_each_row_of_a_view() {
        crate::check::reset_seed();
        let x: Array2<f64> = crate::check::random([4, 6]);
        let view = x.slice(s![.., ..;2]);
        let y = layer_norm(&view, &array![2.0, 2.0, 2.0], &array![1.0, 1.0, 1.0], 0.0);
        for row in y.rows() {
            let mean = row.mean().unwrap();
            assert!((mean - 1.0).abs() < 1e-12);
            assert!((row.mapv(|v| (v - mean).powi(2)).mean().unwrap() - 4.0).abs() < 1e-12);
        }
    }

    #[test]
    fn a_constant_channel_gives_beta_not_nan() {
        let x = Array2::from_elem((4, 2), 7.0_f32);
        let y = batch_norm(&x, &array![3.0, 3.0], &array![0.5, -0.5], 1e-5);
        assert_eq!(y.column(0).to_vec(), vec![0.5; 4]);
        let (gx, _, _, _) = batch_norm_vjp(
            &x,
            &array![3.0, 3.0],
            &array![0.5, -0.5],
            1e-5,
            &y,
            Array2::ones((4, 2)),
            [true, true, true, false],
        );
        assert!(gx.unwrap().iter().all(|v| v.is_finite()));
    }

    #[test]
    #[should_panic(
        expected = "batch_norm: x has shape [4, 3] (3 channels) but gamma has shape [2] and beta [3]; both must be [3]"
    )]
    fn batch_norm_parameters_must_match_the_channels() {
        batch_norm(&Array2::<f64>::zeros((4, 3)), &Array1::ones(2), &Array1::zeros(3), 1e-5);
    }

    #[test]
    #[should_panic(expected = "layer_norm: x has shape [4, 3] (last axis 3) but gamma has shape [4] and beta [4]")]
    fn layer_norm_parameters_must_match_the_last_axis() {
        layer_norm(&Array2::<f64>::zeros((4, 3)), &Array1::ones(4), &Array1::zeros(4), 1e-5);
    }
}
