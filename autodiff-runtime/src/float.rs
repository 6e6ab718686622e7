//! The element types every module works on: `f32` and `f64`.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use ndarray::{Array, ArrayView, ArrayViewD, ArrayViewMutD, Dimension, LinalgScalar, ScalarOperand};

/// A floating-point element type: implemented for `f32` and `f64` only
/// (the trait is sealed).
///
/// Every kernel is generic over it, so one implementation serves both precisions
/// (f64 is what the gradient checks use, f32 what training uses). It is
/// numeric only: where a subsystem needs code of its own per type (the GEMM's
/// kernels, the workspace's free lists, the hooks' tagged views, checkpoint
/// bytes), it tells the two types apart itself.
pub trait Float:
    sealed::Sealed
    + num_traits::Float
    + num_traits::FromPrimitive
    + LinalgScalar
    + ScalarOperand
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// Converts an `f64` constant (exact for f64, rounded for f32).
    fn of(x: f64) -> Self;
    /// Converts a count, such as a batch size, to use as a divisor.
    fn of_usize(n: usize) -> Self;
    /// Widens to f64, for reporting and checks.
    fn to_f64_lossless(self) -> f64;
    /// e^x as the element-wise kernels compute it: for `f32` a branch-free
    /// polynomial that the compiler vectorises (within 2 ulp of the correctly
    /// rounded value), for `f64` the standard library's.
    fn fast_exp(self) -> Self;
    /// tanh(x) as the element-wise kernels compute it: for `f32` branch-free
    /// and vectorised (within 4 ulp), for `f64` the standard library's. An
    /// RNN spends as long in `tanh` as in its matrix products otherwise.
    fn fast_tanh(self) -> Self;
    /// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt as the element-wise
    /// kernels compute it: for `f32` a branch-free rational approximation
    /// that vectorises (Abramowitz and Stegun 7.1.26, whose bound of 1.5e-7
    /// becomes 6e-7 with f32 rounding: a few ulp of values near 1), for `f64`
    /// musl's (through `libm`), within 1 ulp.
    fn erf(self) -> Self;
    /// (erf(x), e^(−x²)), as [`Float::erf`] computes them: for `f32` the
    /// exponential is the one inside the approximation, so a caller that
    /// needs both (the normal distribution and its density, GELU's VJP) pays
    /// for one.
    #[doc(hidden)]
    fn erf_gauss(self) -> (Self, Self);

    /// `a += b` for arrays of one shape. Compiled here once per type, not in
    /// every crate whose generated code adds gradients: a generic body would
    /// be instantiated (and optimised) again in each of them.
    #[doc(hidden)]
    fn add_arrays(a: ArrayViewMutD<'_, Self>, b: ArrayViewD<'_, Self>);
}

/// `view` as a view of `T` when `F` is `T`: how generic code calls the f32
/// or the f64 instance of a kernel compiled in this crate.
pub(crate) fn view_as<F: Float, T: Float, D: Dimension>(view: ArrayView<'_, F, D>) -> Option<ArrayView<'_, T, D>> {
    if std::any::TypeId::of::<F>() != std::any::TypeId::of::<T>() {
        return None;
    }
    let view = std::mem::ManuallyDrop::new(view);
    // SAFETY: `F` and `T` are the same type, and so are the two view types;
    // the original is not dropped, so its shape is owned once.
    Some(unsafe { std::mem::transmute_copy(&*view) })
}

/// `array` as an array of `T` when `F` is `T`, else given back.
pub(crate) fn array_as<F: Float, T: Float, D: Dimension + 'static>(
    array: Array<F, D>,
) -> Result<Array<T, D>, Array<F, D>> {
    same_as(array)
}

/// `value` as a `B` when `A` is `B`, else given back: how generic code hands
/// a value to the f32 or the f64 instance of a function compiled in this
/// crate (the test of the type is resolved at compile time).
pub(crate) fn same_as<A: 'static, B: 'static>(value: A) -> Result<B, A> {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<B>>() {
        Some(same) => Ok(same.take().expect("just filled")),
        None => Err(slot.expect("not taken")),
    }
}

