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

use std::cell::{Cell, RefCell};

use ndarray::{Array, Array1, ArrayRef, ArrayRef1, Dimension};

use crate::elementwise::{fold_lanes, lane_sum, on_widest};
use crate::float::Float;
use crate::parallel::{Disjoint, over_items};
use crate::workspace::{recycle_array, take_scratch, zeros};

/// Mean and biased variance of groups of elements: `runs(i, f)` lists the
/// contiguous runs of group `i` as (start, len) through the callback.
fn moments<F: Float>(
    x: &[F],
    groups: usize,
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
) -> (Array1<F>, Array1<F>) {
    let (mut mean, mut var): (Array1<F>, Array1<F>) = (zeros(groups), zeros(groups));
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
        var[k] = squares / F::of_usize(count.max(1));
    }
    (mean, var)
}

/// Mean and 1/√(σ² + ε) of groups of elements (see [`moments`]).
fn statistics<F: Float>(
    x: &[F],
    groups: usize,
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
    eps: F,
) -> (Array1<F>, Array1<F>) {
    let (mean, mut var) = moments(x, groups, runs);
    var.mapv_inplace(|v| F::one() / (v + eps).sqrt());
    (mean, var)
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
    (gx, kept(need[1], g_gamma), kept(need[2], g_beta))
}

