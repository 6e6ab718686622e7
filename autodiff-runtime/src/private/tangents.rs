//! What the `hvp` functions' tangents need from the runtime besides the
//! modules' rules: tangents of copies and constants (`None` is zero), zeros
//! of an output's shape where a zero must be written out, and the trait of
//! the stubs of functions declared without `hvp`.

use crate::value::Value;

/// A module's output whose zero tangent can be made from it: a value, or a
/// tuple of values.
pub trait ZeroTangent {
    /// Zeros of `self`'s shape (and type).
    fn zeros_of(&self) -> Self;
}

impl<V: Value> ZeroTangent for V {
    fn zeros_of(&self) -> Self {
        self.map_elements(|_| num_traits::Zero::zero())
    }
}

macro_rules! tuple_zero {
    ($($T:ident $i:tt),+) => {
        impl<$($T: Value),+> ZeroTangent for ($($T,)+) {
            fn zeros_of(&self) -> Self {
                ($(self.$i.zeros_of(),)+)
            }
        }
    };
}
tuple_zero!(A 0, B 1);
tuple_zero!(A 0, B 1, C 2);
tuple_zero!(A 0, B 1, C 2, D 3);

/// The zero tangent of `value`.
#[inline]
pub fn zero_tangent<T: ZeroTangent>(value: &T) -> T {
    value.zeros_of()
}

/// The tangent of a copy of `value`: the tangent's copy (`None` stays `None`).
#[inline]
pub fn tangent_of_copy<T: Clone>(tangent: Option<&T>, value: &T) -> Option<T> {
    let _ = value;
    tangent.cloned()
}

/// The zero tangent (`None`) of a constant assigned to an active variable,
/// of `value`'s type.
#[inline]
pub fn no_tangent<T>(value: &T) -> Option<T> {
    let _ = value;
    None
}

/// A copy of a tangent, or zeros like `value` when it is zero (`None`).
#[inline]
pub fn tangent_or_zeros<T: ZeroTangent + Clone>(tangent: Option<&T>, value: &T) -> T {
    match tangent {
        Some(t) => t.clone(),
        None => value.zeros_of(),
    }
}

/// What the tangent tuple of a call must meet when the callee was declared
/// without `hvp`: nothing does, so the call is one error saying what to add.
#[diagnostic::on_unimplemented(
    message = "this function is declared without `hvp`, so a `#[differentiable(.., hvp)]` function cannot call it",
    label = "called here",
    note = "add `hvp` to the callee's attribute: `#[differentiable(wrt(..), hvp)]`"
)]
pub trait DeclaredWithHvp {}

/// Gives an upstream gradient's tangent back to the workspace from a rule
/// whose output type is generic (where `recycle!` cannot tell an array from
/// a scalar): an array's buffer is kept, a scalar dropped.
#[inline]
pub fn recycle_tangent<V: crate::value::Value>(tangent: Option<V>) {
    if let Some(value) = tangent
        && value.as_scalar().is_none()
    {
        crate::workspace::recycle_array(value.into_dyn_array());
    }
}
