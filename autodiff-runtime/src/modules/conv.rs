//! `conv2d(x, w, b, stride, padding)`: 2-D convolution (cross-correlation, as
//! PyTorch's `F.conv2d`), NCHW.
//!
//! Shapes: x `[n, c, h, w]`, w `[o, c, kh, kw]`, b `[o]`, y `[n, o, oh, ow]`
//! with `oh = (h + 2p − kh)/s + 1` (likewise `ow`), zero padding.
//!
//! Lowered to products per image (im2col): the columns matrix
//! `cols[(c, i, j), (oy, ox)] = x[c, oy·s + i − p, ox·s + j − p]` of an image
//! turns its convolution into `Y = W·cols` with `W = w` as `[o, c·kh·kw]`,
//! written straight into the image's block of y. With `G = ∂C/∂Y` of the
//! image: `∂C/∂w += G·colsᵀ`, `∂C/∂b += Σ G` and `∂C/∂x = col2im(Wᵀ·G)`
//! (col2im adds every column entry back where im2col read it). An image's
//! columns fit in L2 for the sizes of LeNet (a whole batch's would not), and
//! the images are split over the threads, so the copies of im2col and
//! col2im run in parallel as well as the products; buffers come from the
//! workspace.

use ndarray::{Array1, Array4, ArrayRef1, ArrayRef2, ArrayRef4};

use crate::float::Float;
use crate::gemm::gemm_into;
use crate::parallel::{self, Disjoint};
use crate::workspace::{recycle_array, take_scratch, zeros};

/// The sizes of one convolution, checked once.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    stride: usize,
    padding: usize,
}

impl Geometry {
    fn of<F>(x: &ArrayRef4<F>, w: &ArrayRef4<F>, b: &ArrayRef1<F>, stride: usize, padding: usize) -> Geometry {
        let (n, c, h, width) = x.dim();
        let (o, wc, kh, kw) = w.dim();
        if wc != c {
            panic!(
                "conv2d: x has shape {:?} ({c} channels) but w has shape {:?} ({wc} input channels); w must be [out, {c}, kh, kw]",
                x.shape(),
                w.shape()
            );
        }
        if b.len() != o {
            panic!(
                "conv2d: w has shape {:?} but b has shape {:?}; b must be [{o}]",
                w.shape(),
                b.shape()
            );
        }
        if stride == 0 {
            panic!("conv2d: stride must be at least 1");
        }
        if kh == 0 || kw == 0 || kh > h + 2 * padding || kw > width + 2 * padding {
            panic!(
                "conv2d: the {kh}×{kw} kernel of w {:?} does not fit the {h}×{width} input of x {:?} with padding {padding}",
                w.shape(),
                x.shape()
            );
        }
        Geometry {
            n,
            c,
            h,
            w: width,
            o,
            kh,
            kw,
            oh: (h + 2 * padding - kh) / stride + 1,
            ow: (width + 2 * padding - kw) / stride + 1,
            stride,
            padding,
        }
    }

    fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }

    fn pixels(&self) -> usize {
        self.oh * self.ow
    }

    /// The rows and columns of an input plane with its padding.
    fn padded(&self) -> (usize, usize) {
        (self.h + 2 * self.padding, self.w + 2 * self.padding)
    }

    /// The values of one image with its padding, `[c, h + 2p, w + 2p]`; none
    /// without padding (the image is read in place).
    fn padded_len(&self) -> usize {
        let (hp, wp) = self.padded();
        if self.padding == 0 { 0 } else { self.c * hp * wp }
    }
}

/// One image `[c, h, w]` with its padding written out: the image itself
/// without padding, else its values copied inside the borders of `padded`
/// `[c, h + 2p, w + 2p]`, whose borders hold zeros already (they are never
/// written). Then every line [`im2col`] copies lies inside the planes.
fn with_padding<'a, F: Float>(image: &'a [F], geo: &Geometry, padded: &'a mut [F]) -> &'a [F] {
    if geo.padding == 0 {
        return image;
    }
    let ((hp, wp), p) = (geo.padded(), geo.padding);
    for (plane, out) in image.chunks_exact(geo.h * geo.w).zip(padded.chunks_exact_mut(hp * wp)) {
        for (line, out) in plane.chunks_exact(geo.w).zip(out[p * wp..].chunks_exact_mut(wp)) {
            out[p..p + geo.w].copy_from_slice(line);
        }
    }
    padded
}

