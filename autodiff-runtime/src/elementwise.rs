//! The loops of the element-wise modules over contiguous values. Those that
//! write a new array are compiled three times: for the build target (SSE2 on
//! a default x86-64 build), for AVX2 with FMA and for AVX-512, chosen per
//! call by the backend of [`crate::cpu`], so that one switch
//! (`AUTODIFF_GEMM`, `gemm::with_backend`) selects the instruction set of
//! every kernel and both paths can be tested and measured on one machine.
//! The functions applied are the same on both paths and the compiler does not
//! contract `a * b + c` into an FMA unasked, so the results are the same to
//! the bit (a test checks).

use ndarray::{Array, Dimension, IntoDimension};

use crate::float::Float;

/// The instruction set the calling thread's kernels use: the build
/// target's, AVX2 with FMA (256-bit vectors), or AVX-512 (512-bit).
#[derive(Clone, Copy)]
enum Lanes {
    Plain,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

#[inline]
fn lanes() -> Lanes {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu::Backend;
        // `is_supported` checked the backend when it was chosen; an AVX-512
        // CPU has AVX2 and FMA too.
        match crate::cpu::backend() {
            Backend::Avx512 if Backend::Avx512.is_supported() => Lanes::Avx512,
            Backend::Avx2 | Backend::Avx512 if Backend::Avx2.is_supported() => Lanes::Avx2,
            _ => Lanes::Plain,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Lanes::Plain
    }
}

/// Declares `$avx2` and `$avx512`, the function `$plain` compiled for AVX2
/// with FMA and for AVX-512 (the same code: `$plain` is inlined into both).
macro_rules! instances {
    ($plain:ident => $avx2:ident, $avx512:ident; <$($g:ident: $b:path),*> ($($arg:ident: $ty:ty),*)) => {
        /// # Safety
        /// The CPU must have AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx2<$($g: $b),*>($($arg: $ty),*) {
            $plain($($arg),*)
        }

        /// # Safety
        /// The CPU must have AVX-512F (and so AVX2 and FMA).
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn $avx512<$($g: $b),*>($($arg: $ty),*) {
            $plain($($arg),*)
        }
    };
}

/// Calls `$plain(args)`, or its instance for `lanes`.
macro_rules! dispatch {
    ($lanes:expr, $plain:ident, $avx2:ident, $avx512:ident ($($arg:expr),*)) => {
        match $lanes {
            // SAFETY: `lanes` checked that the CPU has the instructions.
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx512 => unsafe { $avx512($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx2 => unsafe { $avx2($($arg),*) },
            Lanes::Plain => $plain($($arg),*),
        }
    };
}

/// `task(range, part)` over parts of `out` that together cover it, split over
/// the pool's threads when `out` is long enough. Each part is the elements
/// `range` of `out`; the element-wise functions give the same bits whichever
/// thread computes an element.
fn in_parts<T: Send>(out: &mut [T], task: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync) {
    in_row_parts(out, 1, task);
}

/// [`in_parts`] for `out` made of rows of `d` elements: every part holds
/// whole rows.
fn in_row_parts<T: Send>(out: &mut [T], d: usize, task: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync) {
    use crate::parallel::{Disjoint, over_items};
    let n = out.len();
    let out = Disjoint::new(out);
    over_items(n / d, n, &|rows| {
        let r = rows.start * d..rows.end * d;
        // SAFETY: the ranges of different parts are disjoint.
        task(r.clone(), unsafe { out.part(r) });
    });
}

/// Appends `f(x)` for each `x` of `xs` to the empty `out`, in one pass. (A
/// separate output also keeps the compiler from turning a map that leaves
/// some values unchanged, such as ReLU's, into masked stores, which are slow
/// on AMD's Zen.)
#[inline]
pub(crate) fn map_into<F: Float>(out: &mut Vec<F>, xs: &[F], f: impl Fn(F) -> F + Sync) {
    out.clear();
    out.reserve(xs.len());
    // Chosen here: a helper thread does not see the caller's forced backend.
    let lanes = lanes();
    in_parts(&mut out.spare_capacity_mut()[..xs.len()], |r, out| {
        dispatch!(lanes, map_plain, map_avx2, map_avx512(out, &xs[r], &f))
    });
    // SAFETY: the first `xs.len()` elements were just written.
    unsafe { out.set_len(xs.len()) };
}

/// Appends `f(x, y)` for each pair of `xs` and `ys` (of equal lengths) to
/// the empty `out`, in one pass.
#[inline]
pub(crate) fn zip_into<F: Float>(out: &mut Vec<F>, xs: &[F], ys: &[F], f: impl Fn(F, F) -> F + Sync) {
    assert_eq!(xs.len(), ys.len(), "zip_into: operands of equal lengths");
    out.clear();
    out.reserve(xs.len());
    let lanes = lanes();
    in_parts(&mut out.spare_capacity_mut()[..xs.len()], |r, out| {
        dispatch!(lanes, zip_plain, zip_avx2, zip_avx512(out, &xs[r.clone()], &ys[r], &f))
    });
    // SAFETY: the first `xs.len()` elements were just written.
    unsafe { out.set_len(xs.len()) };
}

#[inline(always)]
fn zip_plain<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], ys: &[F], f: impl Fn(F, F) -> F) {
    out.iter_mut().zip(xs.iter().zip(ys)).for_each(|(o, (&x, &y))| {
        o.write(f(x, y));
    });
}

