//! The element types every module works on: `f32` and `f64`.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use ndarray::{LinalgScalar, ScalarOperand};

/// A floating-point element type: implemented for `f32` and `f64` only.
///
/// Every kernel is generic over it, so one implementation serves both precisions
/// (f64 is what the gradient checks use, f32 what training uses).
pub trait Float:
    num_traits::Float
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
}

impl Float for f32 {
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
