//! `max_pool2d(x, k, stride)` and `avg_pool2d(x, k, stride)`: `k×k` windows
//! moved `stride` pixels at a time over each channel of x `[n, c, h, w]`,
//! without padding: y `[n, c, (h − k)/s + 1, (w − k)/s + 1]`.
//!
//! Max pooling sends each output's gradient to the maximum of its window, the
//! first one in row-major order on ties (PyTorch's rule); the position is
//! found again from `x` in the VJP rather than stored. Average pooling spreads
//! it evenly, `g/k²` to every element of the window. Overlapping windows
//! (stride < k) add their contributions.

use ndarray::{Array4, ArrayRef4};

use crate::float::Float;
use crate::parallel::{Disjoint, over_items};
use crate::workspace::{take_scratch, zeros};

/// The sizes of one pooling, checked once.
#[derive(Clone, Copy)]
struct Window {
    h: usize,
    w: usize,
    k: usize,
    stride: usize,
    oh: usize,
    ow: usize,
}

impl Window {
    fn of(module: &str, shape: &[usize], k: usize, stride: usize) -> Window {
        let (h, w) = (shape[2], shape[3]);
        if k == 0 || stride == 0 {
            panic!("{module}: the window ({k}) and the stride ({stride}) must be at least 1");
        }
        if k > h || k > w {
            panic!("{module}: the {k}×{k} window does not fit the {h}×{w} input of x {shape:?}");
        }
        Window {
            h,
            w,
            k,
            stride,
            oh: (h - k) / stride + 1,
            ow: (w - k) / stride + 1,
        }
    }

    /// Calls `f(output index, input index)` for every element of every
    /// window of one `h×w` plane, window by window, rows in order.
    fn each(&self, mut f: impl FnMut(usize, usize)) {
        for oy in 0..self.oh {
            for ox in 0..self.ow {
                let out = oy * self.ow + ox;
                for i in 0..self.k {
                    let row = (oy * self.stride + i) * self.w + ox * self.stride;
                    for j in 0..self.k {
                        f(out, row + j);
                    }
                }
            }
        }
    }

    /// The maximum of each window of `plane` into `out`: for 2×2 windows by
    /// selects over whole output rows, which vectorise (the same values as
    /// [`Window::argmax`] finds, NaN passed over alike).
    fn maxima<F: Float>(&self, plane: &[F], out: &mut [F]) {
        if (self.k, self.stride) != (2, 2) {
            self.argmax(plane, |o, at| out[o] = plane[at]);
            return;
        }
        let (w, ow) = (self.w, self.ow);
        let pick = |a: F, b: F| if b > a { b } else { a };
        for (oy, out) in out.chunks_exact_mut(ow).enumerate() {
            let top = 2 * oy * w;
            let (r0, r1) = (&plane[top..top + 2 * ow], &plane[top + w..top + w + 2 * ow]);
            for ((out, r0), r1) in out.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
                *out = pick(pick(pick(r0[0], r0[1]), r1[0]), r1[1]);
            }
        }
    }

    /// The input index of the maximum of each window of `plane`, the first on ties.
    #[inline]
    fn argmax<F: Float>(&self, plane: &[F], mut f: impl FnMut(usize, usize)) {
        let (k, w) = (self.k, self.w);
        if (k, self.stride) == (2, 2) {
            // The usual 2×2 window, unrolled: the generic loops below spent
            // more on their two-long inner loops than on the comparisons.
            for oy in 0..self.oh {
                let top = 2 * oy * w;
                let (r0, r1) = (&plane[top..top + w], &plane[top + w..top + 2 * w]);
                for ox in 0..self.ow {
                    let j = 2 * ox;
                    // Selects, not branches: which value wins is data.
                    let (mut best, mut value) = (j, r0[j]);
                    for (at, v) in [(j + 1, r0[j + 1]), (w + j, r1[j]), (w + j + 1, r1[j + 1])] {
                        let wins = v > value;
                        best = if wins { at } else { best };
                        value = if wins { v } else { value };
                    }
                    f(oy * self.ow + ox, top + best);
                }
            }
            return;
        }
        for oy in 0..self.oh {
            let top = oy * self.stride * w;
            // The window's rows as one slice: `k` rows of `w`, the last one cut at `k` wide.
            let band = &plane[top..top + (k - 1) * w + self.w];
            for ox in 0..self.ow {
                let left = ox * self.stride;
                let mut best = left;
                let mut value = band[left];
                for i in 0..k {
                    let row = &band[i * w + left..i * w + left + k];
                    for (j, &v) in row.iter().enumerate() {
                        if v > value {
                            value = v;
                            best = i * w + left + j;
                        }
                    }
                }
                f(oy * self.ow + ox, top + best);
            }
        }
    }
}