instances!(zip_plain => zip_avx2, zip_avx512; <F: Float, G: Fn(F, F) -> F>
    (out: &mut [std::mem::MaybeUninit<F>], xs: &[F], ys: &[F], f: G));

#[inline(always)]
fn map_plain<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], f: impl Fn(F) -> F) {
    out.iter_mut().zip(xs).for_each(|(o, &x)| {
        o.write(f(x));
    });
}

#[inline(always)]
fn update_plain<F: Float>(values: &mut [F], other: &[F], f: impl Fn(F, F) -> F) {
    values.iter_mut().zip(other).for_each(|(v, &o)| *v = f(*v, o));
}

/// `v = f(v, o)` for each value and the matching value of `other` (of the
/// same length), on the build target's instructions only: compiled for AVX2,
/// an update that leaves some values unchanged (ReLU's VJP) becomes masked
/// stores, which made it slower on Zen than the plain loop.
#[inline]
pub(crate) fn zip_in_place<F: Float>(values: &mut [F], other: &[F], f: impl Fn(F, F) -> F + Sync) {
    debug_assert_eq!(values.len(), other.len());
    in_parts(values, |r, values| update_plain(values, &other[r], &f));
}

/// `v = f(v)` for each value, on the build target's instructions (see
/// [`zip_in_place`]).
#[inline]
pub(crate) fn map_in_place<F: Float>(values: &mut [F], f: impl Fn(F) -> F + Sync) {
    in_parts(values, |_, values| values.iter_mut().for_each(|v| *v = f(*v)));
}

/// [`zip_in_place`] for an `f` that computes every value anew from costly
/// functions (GELU's VJP: erf and an exponential per element), which
/// vectorises fully on AVX2.
#[inline]
pub(crate) fn zip_in_place_wide<F: Float>(values: &mut [F], other: &[F], f: impl Fn(F, F) -> F + Sync) {
    debug_assert_eq!(values.len(), other.len());
    let lanes = lanes();
    in_parts(values, |r, values| {
        dispatch!(lanes, update_plain, update_avx2, update_avx512(values, &other[r], &f))
    });
}

instances!(update_plain => update_avx2, update_avx512; <F: Float, G: Fn(F, F) -> F>
    (values: &mut [F], other: &[F], f: G));
instances!(map_plain => map_avx2, map_avx512; <F: Float, G: Fn(F) -> F>
    (out: &mut [std::mem::MaybeUninit<F>], xs: &[F], f: G));

/// Rows handed to the functions of [`rows_in_place`] at a time.
pub(crate) const ROWS: usize = 4;

