//! `conv2d(x, w, b, stride, padding)`: 2-D convolution (cross-correlation, as
//! PyTorch's `F.conv2d`), NCHW.
//!
//! Shapes: x `[n, c, h, w]`, w `[o, c, kh, kw]`, b `[o]`, y `[n, o, oh, ow]`
//! with `oh = (h + 2p − kh)/s + 1` (likewise `ow`), zero padding.
//!
//! Lowered to one product per batch (im2col): the columns matrix
//! `cols[(c, i, j), (n, oy, ox)] = x[n, c, oy·s + i − p, ox·s + j − p]` turns
//! the convolution into `Y = W·cols` with `W = w` as `[o, c·kh·kw]`. With
//! `G = ∂C/∂Y` laid out the same way: `∂C/∂w = G·colsᵀ`, `∂C/∂b = Σ G` and
//! `∂C/∂x = col2im(Wᵀ·G)` (col2im adds every column entry back where im2col
//! read it). One product over the whole batch keeps the GEMM large enough to
//! use every core; the columns and the permuted gradient are workspace buffers.

use ndarray::{Array1, Array2, Array4, ArrayRef1, ArrayRef4};

use crate::float::Float;
use crate::gemm::gemm_into;
use crate::workspace::{recycle_array, scratch, zeros};

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

    /// For kernel offset `k` along an axis of `size` inputs and `out`
    /// outputs: the outputs `lo..hi` whose input `t·s + k − p` lies inside
    /// (the others read padding), and the input of output `lo`.
    #[inline]
    fn valid(&self, k: usize, size: usize, out: usize) -> (usize, usize, usize) {
        let s = self.stride;
        let lo = self.padding.saturating_sub(k).div_ceil(s);
        let hi = if size + self.padding > k {
            ((size + self.padding - k - 1) / s + 1).min(out)
        } else {
            0
        };
        let lo = lo.min(hi);
        (lo, hi, (lo * s + k).saturating_sub(self.padding))
    }
}

/// The columns matrix `[c·kh·kw, n·oh·ow]` of a standard-layout input. Each
/// output row is a run of padding zeros, then the input row read with the
/// stride (a plain copy at stride 1), then zeros again.
fn im2col<F: Float>(x: &[F], geo: &Geometry) -> Array2<F> {
    let (pixels, cols) = (geo.pixels(), geo.n * geo.pixels());
    let mut out: Array2<F> = scratch((geo.patch(), cols));
    let data = out.as_slice_mut().expect("a new array is contiguous");
    for (row, dest) in data.chunks_exact_mut(cols.max(1)).enumerate() {
        let (ch, ki, kj) = (row / (geo.kh * geo.kw), row / geo.kw % geo.kh, row % geo.kw);
        let (y_lo, y_hi, y0) = geo.valid(ki, geo.h, geo.oh);
        let (x_lo, x_hi, x0) = geo.valid(kj, geo.w, geo.ow);
        for image in 0..geo.n {
            let plane = &x[(image * geo.c + ch) * geo.h * geo.w..][..geo.h * geo.w];
            let dest = &mut dest[image * pixels..][..pixels];
            dest[..y_lo * geo.ow].fill(F::zero());
            dest[y_hi * geo.ow..].fill(F::zero());
            for (oy, dest) in dest.chunks_exact_mut(geo.ow.max(1)).enumerate().take(y_hi).skip(y_lo) {
                let line = &plane[(y0 + (oy - y_lo) * geo.stride) * geo.w..][..geo.w];
                dest[..x_lo].fill(F::zero());
                dest[x_hi..].fill(F::zero());
                let dest = &mut dest[x_lo..x_hi];
                if geo.stride == 1 {
                    dest.copy_from_slice(&line[x0..x0 + dest.len()]);
                } else {
                    for (d, &v) in dest.iter_mut().zip(line[x0..].iter().step_by(geo.stride)) {
                        *d = v;
                    }
                }
            }
        }
    }
    out
}