/// The max-pooling VJP of one plane that writes every value of its gradient,
/// where there is one for this element type, window and CPU: f32, 2×2
/// windows 2 apart, AVX-512 or AVX2. Adding into zeros at each window's maximum, one
/// window at a time (a chain of scalar comparisons and an indexed store),
/// took a tenth of a LeNet-5 step; the compiler keeps that loop scalar
/// however it is written.
#[allow(clippy::type_complexity)]
fn all_positions<F: Float>(win: &Window) -> Option<fn(&Window, &[F], &[F], &mut [F])> {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu::Backend;
        let f32s = std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>();
        let avx512 = crate::cpu::backend() == Backend::Avx512 && Backend::Avx512.is_supported();
        let avx2 = crate::cpu::backend() == Backend::Avx2 && Backend::Avx2.is_supported();
        /// The same slice, of f32.
        fn as_f32<F>(values: &[F]) -> &[f32] {
            // SAFETY: `F` is f32 (checked before this is called).
            unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
        }
        /// The same slice, of f32.
        fn as_f32_mut<F>(values: &mut [F]) -> &mut [f32] {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) }
        }
        if f32s && avx512 && (win.k, win.stride) == (2, 2) {
            return Some(|win, x, g, gx| {
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { x86::gradient_2x2(win, as_f32(x), as_f32(g), as_f32_mut(gx)) }
            });
        }
        if f32s && avx2 && (win.k, win.stride) == (2, 2) {
            return Some(|win, x, g, gx| {
                // SAFETY: the CPU has AVX2 (checked above).
                unsafe { x86::gradient_2x2_avx2(win, as_f32(x), as_f32(g), as_f32_mut(gx)) }
            });
        }
    }
    let _ = win;
    None
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Window;

    /// The max-pooling VJP of one `h×w` plane for 2×2 windows 2 apart,
    /// writing every value of `gx`: sixteen windows at a time, their four
    /// corners taken apart by permutes, compared as `argmax` does, and the
    /// gradients put together again; zeros where no window reaches.
    ///
    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gradient_2x2(win: &Window, plane: &[f32], g: &[f32], gx: &mut [f32]) {
        let (w, ow) = (win.w, win.ow);
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        let low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        for (oy, g) in g.chunks_exact(ow.max(1)).enumerate() {
            let top = 2 * oy * w;
            let (r0, r1) = (&plane[top..top + 2 * ow], &plane[top + w..top + w + 2 * ow]);
            let (gx0, gx1) = gx[top..top + 2 * w].split_at_mut(w);
            for ox in (0..ow).step_by(16) {
                // The last windows of a row by masked loads and stores.
                let (j, n) = (2 * ox, (ow - ox).min(16));
                let lanes = |count: usize| if count >= 16 { 0xffff } else { (1u16 << count) - 1 };
                let (first, second) = (lanes(2 * n), lanes((2 * n).saturating_sub(16)));
                // SAFETY: the lanes of the masks lie inside both input rows
                // and both gradient rows (j + 2n ≤ 2·ow ≤ w) and inside g
                // (ox + n ≤ ow); masked-out lanes are neither read nor written.
                unsafe {
                    let apart = |row: &[f32]| {
                        let p = _mm512_maskz_loadu_ps(first, row.as_ptr().add(j));
                        let q = _mm512_maskz_loadu_ps(second, row.as_ptr().add(j + 16));
                        (_mm512_permutex2var_ps(p, even, q), _mm512_permutex2var_ps(p, odd, q))
                    };
                    let ((a, b), (c, d)) = (apart(r0), apart(r1));
                    let g = _mm512_maskz_loadu_ps(lanes(n), g.as_ptr().add(ox));
                    // The comparisons of `argmax`: a later value wins only
                    // if greater.
                    let b_wins = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(b, a);
                    let top = _mm512_mask_blend_ps(b_wins, a, b);
                    let c_wins = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(c, top);
                    let d_wins = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(d, _mm512_mask_blend_ps(c_wins, top, c));
                    let bottom = c_wins | d_wins;
                    let together = |row: &mut [f32], left: __m512, right: __m512| {
                        let out = row.as_mut_ptr().add(j);
                        _mm512_mask_storeu_ps(out, first, _mm512_permutex2var_ps(left, low, right));
                        _mm512_mask_storeu_ps(out.add(16), second, _mm512_permutex2var_ps(left, high, right));
                    };
                    together(
                        gx0,
                        _mm512_maskz_mov_ps(!(bottom | b_wins), g),
                        _mm512_maskz_mov_ps(b_wins & !bottom, g),
                    );
                    together(
                        gx1,
                        _mm512_maskz_mov_ps(c_wins & !d_wins, g),
                        _mm512_maskz_mov_ps(d_wins, g),
                    );
                }
            }
            // A last column no window covers.
            gx0[2 * ow..].fill(0.0);
            gx1[2 * ow..].fill(0.0);
        }
        // A last row no window covers.
        gx[2 * win.oh * w..].fill(0.0);
    }

    /// [`gradient_2x2`] for AVX2: eight windows at a time, the corners
    /// taken apart by shuffles within and across the two halves, the last
    /// windows of a row by masked loads and stores.
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn gradient_2x2_avx2(win: &Window, plane: &[f32], g: &[f32], gx: &mut [f32]) {
        let (w, ow) = (win.w, win.ow);
        let index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        // Lanes below `count` set.
        let lanes = |count: usize| _mm256_cmpgt_epi32(_mm256_set1_epi32(count.min(8) as i32), index);
        for (oy, g) in g.chunks_exact(ow.max(1)).enumerate() {
            let top = 2 * oy * w;
            let (r0, r1) = (&plane[top..top + 2 * ow], &plane[top + w..top + w + 2 * ow]);
            let (gx0, gx1) = gx[top..top + 2 * w].split_at_mut(w);
            for ox in (0..ow).step_by(8) {
                let (j, n) = (2 * ox, (ow - ox).min(8));
                let (first, second) = (lanes(2 * n), lanes((2 * n).saturating_sub(8)));
                // SAFETY: the lanes of the masks lie inside both input rows
                // and both gradient rows (j + 2n ≤ 2·ow ≤ w) and inside g
                // (ox + n ≤ ow); masked-out lanes are neither read nor written.
                unsafe {
                    // Values 0..16 of the row: the even ones (left corners)
                    // and the odd ones (right corners), in window order.
                    let apart = |row: &[f32]| {
                        let p = _mm256_maskload_ps(row.as_ptr().add(j), first);
                        let q = _mm256_maskload_ps(row.as_ptr().add(j + 8), second);
                        let order =
                            |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
                        (
                            order(_mm256_shuffle_ps::<0b10_00_10_00>(p, q)),
                            order(_mm256_shuffle_ps::<0b11_01_11_01>(p, q)),
                        )
                    };
                    let ((a, b), (c, d)) = (apart(r0), apart(r1));
                    let g = _mm256_maskload_ps(g.as_ptr().add(ox), lanes(n));
                    // The comparisons of `argmax`: a later value wins only
                    // if greater.
                    let b_wins = _mm256_cmp_ps::<_CMP_GT_OQ>(b, a);
                    let top = _mm256_blendv_ps(a, b, b_wins);
                    let c_wins = _mm256_cmp_ps::<_CMP_GT_OQ>(c, top);
                    let d_wins = _mm256_cmp_ps::<_CMP_GT_OQ>(d, _mm256_blendv_ps(top, c, c_wins));
                    let bottom = _mm256_or_ps(c_wins, d_wins);
                    let together = |row: &mut [f32], left: __m256, right: __m256| {
                        let out = row.as_mut_ptr().add(j);
                        let (low, high) = (_mm256_unpacklo_ps(left, right), _mm256_unpackhi_ps(left, right));
                        _mm256_maskstore_ps(out, first, _mm256_permute2f128_ps::<0x20>(low, high));
                        _mm256_maskstore_ps(out.add(8), second, _mm256_permute2f128_ps::<0x31>(low, high));
                    };
                    together(
                        gx0,
                        _mm256_andnot_ps(_mm256_or_ps(bottom, b_wins), g),
                        _mm256_and_ps(_mm256_andnot_ps(bottom, b_wins), g),
                    );
                    together(
                        gx1,
                        _mm256_and_ps(_mm256_andnot_ps(d_wins, c_wins), g),
                        _mm256_and_ps(d_wins, g),
                    );
                }
            }
            // A last column no window covers.
            gx0[2 * ow..].fill(0.0);
            gx1[2 * ow..].fill(0.0);
        }
        // A last row no window covers.
        gx[2 * win.oh * w..].fill(0.0);
    }
}