/// The result of a kernel's f32 or f64 instance, as the `F` it was called
/// for (see [`view_as`]).
pub(crate) fn back_as<T: Float, F: Float, D: Dimension + 'static>(array: Array<T, D>) -> Array<F, D> {
    array_as::<T, F, D>(array).expect("called for its own type")
}

/// `a += b`, over slices when both are contiguous in the same order.
fn add_arrays<F: Float>(mut a: ArrayViewMutD<'_, F>, b: ArrayViewD<'_, F>) {
    if let (Some(a), Some(b)) = (a.as_slice_mut(), b.as_slice()) {
        for (a, &b) in a.iter_mut().zip(b) {
            *a += b;
        }
        return;
    }
    a += &b;
}

/// erf of an f32 (Abramowitz and Stegun 7.1.26): with t = 1/(1 + p|x|),
/// 1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^(−x²), signed as x. No branches,
/// so a loop of it vectorises.
#[inline(always)]
fn erf_f32(x: f32) -> f32 {
    erf_gauss_f32(x).0
}

/// [`erf_f32`] and the e^(−x²) it computes on the way.
#[inline(always)]
fn erf_gauss_f32(x: f32) -> (f32, f32) {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let gauss = (-a * a).fast_exp();
    let y = 1.0 - poly * gauss;
    (y.copysign(x), gauss)
}

mod sealed {
    /// Implemented for `f32` and `f64` only, so no other type is a `Float`.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Float for f32 {
    #[inline(never)]
    fn add_arrays(a: ArrayViewMutD<'_, Self>, b: ArrayViewD<'_, Self>) {
        add_arrays(a, b);
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        tanh_f32(self)
    }
    #[inline(always)]
    fn erf(self) -> Self {
        erf_f32(self)
    }
    #[inline(always)]
    fn erf_gauss(self) -> (Self, Self) {
        erf_gauss_f32(self)
    }
    fn of(x: f64) -> Self {
        x as f32
    }
    fn of_usize(n: usize) -> Self {
        n as f32
    }
    fn to_f64_lossless(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    #[inline(never)]
    fn add_arrays(a: ArrayViewMutD<'_, Self>, b: ArrayViewD<'_, Self>) {
        add_arrays(a, b);
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        self.tanh()
    }
    #[inline(always)]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline(always)]
    fn erf_gauss(self) -> (Self, Self) {
        (libm::erf(self), (-self * self).exp())
    }
    fn of(x: f64) -> Self {
        x
    }
    fn of_usize(n: usize) -> Self {
        n as f64
    }
    fn to_f64_lossless(self) -> f64 {
        self
    }
}

/// e^x in f32 without branches or library calls, so that a loop over an
/// array vectorises: e^x = 2^n · e^r with n = round(x / ln 2) and
/// r = x − n·ln 2 (|r| ≤ ln 2 / 2, ln 2 split in two parts so that n·ln 2 is
/// exact), e^r by its Taylor polynomial of degree 7 (error below 1e-8), and
/// 2^n as the product of two powers of two built from their exponent bits,
/// so that the subnormal results down to e^−103.9 come out as the standard
/// library's do (a softmax of logits 88 to 103 apart keeps its tiny
/// probabilities) and the largest ones overflow to infinity where e^x does
/// (above 88.72). Below −104 the result is 0; NaN stays NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    let input = x;
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75; // ln 2 with its low 12 bits cleared
    const LN2_LO: f32 = 1.428_606_8e-6; // ln 2 − LN2_HI
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer with
    // plain arithmetic (no SSE4.1 `round` needed).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-104.0, 89.0);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // `shifted`'s low bits hold n (its unit in the last place is 1), read as
    // an integer without a float-to-int conversion, whose saturating
    // semantics compilers do not vectorise on every instruction set.
    // n ∈ [−150, 129] is split in halves within [−75, 65], each 2^half a
    // normal number with biased exponent half + 127; the last product
    // rounds once.
    let n = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let low = n >> 1;
    let high = n - low;
    let power = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let e = p * power(high) * power(low);
    let e = if input < -104.0 { 0.0 } else { e };
    if input > 89.0 { f32::INFINITY } else { e }
}