/// Adds every entry of a columns matrix back to the input position it came
/// from: the transpose of [`im2col`].
fn col2im<F: Float>(cols: &Array2<F>, geo: &Geometry) -> Array4<F> {
    let mut gx: Array4<F> = zeros((geo.n, geo.c, geo.h, geo.w));
    let out = gx.as_slice_mut().expect("a new array is contiguous");
    let cols = cols.as_slice().expect("a product's output is contiguous");
    let (pixels, width) = (geo.pixels(), geo.n * geo.pixels());
    for (row, src) in cols.chunks_exact(width.max(1)).enumerate() {
        let (ch, ki, kj) = (row / (geo.kh * geo.kw), row / geo.kw % geo.kh, row % geo.kw);
        let (y_lo, y_hi, y0) = geo.valid(ki, geo.h, geo.oh);
        let (x_lo, x_hi, x0) = geo.valid(kj, geo.w, geo.ow);
        for image in 0..geo.n {
            let plane = &mut out[(image * geo.c + ch) * geo.h * geo.w..][..geo.h * geo.w];
            let src = &src[image * pixels..][..pixels];
            for (oy, src) in src.chunks_exact(geo.ow.max(1)).enumerate().take(y_hi).skip(y_lo) {
                let line = &mut plane[(y0 + (oy - y_lo) * geo.stride) * geo.w..][..geo.w];
                let src = &src[x_lo..x_hi];
                if geo.stride == 1 {
                    for (d, &v) in line[x0..x0 + src.len()].iter_mut().zip(src) {
                        *d += v;
                    }
                } else {
                    for (d, &v) in line[x0..].iter_mut().step_by(geo.stride).zip(src) {
                        *d += v;
                    }
                }
            }
        }
    }
    gx
}

/// `w` as the `[o, c·kh·kw]` matrix of the product (a view when `w` is in
/// standard layout, which parameters are).
fn kernel_matrix<'a, F: Float>(w: &'a ArrayRef4<F>, geo: &Geometry) -> ndarray::CowArray<'a, F, ndarray::Ix2> {
    w.to_shape((geo.o, geo.patch())).expect("o × c·kh·kw elements")
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
        let cols = im2col(x.as_slice().expect("standard layout"), &geo);
        let mut product: Array2<F> = scratch((geo.o, geo.n * geo.pixels()));
        gemm_into(F::one(), &kernel_matrix(w, &geo), &cols, F::zero(), &mut product);
        recycle_array(cols);
        // [o, n, pixels] → [n, o, pixels], adding the bias on the way.
        let mut y: Array4<F> = scratch((geo.n, geo.o, geo.oh, geo.ow));
        let pixels = geo.pixels();
        let (src, dst) = (product.as_slice().expect("contiguous"), y.as_slice_mut().expect("contiguous"));
        for (k, dst) in dst.chunks_exact_mut(pixels.max(1)).enumerate() {
            let (image, channel) = (k / geo.o, k % geo.o);
            let bias = b[channel];
            for (d, &s) in dst.iter_mut().zip(&src[(channel * geo.n + image) * pixels..][..pixels]) {
                *d = s + bias;
            }
        }
        recycle_array(product);
        y
    }

    backward(y, g, need) {
        let geo = Geometry::of(x, w, b, stride, padding);
        crate::value::check_shape("conv2d", "output", &[geo.n, geo.o, geo.oh, geo.ow], g.shape());
        // G as [o, n·pixels], the layout of the forward product.
        let pixels = geo.pixels();
        let mut gp: Array2<F> = scratch((geo.o, geo.n * pixels));
        {
            let (src, dst) = (g.as_standard_layout(), gp.as_slice_mut().expect("contiguous"));
            let src = src.as_slice().expect("standard layout");
            for (k, src) in src.chunks_exact(pixels.max(1)).enumerate() {
                let (image, channel) = (k / geo.o, k % geo.o);
                dst[(channel * geo.n + image) * pixels..][..pixels].copy_from_slice(src);
            }
        }
        grad x: Array4<F> = {
            let mut gcols: Array2<F> = scratch((geo.patch(), geo.n * pixels));
            gemm_into(F::one(), &kernel_matrix(w, &geo).t(), &gp, F::zero(), &mut gcols);
            let gx = col2im(&gcols, &geo);
            recycle_array(gcols);
            gx
        };
        grad w: Array4<F> = {
            let x = x.as_standard_layout();
            let cols = im2col(x.as_slice().expect("standard layout"), &geo);
            let mut gw: Array2<F> = scratch((geo.o, geo.patch()));
            gemm_into(F::one(), &gp, &cols.t(), F::zero(), &mut gw);
            recycle_array(cols);
            gw.into_shape_with_order((geo.o, geo.c, geo.kh, geo.kw)).expect("o × c·kh·kw elements")
        };
        grad b: Array1<F> = {
            let mut gb: Array1<F> = zeros(geo.o);
            for (channel, row) in gp.rows().into_iter().enumerate() {
                gb[channel] = row.iter().fold(F::zero(), |s, &v| s + v);
            }
            gb
        };
        recycle_array(gp);
        recycle_array(g);
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