/// Runs `f(plane index, input plane, output plane)` over every channel of
/// every image, the planes split over the pool's threads (each plane whole on
/// one thread, so the bits do not depend on the thread count).
fn planes<F: Float>(x: &ArrayRef4<F>, win: &Window, y: &mut Array4<F>, f: impl Fn(usize, &[F], &mut [F]) + Sync) {
    let x = x.as_standard_layout();
    let x = x.as_slice().expect("standard layout");
    let (input, output) = (win.h * win.w, win.oh * win.ow);
    let out = Disjoint::new(y.as_slice_mut().expect("a new array is contiguous"));
    over_items(x.len() / input, x.len(), &|range| {
        // SAFETY: the planes of different parts are disjoint.
        let y = unsafe { out.part(range.start * output..range.end * output) };
        for (p, dst) in range.zip(y.chunks_exact_mut(output)) {
            f(p, &x[p * input..(p + 1) * input], dst);
        }
    });
}

/// Runs `f(input plane, gradient plane, upstream plane)` for the VJP, split
/// over the threads as [`planes`]; the gradient planes hold zeros if
/// `zeroed`, else anything (`f` writes every value).
fn gradient_planes<F: Float>(
    x: &ArrayRef4<F>,
    win: &Window,
    g: &Array4<F>,
    zeroed: bool,
    f: impl Fn(&[F], &mut [F], &[F]) + Sync,
) -> Array4<F> {
    let mut gx: Array4<F> = if zeroed {
        zeros(x.raw_dim())
    } else {
        take_scratch(x.raw_dim())
    };
    let x = x.as_standard_layout();
    let g = g.as_standard_layout();
    let (xs, gs) = (
        x.as_slice().expect("standard layout"),
        g.as_slice().expect("standard layout"),
    );
    let (input, output) = (win.h * win.w, win.oh * win.ow);
    let out = Disjoint::new(gx.as_slice_mut().expect("contiguous"));
    over_items(xs.len() / input, xs.len(), &|range| {
        // SAFETY: the planes of different parts are disjoint.
        let gx = unsafe { out.part(range.start * input..range.end * input) };
        for (p, gx) in range.zip(gx.chunks_exact_mut(input)) {
            f(&xs[p * input..(p + 1) * input], gx, &gs[p * output..(p + 1) * output]);
        }
    });
    gx
}