/// `f(rows)` for every [`ROWS`] rows of `d` values of `values` (a whole
/// number of rows; the last call may get fewer), rows split over the pool's
/// threads when there are enough values, each part compiled for the CPU's
/// widest vectors (see [`lanes`]). Several rows a call, so that `f` can run
/// each of its passes over all of them: short rows (attention's) are chains
/// of dependent steps (a maximum, then exponentials, then their sum), which
/// the processor overlaps only across rows it sees together.
pub(crate) fn rows_in_place<F: Float>(values: &mut [F], d: usize, f: impl Fn(&mut [F]) + Sync) {
    if d == 0 {
        return;
    }
    let lanes = lanes();
    in_row_parts(values, d, |_, part| {
        dispatch!(lanes, rows_plain, rows_avx2, rows_avx512(part, d, &f))
    });
}

/// `f(rows, other_rows)` for every [`ROWS`] rows of `d` values of `values`
/// and the matching rows of `other` (of the same length), as
/// [`rows_in_place`].
pub(crate) fn rows_zip_in_place<F: Float>(values: &mut [F], other: &[F], d: usize, f: impl Fn(&mut [F], &[F]) + Sync) {
    debug_assert_eq!(values.len(), other.len());
    if d == 0 {
        return;
    }
    let lanes = lanes();
    in_row_parts(values, d, |r, part| {
        dispatch!(
            lanes,
            rows_zip_plain,
            rows_zip_avx2,
            rows_zip_avx512(part, &other[r], d, &f)
        )
    });
}

#[inline(always)]
fn rows_plain<F: Float>(values: &mut [F], d: usize, f: &impl Fn(&mut [F])) {
    // `(*f)`: the closure's own call, which its `#[inline(always)]` inlines
    // (a call through the reference goes through a shim that is not).
    for rows in values.chunks_mut(d * ROWS) {
        (*f)(rows);
    }
}

#[inline(always)]
fn rows_zip_plain<F: Float>(values: &mut [F], other: &[F], d: usize, f: &impl Fn(&mut [F], &[F])) {
    for (v, o) in values.chunks_mut(d * ROWS).zip(other.chunks(d * ROWS)) {
        (*f)(v, o);
    }
}

instances!(rows_plain => rows_avx2, rows_avx512; <F: Float, G: Fn(&mut [F])> (values: &mut [F], d: usize, f: &G));
instances!(rows_zip_plain => rows_zip_avx2, rows_zip_avx512; <F: Float, G: Fn(&mut [F], &[F])>
    (values: &mut [F], other: &[F], d: usize, f: &G));

