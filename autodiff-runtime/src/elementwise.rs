//! The loops of the element-wise modules over contiguous values. Those that
//! write a new array are compiled twice: for the build target (SSE2 on a
//! default x86-64 build) and for AVX2 with FMA, chosen per call by the
//! backend of [`crate::cpu`], so that one switch
//! (`AUTODIFF_GEMM`, `gemm::with_backend`) selects the instruction set of
//! every kernel and both paths can be tested and measured on one machine.
//! The functions applied are the same on both paths and the compiler does not
//! contract `a * b + c` into an FMA unasked, so the results are the same to
//! the bit (a test checks).

use ndarray::{Array, Dimension, IntoDimension};

use crate::float::Float;

/// Whether the calling thread's kernels use 256-bit vectors.
#[inline]
fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu::Backend;
        // An AVX-512 CPU has AVX2 and FMA too; `is_supported` checked the
        // backend when it was chosen.
        matches!(crate::cpu::backend(), Backend::Avx2 | Backend::Avx512) && Backend::Avx2.is_supported()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Appends `f(x)` for each `x` of `xs` to the empty `out`, in one pass. (A
/// separate output also keeps the compiler from turning a map that leaves
/// some values unchanged, such as ReLU's, into masked stores, which are slow
/// on AMD's Zen.)
#[inline]
pub(crate) fn map_into<F: Float>(out: &mut Vec<F>, xs: &[F], f: impl Fn(F) -> F) {
    out.clear();
    out.reserve(xs.len());
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide` checked that the CPU has AVX2 and FMA.
        unsafe { map_avx2(&mut out.spare_capacity_mut()[..xs.len()], xs, f) };
        // SAFETY: the first `xs.len()` elements were just written.
        unsafe { out.set_len(xs.len()) };
        return;
    }
    map_plain(&mut out.spare_capacity_mut()[..xs.len()], xs, f);
    // SAFETY: the first `xs.len()` elements were just written.
    unsafe { out.set_len(xs.len()) };
}

/// Appends `f(x, y)` for each pair of `xs` and `ys` (of equal lengths) to
/// the empty `out`, in one pass.
#[inline]
pub(crate) fn zip_into<F: Float>(out: &mut Vec<F>, xs: &[F], ys: &[F], f: impl Fn(F, F) -> F) {
    assert_eq!(xs.len(), ys.len(), "zip_into: operands of equal lengths");
    out.clear();
    out.reserve(xs.len());
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide` checked that the CPU has AVX2 and FMA.
        unsafe { zip_into_avx2(&mut out.spare_capacity_mut()[..xs.len()], xs, ys, f) };
        // SAFETY: the first `xs.len()` elements were just written.
        unsafe { out.set_len(xs.len()) };
        return;
    }
    zip_plain(&mut out.spare_capacity_mut()[..xs.len()], xs, ys, f);
    // SAFETY: the first `xs.len()` elements were just written.
    unsafe { out.set_len(xs.len()) };
}

#[inline(always)]
fn zip_plain<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], ys: &[F], f: impl Fn(F, F) -> F) {
    out.iter_mut().zip(xs.iter().zip(ys)).for_each(|(o, (&x, &y))| {
        o.write(f(x, y));
    });
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn zip_into_avx2<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], ys: &[F], f: impl Fn(F, F) -> F) {
    zip_plain(out, xs, ys, f);
}

#[inline(always)]
fn map_plain<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], f: impl Fn(F) -> F) {
    out.iter_mut().zip(xs).for_each(|(o, &x)| {
        o.write(f(x));
    });
}

/// `v = f(v, o)` for each value and the matching value of `other` (of the
/// same length), on the build target's instructions only: compiled for AVX2,
/// an update that leaves some values unchanged (ReLU's VJP) becomes masked
/// stores, which made it slower on Zen than the plain loop.
#[inline]
pub(crate) fn zip_in_place<F: Float>(values: &mut [F], other: &[F], f: impl Fn(F, F) -> F) {
    debug_assert_eq!(values.len(), other.len());
    values.iter_mut().zip(other).for_each(|(v, &o)| *v = f(*v, o));
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn map_avx2<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], f: impl Fn(F) -> F) {
    map_plain(out, xs, f);
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
    f: impl Fn(F) -> F,
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
    f: impl Fn(F, F) -> F,
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
        for n in [1, 7, 33, 1000] {
            let f64s: Vec<f64> = (0..n).map(|i| (i as f64 * 0.731).sin() * 12.0 - 1.0).collect();
            let f32s: Vec<f32> = f64s.iter().map(|&v| v as f32).collect();
            same_on_every_path(&f32s);
            same_on_every_path(&f64s);
        }
    }
}