fn check_upstream<F>(module: &str, x: &ArrayRef4<F>, win: &Window, g: &Array4<F>) {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    crate::value::check_shape(module, "output", &[n, c, win.oh, win.ow], g.shape());
}

crate::module! {
    /// Max pooling: the maximum of each `k×k` window of `x` `[n, c, h, w]`,
    /// windows `stride` apart, as PyTorch's `F.max_pool2d(x, k, stride)`. The
    /// gradient goes to the window's maximum, the first in row-major order
    /// on ties.
    ///
    /// # Panics
    /// If the window does not fit the input, or `k` or `stride` is 0.
    pub fn max_pool2d<F: Float>(x: &ArrayRef4<F>, k: usize, stride: usize) -> Array4<F> {
        let win = Window::of("max_pool2d", x.shape(), k, stride);
        let (n, c) = (x.shape()[0], x.shape()[1]);
        let mut y: Array4<F> = take_scratch((n, c, win.oh, win.ow));
        planes(x, &win, &mut y, |_, src, dst| win.maxima(src, dst));
        y
    }

    backward(y, g, need) {
        let win = Window::of("max_pool2d", x.shape(), k, stride);
        check_upstream("max_pool2d", x, &win, &g);
        grad x: Array4<F> = match all_positions::<F>(&win) {
            Some(vjp) => gradient_planes(x, &win, &g, false, |x, gx, g| vjp(&win, x, g, gx)),
            None => gradient_planes(x, &win, &g, true, |x, gx, g| win.argmax(x, |out, at| gx[at] += g[out])),
        };
        crate::workspace::recycle_array(g);
    }

    /// Piecewise linear: the tangent at each window's maximum, and the VJP of
    /// the upstream gradient's tangent (no second-order term away from ties).
    tangent(y) {
        let win = Window::of("max_pool2d", x.shape(), k, stride);
        let t = x_t.expect("the one differentiable input").as_standard_layout();
        let t = t.as_slice().expect("standard layout");
        let mut ty: Array4<F> = take_scratch(y.raw_dim());
        let input = win.h * win.w;
        planes(x, &win, &mut ty, |p, src, dst| {
            let tangent = &t[p * input..(p + 1) * input];
            win.argmax(src, |out, at| dst[out] = tangent[at]);
        });
        ty
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let win = Window::of("max_pool2d", x.shape(), k, stride);
        grad x: Array4<F> = match g_t {
            Some(tg) => gradient_planes(x, &win, tg, true, |x, gx, g| win.argmax(x, |out, at| gx[at] += g[out])),
            None => zeros(x.raw_dim()),
        };
    }

    gradcheck {
        x: random([1, 1, 4, 4]), k: 2, stride: 2;
        x: random([2, 3, 5, 7]), k: 3, stride: 2;
        x: random([1, 2, 5, 5]), k: 3, stride: 1;
        x: random([2, 1, 3, 3]), k: 3, stride: 3;
    }
}