/// `f()` compiled for the CPU's widest vectors (see [`lanes`]), for an `f`
/// marked `#[inline(always)]`: inlined into each instance, its loops take the
/// instance's instructions (a closure is otherwise compiled for the build
/// target alone).
#[inline]
pub(crate) fn on_widest<R>(f: impl FnOnce() -> R) -> R {
    match lanes() {
        // SAFETY: `lanes` checked that the CPU has the instructions.
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx512 => unsafe { call_avx512(f) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx2 => unsafe { call_avx2(f) },
        Lanes::Plain => f(),
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn call_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// # Safety
/// The CPU must have AVX-512F (and so AVX2 and FMA).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn call_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Σ f(xᵢ) over a slice in eight interleaved partial sums: a chain of
/// dependent additions would take one add's latency per element, the lanes
/// vectorise. The order of the additions depends on the length only.
#[inline(always)]
pub(crate) fn lane_sum<F: Float>(xs: &[F], f: impl Fn(F) -> F) -> F {
    lane_sum_zip(xs, xs, |x, _| f(x))
}

/// Σ f(xᵢ, yᵢ) over two slices of the same length, as [`lane_sum`]. The
/// slices go by arrays of eight (`as_chunks`), whose length the compiler
/// knows: indexing chunks of unknown length kept a bounds check per lane,
/// and the loop scalar.
#[inline(always)]
pub(crate) fn lane_sum_zip<F: Float>(xs: &[F], ys: &[F], f: impl Fn(F, F) -> F) -> F {
    debug_assert_eq!(xs.len(), ys.len());
    let mut lanes = [F::zero(); 8];
    let ((xc, xr), (yc, yr)) = (xs.as_chunks::<8>(), ys.as_chunks::<8>());
    for (x, y) in xc.iter().zip(yc) {
        for i in 0..8 {
            lanes[i] += f(x[i], y[i]);
        }
    }
    let mut sum = fold_lanes(lanes);
    for (&x, &y) in xr.iter().zip(yr) {
        sum += f(x, y);
    }
    sum
}

/// The sum of eight lanes, pairwise. The lanes pass through `black_box`:
/// seeing this sum's pairs, the compiler otherwise kept the loops' lanes two
/// to a register and shuffled them on every step, instead of one vector.
#[inline(always)]
pub(crate) fn fold_lanes<F: Float>(lanes: [F; 8]) -> F {
    let l = std::hint::black_box(lanes);
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

/// The largest value of a non-empty slice (−∞ for an empty one), in eight
/// interleaved lanes like [`lane_sum`]; NaN is passed over as `max` does.
#[inline(always)]
pub(crate) fn lane_max<F: Float>(xs: &[F]) -> F {
    let mut lanes = [F::neg_infinity(); 8];
    let (chunks, rest) = xs.as_chunks::<8>();
    for chunk in chunks {
        for i in 0..8 {
            lanes[i] = if chunk[i] > lanes[i] { chunk[i] } else { lanes[i] };
        }
    }
    let mut m = std::hint::black_box(lanes)
        .iter()
        .fold(F::neg_infinity(), |m, &v| m.max(v));
    for &v in rest {
        m = m.max(v);
    }
    m
}

/// Copies `src` into `dst` (of the same length) by moves of eight values,
/// the last overlapping the one before, and by two overlapping moves of four
/// or two below eight: no call. For the short runs of a convolution's
/// columns (10 or 28 values), `memcpy`'s call and its dispatch on the length
/// cost more than the copy, and the loop around it spilled its state.
#[inline(always)]
pub(crate) fn copy_short<F: Copy>(src: &[F], dst: &mut [F]) {
    let n = dst.len();
    let src = &src[..n];
    if n >= 8 {
        let ((to, _), (from, _)) = (dst.as_chunks_mut::<8>(), src.as_chunks::<8>());
        for (to, from) in to.iter_mut().zip(from) {
            *to = *from;
        }
        if !n.is_multiple_of(8) {
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else if n >= 2 {
        dst[..2].copy_from_slice(&src[..2]);
        dst[n - 2..].copy_from_slice(&src[n - 2..]);
    } else if n == 1 {
        dst[0] = src[0];
    }
}

/// `dst += src` (the same length) by eight values at a time, then at most
/// one step each of four, two and one: no call, no vector loop set up for a
/// run of ten, and no scalar tail of seven.
#[inline(always)]
pub(crate) fn add_short<F: Float>(src: &[F], dst: &mut [F]) {
    #[inline(always)]
    fn add<F: Float, const N: usize>(to: &mut [F], from: &[F]) {
        let (to, from) = (&mut to[..N], &from[..N]);
        for i in 0..N {
            to[i] += from[i];
        }
    }
    let n = dst.len();
    let src = &src[..n];
    let (to, from) = (dst.as_chunks_mut::<8>().0, src.as_chunks::<8>().0);
    for (to, from) in to.iter_mut().zip(from) {
        add::<F, 8>(to, from);
    }
    let mut at = n - n % 8;
    if n % 8 >= 4 {
        add::<F, 4>(&mut dst[at..], &src[at..]);
        at += 4;
    }
    if n % 4 >= 2 {
        add::<F, 2>(&mut dst[at..], &src[at..]);
        at += 2;
    }
    if n % 2 == 1 {
        add::<F, 1>(&mut dst[at..], &src[at..]);
    }
}

/// The array in standard layout: itself when it is, else a copy (the
/// original recycled).
pub(crate) fn standard<F: Float, D: Dimension>(array: Array<F, D>) -> Array<F, D> {
    if array.is_standard_layout() {
        return array;
    }
    let mut copy: Array<F, D> = crate::workspace::take_scratch(array.raw_dim());
    copy.assign(&array);
    crate::workspace::recycle_array(array);
    copy
}

/// `f` of each value of `xs`, as a new array of `shape` (with `xs.len()`
/// elements), written in one pass that vectorises (filling a `Vec` from a
/// mapped iterator does not).
pub(crate) fn array_from_map<F: Float, Sh: IntoDimension>(
    shape: Sh,
    xs: &[F],
    f: impl Fn(F) -> F + Sync,
) -> Array<F, Sh::Dim> {
    let mut buffer = crate::workspace::take(xs.len());
    map_into(&mut buffer, xs, f);
    Array::from_shape_vec(shape, buffer).expect("one value per element")
}

/// `f(x, y)` of the values of `xs` and `ys` (of equal lengths) pairwise, as a
/// new array of `shape`; one pass like [`array_from_map`].
pub(crate) fn array_from_zip<F: Float, Sh: IntoDimension>(
    shape: Sh,
    xs: &[F],
    ys: &[F],
    f: impl Fn(F, F) -> F + Sync,
) -> Array<F, Sh::Dim> {
    let mut buffer = crate::workspace::take(xs.len());
    zip_into(&mut buffer, xs, ys, f);
    Array::from_shape_vec(shape, buffer).expect("one value per element")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Backend, with_backend};

    /// Every path the CPU runs gives the bits of the portable one.
    fn same_on_every_path<F: Float>(values: &[F]) {
        let other: Vec<F> = values.iter().rev().copied().collect();
        let run = |backend| {
            with_backend(backend, || {
                let mut tanh = Vec::new();
                map_into(&mut tanh, values, F::fast_tanh);
                let mut exp = Vec::new();
                map_into(&mut exp, values, F::fast_exp);
                let combine = |a: F, b: F| a * b + (F::one() - a) * b.max(F::zero());
                let mut fused = values.to_vec();
                zip_in_place(&mut fused, &other, combine);
                let mut zipped = Vec::new();
                zip_into(&mut zipped, values, &other, combine);
                assert_eq!(zipped, fused);
                let mut wide = values.to_vec();
                zip_in_place_wide(&mut wide, &other, combine);
                assert_eq!(wide, fused);
                (tanh, exp, fused)
            })
        };
        let portable = run(Backend::Portable);
        for backend in Backend::supported() {
            let got = run(backend);
            let bits = |v: &[F]| v.iter().map(|x| x.to_f64_lossless().to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got.0), bits(&portable.0), "tanh on {backend}");
            assert_eq!(bits(&got.1), bits(&portable.1), "exp on {backend}");
            assert_eq!(bits(&got.2), bits(&portable.2), "zip on {backend}");
        }
    }

    #[test]
    fn every_path_gives_the_same_bits() {
        // Lengths that are not multiples of any vector width, and values
        // across the ranges the functions treat differently.
        // 70,000: split over the pool's threads.
        for n in [1, 7, 33, 1000, 70_000] {
            let f64s: Vec<f64> = (0..n).map(|i| (i as f64 * 0.731).sin() * 12.0 - 1.0).collect();
            let f32s: Vec<f32> = f64s.iter().map(|&v| v as f32).collect();
            same_on_every_path(&f32s);
            same_on_every_path(&f64s);
        }
    }

    /// The short copies and sums give what the plain loops give, at every
    /// length around their move widths, inside a longer buffer whose other
    /// values they must leave alone.
    #[test]
    fn short_copies_and_sums_touch_their_run_alone() {
        for n in 0..40 {
            let src: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
            let mut dst = vec![-1.0; n + 2];
            copy_short(&src, &mut dst[1..n + 1]);
            assert_eq!(dst[0], -1.0, "length {n}");
            assert_eq!(dst[n + 1], -1.0, "length {n}");
            assert_eq!(&dst[1..n + 1], &src[..], "length {n}");
            add_short(&src, &mut dst[1..n + 1]);
            assert!(dst[1..n + 1].iter().zip(&src).all(|(d, s)| *d == 2.0 * s), "length {n}");
            assert_eq!((dst[0], dst[n + 1]), (-1.0, -1.0), "length {n}");
        }
    }
}