/// tanh(x) in f32 without branches or library calls: for |x| < 0.5 its odd
/// Taylor series to x¹⁵ (no cancellation near 0), above 1 − 2/(e^{2|x|} + 1)
/// with the input capped at 10 (where tanh rounds to 1); the sign is copied
/// back. Both sides are computed and one is selected, which vectorises.
#[inline(always)]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let capped = if a > 10.0 { 10.0 } else { a };
    let large = 1.0 - 2.0 / (exp_f32(2.0 * capped) + 1.0);
    let s = a * a;
    let small = a
        * (1.0
            + s * (-1.0 / 3.0
                + s * (2.0 / 15.0
                    + s * (-17.0 / 315.0
                        + s * (62.0 / 2835.0
                            + s * (-1382.0 / 155_925.0
                                + s * (21_844.0 / 6_081_075.0 + s * (-929_569.0 / 638_512_875.0))))))));
    let t = if a < 0.5 { small } else { large };
    t.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between an f32 and the f64 truth.
    fn ulps(approx: f32, exact: f64) -> f64 {
        let rounded = exact as f32;
        let ulp = (f32::from_bits(rounded.abs().to_bits() + 1) - rounded.abs()) as f64;
        (f64::from(approx) - exact).abs() / ulp
    }

    #[test]
    fn fast_exp_is_within_two_ulp() {
        let mut worst: f64 = 0.0;
        for i in 0..=200_000 {
            let x = -87.0 + 175.7 * i as f32 / 200_000.0;
            worst = worst.max(ulps(exp_f32(x), f64::from(x).exp()));
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        // Subnormal results: as close as the standard library's (whose
        // subnormals carry fewer bits), 0 where e^x is below half the
        // smallest subnormal, infinity past the largest float.
        for i in 0..=20_000 {
            let x = -103.9 + 16.9 * i as f32 / 20_000.0;
            let (ours, std) = (exp_f32(x), x.exp());
            let smallest = f32::from_bits(1);
            assert!((ours - std).abs() <= smallest, "e^{x}: {ours:e} against {std:e}");
        }
        assert_eq!((exp_f32(-104.0), exp_f32(-110.0)), (0.0, 0.0));
        assert!(exp_f32(88.7).is_finite() && exp_f32(88.75).is_infinite());
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!((exp_f32(-1000.0), exp_f32(1000.0)), (0.0, f32::INFINITY));
    }

    #[test]
    fn erf_f32_is_within_6e_7_of_erf() {
        let mut worst: f64 = 0.0;
        for i in 0..=100_000 {
            let x = -6.0 + 12.0 * i as f32 / 100_000.0;
            worst = worst.max((f64::from(erf_f32(x)) - libm::erf(f64::from(x))).abs());
        }
        assert!(worst < 6e-7, "worst absolute error {worst}");
        assert!(erf_f32(0.0).abs() < 1e-7);
        assert_eq!((erf_f32(-10.0), erf_f32(10.0)), (-1.0, 1.0));
    }

    #[test]
    fn fast_tanh_is_within_four_ulp() {
        let mut worst: f64 = 0.0;
        for i in 0..=200_000 {
            let x = -10.0 + 20.0 * i as f32 / 200_000.0;
            worst = worst.max(ulps(tanh_f32(x), f64::from(x).tanh()));
        }
        for x in [1e-30f32, 1e-8, 1e-4, 0.1, 0.4999, 0.5, 0.5001] {
            worst = worst.max(ulps(tanh_f32(x), f64::from(x).tanh()));
        }
        assert!(worst <= 4.0, "worst error {worst} ulp");
        assert_eq!(tanh_f32(50.0), 1.0);
        assert_eq!(tanh_f32(-50.0), -1.0);
        assert!(tanh_f32(-0.0).is_sign_negative());
        assert!(tanh_f32(f32::NAN).is_nan());
    }
}