/// The columns matrix `[c·kh·kw, oh·ow]` of one image into `out`, from the
/// image with its padding `[c, h + 2p, w + 2p]` ([`with_padding`]): row `(c,
/// i, j)` is, for each output line, the `ow` values of padded line `oy·s +
/// i` from column `j` (every `s`-th), a short copy at stride 1.
fn im2col<F: Float>(x: &[F], geo: &Geometry, out: &mut [F]) {
    crate::elementwise::on_widest(
        #[inline(always)]
        || {
            let ((hp, wp), ow, s) = (geo.padded(), geo.ow, geo.stride);
            let mut rows = out.chunks_exact_mut(geo.pixels().max(1));
            for plane in x.chunks_exact(hp * wp) {
                for i in 0..geo.kh {
                    for j in 0..geo.kw {
                        let Some(row) = rows.next() else { return };
                        for (oy, line) in row.chunks_exact_mut(ow.max(1)).enumerate() {
                            let src = &plane[(oy * s + i) * wp + j..];
                            if s == 1 {
                                crate::elementwise::copy_short(src, line);
                            } else {
                                for (d, &v) in line.iter_mut().zip(src.iter().step_by(s)) {
                                    *d = v;
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Adds every entry of one image's columns matrix back to the input position
/// it came from, into `gx` `[c, h + 2p, w + 2p]` (the input gradient with its
/// padding, zeroed first): the transpose of [`im2col`].
fn col2im<F: Float>(cols: &[F], geo: &Geometry, gx: &mut [F]) {
    gx.fill(F::zero());
    crate::elementwise::on_widest(
        #[inline(always)]
        || {
            let ((hp, wp), ow, s) = (geo.padded(), geo.ow, geo.stride);
            let mut rows = cols.chunks_exact(geo.pixels().max(1));
            for plane in gx.chunks_exact_mut(hp * wp) {
                for i in 0..geo.kh {
                    for j in 0..geo.kw {
                        let Some(row) = rows.next() else { return };
                        for (oy, line) in row.chunks_exact(ow.max(1)).enumerate() {
                            let dst = &mut plane[(oy * s + i) * wp + j..];
                            if s == 1 {
                                crate::elementwise::add_short(line, &mut dst[..ow]);
                            } else {
                                for (d, &v) in dst.iter_mut().step_by(s).zip(line) {
                                    *d += v;
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The inside of a padded input gradient `[c, h + 2p, w + 2p]`: `gx` `[c, h, w]`.
fn crop<F: Float>(padded: &[F], geo: &Geometry, gx: &mut [F]) {
    let ((hp, wp), p) = (geo.padded(), geo.padding);
    for (plane, out) in padded.chunks_exact(hp * wp).zip(gx.chunks_exact_mut(geo.h * geo.w)) {
        for (line, out) in plane[p * wp..].chunks_exact(wp).zip(out.chunks_exact_mut(geo.w)) {
            out.copy_from_slice(&line[p..p + geo.w]);
        }
    }
}

/// `w` as the `[o, c·kh·kw]` matrix of the product (a view when `w` is in
/// standard layout, which parameters are).
fn kernel_matrix<'a, F: Float>(w: &'a ArrayRef4<F>, geo: &Geometry) -> ndarray::CowArray<'a, F, ndarray::Ix2> {
    w.to_shape((geo.o, geo.patch())).expect("o × c·kh·kw elements")
}

/// A `[rows, cols]` matrix view of a slice.
fn matrix<F>(data: &[F], rows: usize, cols: usize) -> ndarray::ArrayView2<'_, F> {
    ndarray::ArrayView2::from_shape((rows, cols), data).expect("rows × cols elements")
}

/// A `[rows, cols]` mutable matrix view of a slice.
fn matrix_mut<F>(data: &mut [F], rows: usize, cols: usize) -> ndarray::ArrayViewMut2<'_, F> {
    ndarray::ArrayViewMut2::from_shape((rows, cols), data).expect("rows × cols elements")
}

/// The forward pass: per image, its columns and one product `W·cols` written
/// straight into the image's `[o, oh·ow]` block of `y`. Images are split
/// over the threads; each has its own columns buffer.
fn forward<F: Float>(x: &[F], kernel: &ArrayRef2<F>, b: &ArrayRef1<F>, geo: &Geometry) -> Array4<F> {
    let (patch, pixels) = (geo.patch(), geo.pixels());
    let parts = parallel::parts(geo.n, geo.n * geo.o * patch * pixels);
    let mut y: Array4<F> = take_scratch((geo.n, geo.o, geo.oh, geo.ow));
    let mut cols: Array1<F> = take_scratch(parts * patch * pixels);
    // Per part, an image with its padding; the borders stay zero.
    let padded_len = geo.padded_len();
    let mut padded: Array1<F> = zeros(parts * padded_len);
    {
        let (ys, colss, paddeds) = (
            Disjoint::new(y.as_slice_mut().expect("contiguous")),
            Disjoint::new(cols.as_slice_mut().expect("contiguous")),
            Disjoint::new(padded.as_slice_mut().expect("contiguous")),
        );
        let (image_in, image_out) = (geo.c * geo.h * geo.w, geo.o * pixels);
        parallel::run(parts, &|t| {
            // SAFETY: part `t` is the only one to take columns block `t`, its
            // padded image and the outputs of its own images.
            let (cols, padded) = unsafe {
                (
                    colss.part(t * patch * pixels..(t + 1) * patch * pixels),
                    paddeds.part(t * padded_len..(t + 1) * padded_len),
                )
            };
            for image in parallel::range(geo.n, parts, t) {
                // SAFETY: as above: image `image` belongs to part `t` alone.
                let out = unsafe { ys.part(image * image_out..(image + 1) * image_out) };
                im2col(with_padding(&x[image * image_in..][..image_in], geo, padded), geo, cols);
                for (row, bias) in out.chunks_exact_mut(pixels.max(1)).zip(b.iter()) {
                    row.fill(*bias);
                }
                let mut out = matrix_mut(out, geo.o, pixels);
                gemm_into(F::one(), kernel, &matrix(cols, patch, pixels), F::one(), &mut out);
            }
        });
    }
    recycle_array(padded);
    recycle_array(cols);
    y
}

/// The VJP: per image, `∂w += G_i·cols_iᵀ` (one partial sum per thread,
/// added at the end), `∂b += Σ G_i` and `∂x_i = col2im(Wᵀ·G_i)`.
#[allow(clippy::type_complexity)]
fn backward<F: Float>(
    x: &[F],
    kernel: &ArrayRef2<F>,
    g: &[F],
    geo: &Geometry,
    need: [bool; 3],
) -> (Option<Array4<F>>, Option<Array4<F>>, Option<Array1<F>>) {
    let (patch, pixels) = (geo.patch(), geo.pixels());
    let parts = parallel::parts(geo.n, 2 * geo.n * geo.o * patch * pixels);
    let mut gx: Option<Array4<F>> = need[0].then(|| take_scratch((geo.n, geo.c, geo.h, geo.w)));
    // Per part: a columns buffer, an image and an input gradient with their
    // padding, and partial sums of ∂w and ∂b.
    let mut cols: Array1<F> = take_scratch(parts * patch * pixels);
    let padded_len = geo.padded_len();
    let mut padded: Array1<F> = zeros(parts * padded_len);
    let padded_gx_len = if need[0] { padded_len } else { 0 };
    let mut padded_gx: Array1<F> = take_scratch(parts * padded_gx_len);
    let mut gw: Array1<F> = zeros(parts * geo.o * patch);
    let mut gb: Array1<F> = zeros(parts * geo.o);
    {
        let colss = Disjoint::new(cols.as_slice_mut().expect("contiguous"));
        let paddeds = Disjoint::new(padded.as_slice_mut().expect("contiguous"));
        let padded_gxs = Disjoint::new(padded_gx.as_slice_mut().expect("contiguous"));
        let gws = Disjoint::new(gw.as_slice_mut().expect("contiguous"));
        let gbs = Disjoint::new(gb.as_slice_mut().expect("contiguous"));
        let gxs = gx
            .as_mut()
            .map(|gx| Disjoint::new(gx.as_slice_mut().expect("contiguous")));
        let (image_in, image_out) = (geo.c * geo.h * geo.w, geo.o * pixels);
        parallel::run(parts, &|t| {
            // SAFETY: block `t` of each per-part buffer belongs to part `t` alone.
            let (cols, padded, padded_gx, gw, gb) = unsafe {
                (
                    colss.part(t * patch * pixels..(t + 1) * patch * pixels),
                    paddeds.part(t * padded_len..(t + 1) * padded_len),
                    padded_gxs.part(t * padded_gx_len..(t + 1) * padded_gx_len),
                    gws.part(t * geo.o * patch..(t + 1) * geo.o * patch),
                    gbs.part(t * geo.o..(t + 1) * geo.o),
                )
            };
            for image in parallel::range(geo.n, parts, t) {
                let gi = &g[image * image_out..][..image_out];
                if need[2] {
                    for (s, row) in gb.iter_mut().zip(gi.chunks_exact(pixels.max(1))) {
                        *s += crate::elementwise::lane_sum(row, |v| v);
                    }
                }
                let gi = matrix(gi, geo.o, pixels);
                if need[1] {
                    im2col(with_padding(&x[image * image_in..][..image_in], geo, padded), geo, cols);
                    let mut gw = matrix_mut(gw, geo.o, patch);
                    gemm_into(F::one(), &gi, &matrix(cols, patch, pixels).t(), F::one(), &mut gw);
                }
                if let Some(gxs) = &gxs {
                    gemm_into(
                        F::one(),
                        &kernel.t(),
                        &gi,
                        F::zero(),
                        &mut matrix_mut(cols, patch, pixels),
                    );
                    // SAFETY: image `image` belongs to part `t` alone.
                    let gx = unsafe { gxs.part(image * image_in..(image + 1) * image_in) };
                    if geo.padding == 0 {
                        col2im(cols, geo, gx);
                    } else {
                        col2im(cols, geo, padded_gx);
                        crop(padded_gx, geo, gx);
                    }
                }
            }
        });
    }
    recycle_array(padded);
    recycle_array(padded_gx);
    recycle_array(cols);
    let sum_parts = |partial: Array1<F>, len: usize| -> Array1<F> {
        let mut total: Array1<F> = zeros(len);
        for part in partial.as_slice().expect("contiguous").chunks_exact(len.max(1)) {
            for (t, &v) in total.iter_mut().zip(part) {
                *t += v;
            }
        }
        recycle_array(partial);
        total
    };
    let gw = if need[1] {
        let total = sum_parts(gw, geo.o * patch);
        Some(
            total
                .into_shape_with_order((geo.o, geo.c, geo.kh, geo.kw))
                .expect("o × c·kh·kw elements"),
        )
    } else {
        recycle_array(gw);
        None
    };
    let gb = if need[2] {
        Some(sum_parts(gb, geo.o))
    } else {
        recycle_array(gb);
        None
    };
    (gx, gw, gb)
}

crate::module! {
    /// 2-D convolution of `x` `[n, c, h, w]` with `w` `[o, c, kh, kw]` plus
    /// bias `b` `[o]`, moving `stride` pixels at a time over `x` zero-padded by
    /// `padding` on every side: `y` `[n, o, (h + 2p − kh)/s + 1, (w + 2p − kw)/s + 1]`,
    /// as PyTorch's `F.conv2d(x, w, b, stride, padding)`.
    ///
    /// # Panics
    /// If the channels of `x` and `w` or the sizes of `w` and `b` disagree, if
    /// the kernel does not fit the padded input, or if `stride` is 0, with a
    /// message naming the shapes.
    pub fn conv2d<F: Float>(x: &ArrayRef4<F>, w: &ArrayRef4<F>, b: &ArrayRef1<F>, stride: usize, padding: usize) -> Array4<F> {
        let geo = Geometry::of(x, w, b, stride, padding);
        let x = x.as_standard_layout();
        forward(x.as_slice().expect("standard layout"), &kernel_matrix(w, &geo), b, &geo)
    }

    backward(y, g, need) {
        let geo = Geometry::of(x, w, b, stride, padding);
        crate::value::check_shape("conv2d", "output", &[geo.n, geo.o, geo.oh, geo.ow], g.shape());
        let (gx, gw, gb) = {
            let (x, g) = (x.as_standard_layout(), g.as_standard_layout());
            let (x, g) = (x.as_slice().expect("standard layout"), g.as_slice().expect("standard layout"));
            backward(x, &kernel_matrix(w, &geo), g, &geo, [need.x, need.w, need.b])
        };
        recycle_array(g);
        grad x: Array4<F> = gx.expect("asked for");
        grad w: Array4<F> = gw.expect("asked for");
        grad b: Array1<F> = gb.expect("asked for");
    }

    /// Bilinear in (x, w), linear in b, so the product rule through the
    /// module itself: ẏ = conv(ẋ, w) + conv(x, ẇ) + ḃ; ġ_x = conv_vjp_x(w, ġ) +
    /// conv_vjp_x(ẇ, g), ġ_w = conv_vjp_w(x, ġ) + conv_vjp_w(ẋ, g), ġ_b = Σ ġ.
    tangent(y) {
        let zero_bias: Array1<F> = Array1::zeros(b.len());
        let bias = b_t.map_or_else(|| zero_bias.clone(), |t| t.to_owned());
        let mut terms = Vec::new();
        if let Some(tx) = x_t {
            terms.push(conv2d(tx, w, &bias, stride, padding));
        }
        if let Some(tw) = w_t {
            terms.push(conv2d(x, tw, if terms.is_empty() { &bias } else { &zero_bias }, stride, padding));
        }
        let mut ty = terms.pop().unwrap_or_else(|| {
            // Only the bias moves: ḃ in every pixel of its channel.
            let mut ty = Array4::zeros(y.raw_dim());
            for (mut channel, &t) in ty.axis_iter_mut(ndarray::Axis(1)).zip(bias.iter()) {
                channel.fill(t);
            }
            ty
        });
        for term in terms {
            ty += &term;
        }
        ty
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let mut tx: Option<Array4<F>> = None;
        let mut tw: Option<Array4<F>> = None;
        let mut tb: Option<Array1<F>> = None;
        let add4 = |total: &mut Option<Array4<F>>, term: Option<Array4<F>>| {
            if let Some(term) = term {
                *total = Some(match total.take() {
                    Some(t) => t + &term,
                    None => term,
                });
            }
        };
        if let Some(tg) = g_t {
            let (a, b_, c, _, _) = conv2d_vjp(x, w, b, stride, padding, y, tg.clone(), [need.x, need.w, need.b, false, false]);
            add4(&mut tx, a);
            add4(&mut tw, b_);
            tb = c;
        }
        if let (Some(t), true) = (w_t, need.x) {
            add4(&mut tx, conv2d_vjp(x, t, b, stride, padding, y, g.clone(), [true, false, false, false, false]).0);
        }
        if let (Some(t), true) = (x_t, need.w) {
            add4(&mut tw, conv2d_vjp(t, w, b, stride, padding, y, g.clone(), [false, true, false, false, false]).1);
        }
        grad x = tx.unwrap_or_else(|| Array4::zeros(x.raw_dim()));
        grad w = tw.unwrap_or_else(|| Array4::zeros(w.raw_dim()));
        grad b = tb.unwrap_or_else(|| Array1::zeros(b.len()));
    }

    gradcheck {
        x: random([1, 1, 3, 3]), w: random([1, 1, 2, 2]), b: random([1]), stride: 1, padding: 0;
        x: random([2, 3, 5, 4]), w: random([4, 3, 3, 3]), b: random([4]), stride: 1, padding: 1;
        x: random([2, 2, 7, 6]), w: random([3, 2, 3, 2]), b: random([3]), stride: 2, padding: 0;
        x: random([1, 2, 6, 6]), w: random([2, 2, 3, 3]), b: random([2]), stride: 3, padding: 2;
        x: random([3, 1, 4, 4]), w: random([2, 1, 1, 1]), b: random([2]), stride: 1, padding: 0;
        x: random([1, 1, 2, 2]), w: random([1, 1, 3, 3]), b: random([1]), stride: 1, padding: 1;
        x: random([1, 1, 3, 3]), w: random([1, 1, 2, 2]), b: random([1]), stride: 2, padding: 2;
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array, array, s};

    use super::*;

    /// The definition, one output at a time.
    fn naive(x: &Array4<f64>, w: &Array4<f64>, b: &Array1<f64>, s: usize, p: usize) -> Array4<f64> {
        let (n, c, h, wd) = x.dim();
        let (o, _, kh, kw) = w.dim();
        let (oh, ow) = ((h + 2 * p - kh) / s + 1, (wd + 2 * p - kw) / s + 1);
        Array::from_shape_fn((n, o, oh, ow), |(i, f, oy, ox)| {
            let mut sum = b[f];
            for ch in 0..c {
                for ki in 0..kh {
                    for kj in 0..kw {
                        let (iy, ix) = ((oy * s + ki) as isize - p as isize, (ox * s + kj) as isize - p as isize);
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                            sum += x[[i, ch, iy as usize, ix as usize]] * w[[f, ch, ki, kj]];
                        }
                    }
                }
            }
            sum
        })
    }

    #[test]
    fn forward_matches_the_definition() {
        for (shape, kernel, stride, padding) in [
            ([2, 3, 8, 7], [4, 3, 3, 3], 1, 0),
            ([1, 2, 9, 9], [3, 2, 5, 5], 2, 2),
            ([3, 1, 5, 6], [2, 1, 2, 3], 3, 1),
            ([1, 1, 3, 3], [1, 1, 2, 2], 2, 2),
            ([2, 2, 4, 5], [1, 2, 5, 5], 1, 2),
            ([1, 3, 7, 7], [2, 3, 3, 1], 2, 3),
        ] {
            crate::check::reset_seed();
            let (x, w, b) = (
                crate::check::random::<f64, _>(shape),
                crate::check::random::<f64, _>(kernel),
                crate::check::random::<f64, _>(kernel[0]),
            );
            let y = conv2d(&x, &w, &b, stride, padding);
            let expected = naive(&x, &w, &b, stride, padding);
            assert_eq!(y.shape(), expected.shape());
            assert!(y.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-12));
        }
    }

    /// A batch large enough to be split over the threads gives what its
    /// images give one at a time (which are not split).
    #[test]
    fn a_batch_split_over_threads_equals_its_images_one_by_one() {
        crate::check::reset_seed();
        let x: Array4<f64> = crate::check::random([12, 4, 20, 20]);
        let w: Array4<f64> = crate::check::random([8, 4, 5, 5]);
        let b: Array1<f64> = crate::check::random(8);
        let y = conv2d(&x, &w, &b, 1, 2);
        let g: Array4<f64> = crate::check::random(y.raw_dim());
        let (gx, gw, gb, _, _) = conv2d_vjp(&x, &w, &b, 1, 2, &y, g.clone(), [true, true, true, false, false]);
        let (gx, gw, gb) = (gx.unwrap(), gw.unwrap(), gb.unwrap());
        let (mut sum_w, mut sum_b) = (Array4::zeros(w.raw_dim()), Array1::zeros(8));
        for i in 0..12 {
            let (xi, gi) = (
                x.slice(s![i..i + 1, .., .., ..]),
                g.slice(s![i..i + 1, .., .., ..]).to_owned(),
            );
            let yi = conv2d(&xi, &w, &b, 1, 2);
            assert!(
                yi.iter()
                    .zip(y.slice(s![i..i + 1, .., .., ..]))
                    .all(|(a, b)| (a - b).abs() < 1e-12)
            );
            let (gxi, gwi, gbi, _, _) = conv2d_vjp(&xi, &w, &b, 1, 2, &yi, gi, [true, true, true, false, false]);
            let gxi = gxi.unwrap();
            assert!(
                gxi.iter()
                    .zip(gx.slice(s![i..i + 1, .., .., ..]))
                    .all(|(a, b)| (a - b).abs() < 1e-12)
            );
            sum_w += &gwi.unwrap();
            sum_b += &gbi.unwrap();
        }
        assert!(sum_w.iter().zip(&gw).all(|(a, b)| (a - b).abs() < 1e-9));
        assert!(sum_b.iter().zip(&gb).all(|(a, b)| (a - b).abs() < 1e-9));
        assert!(parallel::parts(12, 2 * 12 * 8 * 100 * 400) > 1 || crate::gemm::threads() == 1);
    }

    #[test]
    fn views_and_strided_inputs_need_no_copy_by_the_caller() {
        crate::check::reset_seed();
        let x = crate::check::random::<f64, _>([4, 2, 6, 6]);
        let w = crate::check::random::<f64, _>([3, 2, 3, 3]);
        let b = array![0.5, -1.0, 2.0];
        // A minibatch slice and a transposed-then-transposed-back kernel.
        let batch = x.slice(s![1..3, .., .., ..]);
        let y = conv2d(&batch, &w.view(), &b, 1, 1);
        assert_eq!(y, conv2d(&batch.to_owned(), &w, &b, 1, 1));
    }

    #[test]
    #[should_panic(expected = "conv2d: x has shape [1, 3, 5, 5] (3 channels) but w has shape [2, 1, 3, 3]")]
    fn channels_must_agree() {
        conv2d(
            &Array4::<f64>::zeros((1, 3, 5, 5)),
            &Array4::zeros((2, 1, 3, 3)),
            &Array1::zeros(2),
            1,
            0,
        );
    }

    #[test]
    #[should_panic(expected = "conv2d: the 5×5 kernel of w [1, 1, 5, 5] does not fit the 3×3 input")]
    fn kernel_must_fit() {
        conv2d(
            &Array4::<f64>::zeros((1, 1, 3, 3)),
            &Array4::zeros((1, 1, 5, 5)),
            &Array1::zeros(1),
            1,
            0,
        );
    }
}