crate::module! {
    /// Average pooling: the mean of each `k×k` window of `x` `[n, c, h, w]`,
    /// windows `stride` apart, as PyTorch's `F.avg_pool2d(x, k, stride)`.
    ///
    /// # Panics
    /// If the window does not fit the input, or `k` or `stride` is 0.
    pub fn avg_pool2d<F: Float>(x: &ArrayRef4<F>, k: usize, stride: usize) -> Array4<F> {
        let win = Window::of("avg_pool2d", x.shape(), k, stride);
        let (n, c) = (x.shape()[0], x.shape()[1]);
        let scale = F::one() / F::of_usize(k * k);
        let mut y: Array4<F> = zeros((n, c, win.oh, win.ow));
        planes(x, &win, &mut y, |_, src, dst| win.each(|out, at| dst[out] += src[at] * scale));
        y
    }

    backward(y, g, need) {
        let win = Window::of("avg_pool2d", x.shape(), k, stride);
        check_upstream("avg_pool2d", x, &win, &g);
        let scale = F::one() / F::of_usize(k * k);
        grad x: Array4<F> = gradient_planes(x, &win, &g, true, |_, gx, g| win.each(|out, at| gx[at] += g[out] * scale));
        crate::workspace::recycle_array(g);
    }

    tangent linear;

    gradcheck {
        x: random([1, 1, 4, 4]), k: 2, stride: 2;
        x: random([2, 3, 5, 7]), k: 3, stride: 2;
        x: random([1, 2, 5, 5]), k: 2, stride: 1;
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array4, array, s};

    use super::*;

    #[test]
    fn max_pool_sends_ties_to_the_first_maximum_in_row_major_order() {
        // Every window of 2×2 holds two equal maxima.
        let x = array![[[
            [1.0, 1.0, 0.0, 2.0],
            [0.0, 0.0, 2.0, 0.0],
            [3.0, 0.0, 5.0, 5.0],
            [3.0, 0.0, 5.0, 5.0]
        ]]];
        let y = max_pool2d(&x, 2, 2);
        assert_eq!(y, array![[[[1.0, 2.0], [3.0, 5.0]]]]);
        let (gx, _, _) = max_pool2d_vjp(&x, 2, 2, &y, array![[[[1.0, 2.0], [3.0, 4.0]]]], [true, false, false]);
        let expected = array![[[
            [1.0, 0.0, 0.0, 2.0],
            [0.0, 0.0, 0.0, 0.0],
            [3.0, 0.0, 4.0, 0.0],
            [0.0, 0.0, 0.0, 0.0]
        ]]];
        assert_eq!(gx.unwrap(), expected);
    }

    /// The 2×2 VJP against the rule one window at a time, in f64 and in f32
    /// on every backend this CPU runs (AVX-512 and AVX2 have their own paths), on odd sizes (a last row and
    /// column outside every window), rows of more than sixteen windows, and
    /// values with many ties and NaN, into a buffer that held NaN.
    #[test]
    fn max_pool_2x2_vjp_matches_the_rule_on_odd_sizes_and_ties() {
        fn check<F: Float>(shape: [usize; 4]) {
            crate::check::reset_seed();
            // Many ties, and a NaN in every seventh place (a NaN wins only
            // where it comes first in its window).
            let mut x = crate::check::random::<F, _>(shape).mapv(|v| (v * F::of(2.0)).round());
            x.iter_mut().step_by(7).for_each(|v| *v = F::nan());
            let y = max_pool2d(&x, 2, 2);
            let g = y.mapv(|_| F::of(3.0))
                + &Array4::from_shape_fn(y.raw_dim(), |(i, c, oy, ox)| F::of_usize(i + c + oy + ox));
            let mut expected = Array4::zeros(x.raw_dim());
            for ((i, c, oy, ox), &gv) in g.indexed_iter() {
                let (mut best, mut value) = ((0, 0), x[[i, c, 2 * oy, 2 * ox]]);
                for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                    let v = x[[i, c, 2 * oy + dy, 2 * ox + dx]];
                    if v > value {
                        (best, value) = ((dy, dx), v);
                    }
                }
                expected[[i, c, 2 * oy + best.0, 2 * ox + best.1]] = gv;
            }
            crate::workspace::Workspace::new().run(|| {
                // The gradient's buffer, taken from the workspace, holds NaN.
                crate::workspace::recycle_array(x.mapv(|_| F::nan()));
                let gx = max_pool2d_vjp(&x, 2, 2, &y, g.clone(), [true, false, false]).0.unwrap();
                assert_eq!(gx, expected, "{shape:?}");
            });
        }
        for shape in [[2, 3, 7, 9], [2, 2, 9, 37], [1, 2, 8, 64]] {
            check::<f64>(shape);
            for backend in crate::cpu::Backend::supported() {
                crate::cpu::with_backend(backend, || check::<f32>(shape));
            }
        }
    }

    #[test]
    fn pools_match_their_definition_on_views() {
        crate::check::reset_seed();
        let x: Array4<f64> = crate::check::random([3, 2, 7, 6]);
        let view = x.slice(s![1.., .., .., ..]);
        let (max, avg) = (max_pool2d(&view, 3, 2), avg_pool2d(&view, 3, 2));
        assert_eq!(max.shape(), &[2, 2, 3, 2]);
        for ((i, c, oy, ox), &m) in max.indexed_iter() {
            let window = view.slice(s![i, c, oy * 2..oy * 2 + 3, ox * 2..ox * 2 + 3]);
            assert_eq!(m, window.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            assert!((avg[[i, c, oy, ox]] - window.mean().unwrap()).abs() < 1e-12);
        }
    }

    /// Planes split over the pool's threads (an input above the size at
    /// which they are) match the definition, and the VJPs give the same bits
    /// as on one thread (inside a task of a join, where work is not split).
    #[test]
    fn large_pools_split_over_threads_match_one_thread() {
        crate::check::reset_seed();
        let x: Array4<f64> = crate::check::random([8, 16, 24, 24]);
        let (max, avg) = (max_pool2d(&x, 2, 2), avg_pool2d(&x, 3, 3));
        for ((i, c, oy, ox), &m) in max.indexed_iter() {
            let window = x.slice(s![i, c, oy * 2..oy * 2 + 2, ox * 2..ox * 2 + 2]);
            assert_eq!(m, window.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        }
        for ((i, c, oy, ox), &a) in avg.indexed_iter() {
            let window = x.slice(s![i, c, oy * 3..oy * 3 + 3, ox * 3..ox * 3 + 3]);
            assert!((a - window.mean().unwrap()).abs() < 1e-12);
        }
        let gradients = || {
            let g_max = max.mapv(|v| v * 0.5 + 1.0);
            let g_avg = avg.mapv(|v| v - 2.0);
            (
                max_pool2d_vjp(&x, 2, 2, &max, g_max, [true, false, false]).0,
                avg_pool2d_vjp(&x, 3, 3, &avg, g_avg, [true, false, false]).0,
            )
        };
        let split = gradients();
        let (alone, _) = crate::parallel::join(gradients, || ());
        assert_eq!(split, alone);
        assert!(split.0.is_some() && split.1.is_some());
    }

    #[test]
    #[should_panic(expected = "max_pool2d: the 3×3 window does not fit the 2×5 input of x [1, 1, 2, 5]")]
    fn window_larger_than_the_input_is_an_error() {
        max_pool2d(&Array4::<f64>::zeros((1, 1, 2, 5)), 3, 1);
    }

    #[test]
    #[should_panic(expected = "avg_pool2d: the window (2) and the stride (0) must be at least 1")]
    fn zero_stride_is_an_error() {
        avg_pool2d(&Array4::<f64>::zeros((1, 1, 4, 4)), 2, 0);
    }
}