/// `a` when asked for; else its buffer goes back to the workspace.
fn kept<F: Float>(asked: bool, a: Array1<F>) -> Option<Array1<F>> {
    if asked {
        Some(a)
    } else {
        recycle_array(a);
        None
    }
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
    fixed: Option<(Array1<F>, Array1<F>)>,
    need: [bool; 3],
) -> (Option<Array<F, D>>, Option<Array1<F>>, Option<Array1<F>>) {
    let zero = F::zero();
    // With `fixed` statistics (μ and s, an evaluation mode) x̂ is affine in
    // x: ẋ̂ = ẋ·s, and the terms through the batch's mean and σ vanish.
    let batch = fixed.is_none();
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let tx = t.x.map(|t| t.as_standard_layout());
    let txs = tx.as_ref().map(|t| t.as_slice().expect("standard layout"));
    let tgamma = |p: usize| t.gamma.map_or(zero, |t| t[p]);
    let (mean, inv_std) = fixed.unwrap_or_else(|| statistics(xs, groups, runs, eps));
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
            let (mean_tx, mean_xtx) = if batch { (sum_tx / m, sum_xtx / m) } else { (zero, zero) };
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
                        let (a, ta) = if batch {
                            (
                                gh - mean_gh - xhat(j) * mean_ghx,
                                tgh - mean_tgh - txhat(j) * mean_ghx - xhat(j) * mean_second,
                            )
                        } else {
                            (gh, tgh)
                        };
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

fn channels<F, D: Dimension>(
    name: &str,
    x: &ArrayRef<F, D>,
    gamma: &ArrayRef1<F>,
    beta: &ArrayRef1<F>,
) -> (usize, usize, usize) {
    if x.ndim() < 2 {
        panic!(
            "{name}: x has shape {:?}; it needs a batch axis and a channel axis",
            x.shape()
        );
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    if gamma.len() != c || beta.len() != c {
        panic!(
            "{name}: x has shape {:?} ({c} channels) but gamma has shape {:?} and beta {:?}; both must be [{c}]",
            x.shape(),
            gamma.shape(),
            beta.shape()
        );
    }
    if n * x.shape()[2..].iter().product::<usize>() == 0 {
        panic!("{name}: x has shape {:?}: no elements to take statistics of", x.shape());
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

/// μ and s = 1/√(σ² + ε) of one row.
#[inline(always)]
fn row_moments<F: Float>(row: &[F], eps: F) -> (F, F) {
    let n = F::of_usize(row.len());
    let mu = lane_sum(row, |v| v) / n;
    let var = lane_sum(row, |v| (v - mu) * (v - mu)) / n;
    (mu, F::one() / (var + eps).sqrt())
}

/// Layer norm's forward pass over the `[n, d]` rows of `x`, rows split over
/// the pool's threads.
fn layer_norm_rows<F: Float, D: Dimension>(
    x: &ArrayRef<F, D>,
    gamma: &ArrayRef1<F>,
    beta: &ArrayRef1<F>,
    d: usize,
    eps: F,
) -> Array<F, D> {
    let x = x.as_standard_layout();
    let (gamma, beta) = (gamma.as_standard_layout(), beta.as_standard_layout());
    let (xs, gamma, beta) = (
        x.as_slice().expect("standard layout"),
        gamma.as_slice().expect("standard layout"),
        beta.as_slice().expect("standard layout"),
    );
    let mut y: Array<F, D> = take_scratch(x.raw_dim());
    let out = Disjoint::new(y.as_slice_mut().expect("a new array is contiguous"));
    over_items(xs.len() / d, xs.len(), &|rows| {
        // SAFETY: the row ranges of different parts are disjoint.
        let out = unsafe { out.part(rows.start * d..rows.end * d) };
        on_widest(
            #[inline(always)]
            || {
                for (row, out) in xs[rows.start * d..rows.end * d]
                    .chunks_exact(d)
                    .zip(out.chunks_exact_mut(d))
                {
                    let (mu, s) = row_moments(row, eps);
                    for (((out, &x), &gamma), &beta) in out.iter_mut().zip(row).zip(gamma).zip(beta) {
                        *out = gamma * (x - mu) * s + beta;
                    }
                }
            },
        );
    });
    y
}

/// ∂C/∂x of one row of layer norm, given its mean and 1/σ: with ĝ = γ·g,
/// (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))/σ. Both means come from one pass, in eight
/// lanes each; the slices are zipped, not indexed, so that the loops
/// vectorise without bounds checks.
#[inline(always)]
fn row_vjp<F: Float>(row: &[F], grow: &[F], gamma: &[F], (mu, s): (F, F), out: &mut [F]) {
    let (mut gh, mut ghx) = ([F::zero(); 8], [F::zero(); 8]);
    let ((xc, xr), (gc, gr), (yc, yr)) = (row.as_chunks::<8>(), grow.as_chunks::<8>(), gamma.as_chunks::<8>());
    for ((x, g), gamma) in xc.iter().zip(gc).zip(yc) {
        for i in 0..8 {
            let v = g[i] * gamma[i];
            gh[i] += v;
            ghx[i] += v * (x[i] - mu);
        }
    }
    let (mut sum_gh, mut sum_ghx) = (fold_lanes(gh), fold_lanes(ghx));
    for ((&x, &g), &gamma) in xr.iter().zip(gr).zip(yr) {
        sum_gh += g * gamma;
        sum_ghx += g * gamma * (x - mu);
    }
    let m = F::of_usize(row.len());
    let (mean_gh, mean_ghx) = (sum_gh / m, sum_ghx * s / m);
    for (((out, &x), &g), &gamma) in out.iter_mut().zip(row).zip(grow).zip(gamma) {
        *out = (g * gamma - mean_gh - (x - mu) * s * mean_ghx) * s;
    }
}

/// Layer norm's VJP over the `[n, d]` rows, in one pass over x and g: the
/// rows go in blocks (split over the threads), each block computes ∂C/∂x of
/// its rows and its own sums for ∂C/∂γ and ∂C/∂β, and the blocks' sums are
/// added in order. The blocks depend on `n` alone, so every thread count
/// gives the same bits; summing by columns instead read every row again, on
/// two threads half of them from the other core's cache.
#[allow(clippy::type_complexity)]
fn layer_norm_rows_vjp<F: Float, D: Dimension>(
    x: &ArrayRef<F, D>,
    gamma: &ArrayRef1<F>,
    g: &Array<F, D>,
    d: usize,
    eps: F,
    need: [bool; 3],
) -> (Option<Array<F, D>>, Option<Array1<F>>, Option<Array1<F>>) {
    let x = x.as_standard_layout();
    let g = g.as_standard_layout();
    let gamma_c = gamma.as_standard_layout();
    let (xs, gs, gamma) = (
        x.as_slice().expect("standard layout"),
        g.as_slice().expect("standard layout"),
        gamma_c.as_slice().expect("standard layout"),
    );
    let n = xs.len().checked_div(d).unwrap_or(0);
    // At most 64 blocks, of at least 16 rows: few partial sums to add.
    let block = n.div_ceil(64).max(16);
    let blocks = n.div_ceil(block);
    let params = need[1] || need[2];
    let mut gx: Option<Array<F, D>> = need[0].then(|| take_scratch(x.raw_dim()));
    // Block b's ∂C/∂γ sums, then its ∂C/∂β sums.
    let mut partial: Array1<F> = zeros(if params { blocks * 2 * d } else { 0 });
    {
        let out = gx
            .as_mut()
            .map(|gx| Disjoint::new(gx.as_slice_mut().expect("a new array is contiguous")));
        let sums = Disjoint::new(partial.as_slice_mut().expect("contiguous"));
        over_items(blocks, xs.len(), &|range| {
            for b in range {
                let rows = b * block..((b + 1) * block).min(n);
                // SAFETY: different blocks' rows and sums are disjoint.
                let mut out = out
                    .as_ref()
                    .map(|out| unsafe { out.part(rows.start * d..rows.end * d) });
                let (sg, sb) = if params {
                    // SAFETY: as above.
                    unsafe { sums.part(b * 2 * d..(b + 1) * 2 * d) }.split_at_mut(d)
                } else {
                    (&mut [][..], &mut [][..])
                };
                on_widest(
                    #[inline(always)]
                    || {
                        for (i, r) in rows.enumerate() {
                            let (row, grow) = (&xs[r * d..(r + 1) * d], &gs[r * d..(r + 1) * d]);
                            let (mu, s) = row_moments(row, eps);
                            if let Some(out) = out.as_mut() {
                                row_vjp(row, grow, gamma, (mu, s), &mut out[i * d..(i + 1) * d]);
                            }
                            for (((sg, sb), &x), &g) in sg.iter_mut().zip(sb.iter_mut()).zip(row).zip(grow) {
                                *sg += g * ((x - mu) * s);
                                *sb += g;
                            }
                        }
                    },
                );
            }
        });
    }
    let (mut g_gamma, mut g_beta): (Array1<F>, Array1<F>) = (zeros(d), zeros(d));
    if params {
        for sums in partial.as_slice().expect("contiguous").chunks_exact(2 * d) {
            let (sg, sb) = sums.split_at(d);
            g_gamma.iter_mut().zip(sg).for_each(|(total, &v)| *total += v);
            g_beta.iter_mut().zip(sb).for_each(|(total, &v)| *total += v);
        }
    }
    recycle_array(partial);
    (gx, kept(need[1], g_gamma), kept(need[2], g_beta))
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
    let y = normalise_with(xs, x.raw_dim(), gamma, beta, (&mean, &inv_std), runs, param);
    recycle_array(mean);
    recycle_array(inv_std);
    y
}

/// `y = γ·(x − μ)·s + β` with the given μ and s = 1/√(σ² + ε) per group.
fn normalise_with<F: Float, D: Dimension>(
    xs: &[F],
    dim: D,
    gamma: &ArrayRef1<F>,
    beta: &ArrayRef1<F>,
    (mean, inv_std): (&Array1<F>, &Array1<F>),
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
    param: impl Fn(usize, usize) -> usize,
) -> Array<F, D> {
    let mut y: Array<F, D> = take_scratch(dim);
    let out = y.as_slice_mut().expect("a new array is contiguous");
    for k in 0..mean.len() {
        let (mu, s) = (mean[k], inv_std[k]);
        runs(k, &mut |start, len| {
            for j in start..start + len {
                let p = param(k, j);
                out[j] = gamma[p] * (xs[j] - mu) * s + beta[p];
            }
        });
    }
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
        let (n, c, rest) = channels("batch_norm", x, gamma, beta);
        normalise(x, gamma, beta, c, &channel_runs(n, c, rest), |k, _| k, eps)
    }

    backward(y, g, need) {
        let (n, c, rest) = channels("batch_norm", x, gamma, beta);
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
        let (n, c, rest) = channels("batch_norm", x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        tangents(x, gamma, t, None, c, &channel_runs(n, c, rest), |k, _| k, eps, None, [true; 3]).0.expect("ẏ")
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (n, c, rest) = channels("batch_norm", x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        let flags = [need.x, need.gamma, need.beta];
        let (tx, tgamma, tbeta) = tangents(x, gamma, t, Some((g, g_t)), c, &channel_runs(n, c, rest), |k, _| k, eps, None, flags);
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

/// The running averages of a batch-normalised layer's per-channel
/// statistics, for evaluation: PyTorch's `running_mean` and `running_var`.
/// They start at 0 and 1; every training-mode call of
/// [`batch_norm_running`] moves them a fraction `momentum` (0.1 unless set)
/// towards the batch's mean and unbiased variance, as PyTorch does.
///
/// They change inside a forward pass, which only reads its constant
/// arguments, so the averages sit behind a `RefCell`; a `RunningStats` is
/// passed by shared reference like any other constant.
///
/// ```
/// use autodiff_runtime::modules::{RunningStats, batch_norm_running};
/// use ndarray::{Array1, array};
///
/// let stats = RunningStats::<f64>::new(2);
/// let x = array![[1.0, 10.0], [3.0, 30.0]];
/// let (gamma, beta) = (Array1::ones(2), Array1::zeros(2));
/// batch_norm_running(&x, &gamma, &beta, &stats, true, 1e-5);
/// // 0.9·0 + 0.1·2 and 0.9·1 + 0.1·2 (the unbiased variance of 1 and 3).
/// assert!((stats.mean()[0] - 0.2).abs() < 1e-12);
/// assert!((stats.var()[0] - 1.1).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct RunningStats<F> {
    mean: RefCell<Array1<F>>,
    var: RefCell<Array1<F>>,
    momentum: F,
    updates: Cell<usize>,
}

impl<F: Float> RunningStats<F> {
    /// Averages for `channels` channels: mean 0, variance 1, momentum 0.1.
    pub fn new(channels: usize) -> Self {
        Self::from_arrays(Array1::zeros(channels), Array1::ones(channels))
    }

    /// Averages that start from the given mean and (unbiased) variance.
    ///
    /// # Panics
    /// If the two lengths differ or a variance is negative.
    pub fn from_arrays(mean: Array1<F>, var: Array1<F>) -> Self {
        if mean.len() != var.len() {
            panic!(
                "RunningStats: mean has {} channels but var has {}",
                mean.len(),
                var.len()
            );
        }
        if let Some(v) = var.iter().find(|v| v.is_nan() || **v < F::zero()) {
            panic!("RunningStats: a variance of {v}: variances are at least 0");
        }
        RunningStats {
            mean: RefCell::new(mean),
            var: RefCell::new(var),
            momentum: F::of(0.1),
            updates: Cell::new(0),
        }
    }

    /// The same averages, moved by `momentum` (in (0, 1]) at each update.
    ///
    /// # Panics
    /// If `momentum` is outside (0, 1].
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        if !(momentum > 0.0 && momentum <= 1.0) {
            panic!("RunningStats: momentum {momentum} is outside (0, 1]");
        }
        self.momentum = F::of(momentum);
        self
    }

    /// The running mean per channel.
    pub fn mean(&self) -> Array1<F> {
        self.mean.borrow().clone()
    }

    /// The running (unbiased) variance per channel.
    pub fn var(&self) -> Array1<F> {
        self.var.borrow().clone()
    }

    /// How many training-mode batches have been averaged in.
    pub fn updates(&self) -> usize {
        self.updates.get()
    }

    /// How many channels the averages are kept for.
    pub fn channels(&self) -> usize {
        self.mean.borrow().len()
    }

    /// Moves the averages towards a batch's mean and biased variance over
    /// `count` elements per channel (the variance kept is unbiased).
    fn record(&self, mean: &Array1<F>, biased_var: &Array1<F>, count: usize) {
        let m = self.momentum;
        let keep = F::one() - m;
        let unbias = if count > 1 {
            F::of_usize(count) / F::of_usize(count - 1)
        } else {
            F::one()
        };
        ndarray::Zip::from(&mut *self.mean.borrow_mut())
            .and(mean)
            .for_each(|r, &b| *r = keep * *r + m * b);
        ndarray::Zip::from(&mut *self.var.borrow_mut())
            .and(biased_var)
            .for_each(|r, &b| *r = keep * *r + m * b * unbias);
        self.updates.set(self.updates.get() + 1);
    }

    /// The running mean and 1/√(σ² + ε), as the evaluation mode uses them.
    fn inverse_std(&self, eps: F) -> (Array1<F>, Array1<F>) {
        (self.mean(), self.var.borrow().mapv(|v| F::one() / (v + eps).sqrt()))
    }
}

fn check_stats<F: Float>(stats: &RunningStats<F>, c: usize) {
    if stats.channels() != c {
        panic!(
            "batch_norm_running: x has {c} channels (axis 1) but the running statistics have {}",
            stats.channels()
        );
    }
}

crate::module! {
    /// Batch normalisation with running statistics, as PyTorch's
    /// `nn.BatchNorm` (or `F.batch_norm(x, running_mean, running_var, gamma,
    /// beta, training, momentum, eps)`). In training mode it is
    /// [`batch_norm`] (the batch's own statistics, differentiated through)
    /// and it moves `stats` towards them; in evaluation mode
    /// (`training = false`) every channel is normalised by `stats`' running
    /// mean and variance, which are constants: each output then depends on
    /// its own input alone, so a batch of one is normalised as it would be
    /// in any batch.
    ///
    /// # Panics
    /// As [`batch_norm`], and if `stats` has another number of channels.
    pub fn batch_norm_running<F: Float, D: Dimension>(
        x: &ArrayRef<F, D>,
        gamma: &ArrayRef1<F>,
        beta: &ArrayRef1<F>,
        stats: &RunningStats<F>,
        training: bool,
        eps: F,
    ) -> Array<F, D> {
        let (n, c, rest) = channels("batch_norm_running", x, gamma, beta);
        check_stats(stats, c);
        let runs = channel_runs(n, c, rest);
        let standard = x.as_standard_layout();
        let xs = standard.as_slice().expect("standard layout");
        let (mean, inv_std) = if training {
            let (mean, mut var) = moments(xs, c, &runs);
            stats.record(&mean, &var, n * rest);
            var.mapv_inplace(|v| F::one() / (v + eps).sqrt());
            (mean, var)
        } else {
            stats.inverse_std(eps)
        };
        let y = normalise_with(xs, standard.raw_dim(), gamma, beta, (&mean, &inv_std), &runs, |k, _| k);
        recycle_array(mean);
        recycle_array(inv_std);
        y
    }

    /// Training mode: [`batch_norm`]'s. Evaluation mode: the per-channel
    /// affine map's, `g·γ·s` to x, Σ g·(x − μ)·s to γ, Σ g to β.
    backward(y, g, need) {
        let (n, c, rest) = channels("batch_norm_running", x, gamma, beta);
        check_stats(stats, c);
        crate::value::check_shape("batch_norm_running", "output", x.shape(), g.shape());
        let flags = [need.x, need.gamma, need.beta];
        let (gx, g_gamma, g_beta) = if training {
            backward(x, gamma, &g, c, &channel_runs(n, c, rest), |k, _| k, eps, flags)
        } else {
            affine_backward(x, gamma, &g, stats.inverse_std(eps), &channel_runs(n, c, rest), flags)
        };
        recycle_array(g);
        grad x: Array<F, D> = gx.expect("asked for");
        grad gamma: Array1<F> = g_gamma.expect("asked for");
        grad beta: Array1<F> = g_beta.expect("asked for");
    }

    /// See `tangents`: training mode as [`batch_norm`]; in evaluation mode
    /// the running statistics are constants.
    tangent(y) {
        let (n, c, rest) = channels("batch_norm_running", x, gamma, beta);
        check_stats(stats, c);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        let fixed = (!training).then(|| stats.inverse_std(eps));
        tangents(x, gamma, t, None, c, &channel_runs(n, c, rest), |k, _| k, eps, fixed, [true; 3]).0.expect("ẏ")
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (n, c, rest) = channels("batch_norm_running", x, gamma, beta);
        check_stats(stats, c);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        let fixed = (!training).then(|| stats.inverse_std(eps));
        let flags = [need.x, need.gamma, need.beta];
        let (tx, tgamma, tbeta) =
            tangents(x, gamma, t, Some((g, g_t)), c, &channel_runs(n, c, rest), |k, _| k, eps, fixed, flags);
        grad x: Array<F, D> = tx.expect("asked for");
        grad gamma: Array1<F> = tgamma.expect("asked for");
        grad beta: Array1<F> = tbeta.expect("asked for");
    }

    gradcheck {
        x: random([4, 3]), gamma: random([3]), beta: random([3]),
            stats: RunningStats::from_arrays(random([3]), uniform([3], 0.5, 2.0)), training: true, eps: 1e-5;
        x: random([4, 3]), gamma: random([3]), beta: random([3]),
            stats: RunningStats::from_arrays(random([3]), uniform([3], 0.5, 2.0)), training: false, eps: 1e-5;
        x: random([3, 2, 2, 3]), gamma: random([2]), beta: random([2]),
            stats: RunningStats::from_arrays(random([2]), uniform([2], 0.5, 2.0)), training: false, eps: 0.1;
        x: random([1, 2, 3]), gamma: random([2]), beta: random([2]),
            stats: RunningStats::new(2), training: false, eps: 1e-5;
    }
}

/// The gradients of `y = γ·(x − μ)·s + β` with μ and s constant per channel.
fn affine_backward<F: Float, D: Dimension>(
    x: &ArrayRef<F, D>,
    gamma: &ArrayRef1<F>,
    g: &Array<F, D>,
    (mean, inv_std): (Array1<F>, Array1<F>),
    runs: &impl Fn(usize, &mut dyn FnMut(usize, usize)),
    need: [bool; 3],
) -> (Option<Array<F, D>>, Option<Array1<F>>, Option<Array1<F>>) {
    let x = x.as_standard_layout();
    let g = g.as_standard_layout();
    let (xs, gs) = (
        x.as_slice().expect("standard layout"),
        g.as_slice().expect("standard layout"),
    );
    // Every element of every channel is written below.
    let mut gx: Option<Array<F, D>> = need[0].then(|| take_scratch(x.raw_dim()));
    let (mut g_gamma, mut g_beta): (Array1<F>, Array1<F>) = (zeros(gamma.len()), zeros(gamma.len()));
    for k in 0..gamma.len() {
        let (mu, s) = (mean[k], inv_std[k]);
        let scale = gamma[k] * s;
        let (mut sum_gx, mut sum_g) = (F::zero(), F::zero());
        let mut out = gx
            .as_mut()
            .map(|a| a.as_slice_mut().expect("a new array is contiguous"));
        runs(k, &mut |start, len| {
            for j in start..start + len {
                sum_gx += gs[j] * (xs[j] - mu) * s;
                sum_g += gs[j];
            }
            if let Some(out) = out.as_deref_mut() {
                for j in start..start + len {
                    out[j] = gs[j] * scale;
                }
            }
        });
        g_gamma[k] = sum_gx;
        g_beta[k] = sum_g;
    }
    (gx, need[1].then_some(g_gamma), need[2].then_some(g_beta))
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
        let (_, d) = rows(x, gamma, beta);
        layer_norm_rows(x, gamma, beta, d, eps)
    }

    backward(y, g, need) {
        let (_, d) = rows(x, gamma, beta);
        crate::value::check_shape("layer_norm", "output", x.shape(), g.shape());
        let (gx, g_gamma, g_beta) = layer_norm_rows_vjp(x, gamma, &g, d, eps, [need.x, need.gamma, need.beta]);
        recycle_array(g);
        grad x: Array<F, D> = gx.expect("asked for");
        grad gamma: Array1<F> = g_gamma.expect("asked for");
        grad beta: Array1<F> = g_beta.expect("asked for");
    }

    /// See `tangents`: the same algebra per row.
    tangent(y) {
        let (n, d) = rows(x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        tangents(x, gamma, t, None, n, &row_runs(d), move |_, j| j % d, eps, None, [true; 3]).0.expect("ẏ")
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (n, d) = rows(x, gamma, beta);
        let t = Tangents { x: x_t, gamma: gamma_t, beta: beta_t };
        let flags = [need.x, need.gamma, need.beta];
        let (tx, tgamma, tbeta) = tangents(x, gamma, t, Some((g, g_t)), n, &row_runs(d), move |_, j| j % d, eps, None, flags);
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

    /// The row kernels, split over threads for a large input, against the
    /// generic passes over groups (one group per row).
    #[test]
    fn layer_norm_rows_agree_with_the_grouped_passes() {
        use crate::testing::random;
        // 96k elements: above the size at which rows are split over threads.
        let (n, d) = (375, 256);
        let x: Array2<f64> = random((n, d), 11);
        let (gamma, beta): (Array1<f64>, Array1<f64>) = (random(d, 12), random(d, 13));
        let g: Array2<f64> = random((n, d), 14);
        let want = normalise(&x, &gamma, &beta, n, &row_runs(d), move |_, j| j % d, 1e-5);
        let got = layer_norm(&x, &gamma, &beta, 1e-5);
        assert!((&got - &want).iter().all(|e| e.abs() < 1e-12));
        let (wx, wg, wb) = backward(&x, &gamma, &g, n, &row_runs(d), move |_, j| j % d, 1e-5, [true; 3]);
        let (gx, gg, gb) = layer_norm_rows_vjp(&x, &gamma, &g, d, 1e-5, [true; 3]);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-10);
        assert!(close(gx.unwrap().as_slice().unwrap(), wx.unwrap().as_slice().unwrap()));
        assert!(close(gg.unwrap().as_slice().unwrap(), wg.unwrap().as_slice().unwrap()));
        assert!(close(gb.unwrap().as_slice().unwrap(), wb.unwrap().as_slice().unwrap()));
    }

    /// The VJP split over the pool's threads and on one thread (inside a
    /// task of a join, where work is not split again) gives the same bits.
    #[test]
    fn layer_norm_vjp_bits_do_not_depend_on_the_threads() {
        use crate::testing::random;
        let (n, d) = (375, 256);
        let x: Array2<f32> = random((n, d), 21).mapv(|v| v as f32);
        let g: Array2<f32> = random((n, d), 22).mapv(|v| v as f32);
        let gamma: Array1<f32> = random(d, 23).mapv(|v| v as f32);
        let split = layer_norm_rows_vjp(&x, &gamma, &g, d, 1e-5, [true; 3]);
        let (alone, _) = crate::parallel::join(|| layer_norm_rows_vjp(&x, &gamma, &g, d, 1e-5, [true; 3]), || ());
        assert_eq!(split, alone);
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

    #[test]
    fn training_mode_is_batch_norm_and_moves_the_averages_as_pytorch_does() {
        let x = Array4::from_shape_fn((3, 2, 2, 2), |(i, c, h, w)| {
            ((i * 7 + c * 5 + h * 3 + w) % 11) as f64 * 0.3 - c as f64
        });
        let (gamma, beta) = (array![1.5, -0.5], array![0.25, 2.0]);
        let stats = RunningStats::new(2);
        let mut expected_mean = Array1::<f64>::zeros(2);
        let mut expected_var = Array1::<f64>::ones(2);
        for step in 0..3 {
            let x = &x * (1.0 + step as f64);
            let y = batch_norm_running(&x, &gamma, &beta, &stats, true, 1e-5);
            assert_eq!(y, batch_norm(&x, &gamma, &beta, 1e-5));
            // running = 0.9·running + 0.1·batch, with the unbiased variance
            // (m = 3·2·2 = 12 elements per channel).
            let (mean, var) = batch_statistics(&x);
            expected_mean = 0.9 * &expected_mean + 0.1 * &mean;
            expected_var = 0.9 * &expected_var + 0.1 * (&var * 12.0 / 11.0);
            assert_eq!(stats.updates(), step + 1);
        }
        for (got, want) in stats
            .mean()
            .iter()
            .chain(&stats.var())
            .zip(expected_mean.iter().chain(&expected_var))
        {
            assert!((got - want).abs() < 1e-12, "{got} against {want}");
        }
        // Evaluation mode leaves them alone.
        batch_norm_running(&x, &gamma, &beta, &stats, false, 1e-5);
        assert_eq!(stats.updates(), 3);
    }

    #[test]
    fn evaluation_mode_normalises_each_input_alone_by_the_running_statistics() {
        let stats = RunningStats::from_arrays(array![1.0, -2.0], array![4.0, 0.25]);
        let (gamma, beta) = (array![2.0, 1.0], array![0.5, 0.0]);
        let x = array![[3.0, -2.0], [1.0, -1.5], [-1.0, 0.0]];
        let y = batch_norm_running(&x, &gamma, &beta, &stats, false, 0.0);
        assert_eq!(y, array![[2.5, 0.0], [0.5, 1.0], [-1.5, 4.0]]);
        // A batch of one gives its row of the batch's output; training mode
        // on a batch of one would give β whatever the input.
        for i in 0..3 {
            let row = x.slice(s![i..i + 1, ..]).to_owned();
            assert_eq!(
                batch_norm_running(&row, &gamma, &beta, &stats, false, 0.0),
                y.slice(s![i..i + 1, ..])
            );
        }
        let one = batch_norm(&x.slice(s![0..1, ..]).to_owned(), &gamma, &beta, 1e-5);
        assert_eq!(one, array![[0.5, 0.0]]);
    }

    #[test]
    fn evaluation_mode_gradients_are_the_affine_maps() {
        let stats = RunningStats::from_arrays(array![1.0, -2.0], array![4.0, 0.25]);
        let (gamma, beta) = (array![2.0, 1.0], array![0.5, 0.0]);
        let x = array![[3.0, -2.0], [1.0, -1.5]];
        let y = batch_norm_running(&x, &gamma, &beta, &stats, false, 0.0);
        let g = array![[1.0, 2.0], [3.0, -1.0]];
        let (gx, gg, gb, _, _, _) = batch_norm_running_vjp(
            &x,
            &gamma,
            &beta,
            &stats,
            false,
            0.0,
            &y,
            g,
            [true, true, true, false, false, false],
        );
        // s = 1/2 and 2: ∂x = g·γ·s, ∂γ = Σ g·(x − μ)·s, ∂β = Σ g.
        assert_eq!(gx.unwrap(), array![[1.0, 4.0], [3.0, -2.0]]);
        assert_eq!(gg.unwrap(), array![1.0, -1.0]);
        assert_eq!(gb.unwrap(), array![4.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "batch_norm_running: x has 3 channels (axis 1) but the running statistics have 2")]
    fn running_statistics_must_match_the_channels() {
        let x = Array2::<f64>::zeros((4, 3));
        batch_norm_running(
            &x,
            &Array1::ones(3),
            &Array1::zeros(3),
            &RunningStats::new(2),
            true,
            1e-5,
        );
    }

    #[test]
    #[should_panic(expected = "RunningStats: momentum 1.5 is outside (0, 1]")]
    fn momentum_must_be_a_fraction() {
        let _ = RunningStats::<f32>::new(2).with_momentum(1.5);
    }
}
