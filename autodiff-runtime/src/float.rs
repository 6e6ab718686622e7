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
    /// The type's name in checkpoint files (`"F32"` or `"F64"`).
    const DTYPE: &'static str;
    /// Appends the little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads from exactly `size_of::<Self>()` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;
    /// The workspace's free buffers of this type.
    #[doc(hidden)]
    fn free_list(workspace: &mut crate::workspace::Workspace) -> &mut crate::workspace::FreeList<Self>;
}

impl Float for f32 {
    fn free_list(workspace: &mut crate::workspace::Workspace) -> &mut crate::workspace::FreeList<Self> {
        &mut workspace.f32
    }
    const DTYPE: &'static str = "F32";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut buf = [0u8; std::mem::size_of::<f32>()];
        buf.copy_from_slice(bytes);
        f32::from_le_bytes(buf)
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
    fn free_list(workspace: &mut crate::workspace::Workspace) -> &mut crate::workspace::FreeList<Self> {
        &mut workspace.f64
    }
    const DTYPE: &'static str = "F64";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut buf = [0u8; std::mem::size_of::<f64>()];
        buf.copy_from_slice(bytes);
        f64::from_le_bytes(buf)
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
