//! Negation in generic functions.

use crate::float::Float;

/// `-x` of a float, or of an array by value or by reference: what a generic
/// function's `-x` becomes (ndarray's `-&a` needs `&F: Neg`, which a bound
/// `F: Float` cannot imply).
pub trait Negate {
    /// The negated value.
    type Output;
    /// `-self`.
    fn negate(self) -> Self::Output;
}

impl<F: Float> Negate for F {
    type Output = F;
    fn negate(self) -> F {
        -self
    }
}

impl<F: Float, D: ndarray::Dimension> Negate for ndarray::Array<F, D> {
    type Output = ndarray::Array<F, D>;
    fn negate(self) -> Self::Output {
        self.mapv_into(|v| -v)
    }
}

impl<F: Float, D: ndarray::Dimension> Negate for &ndarray::Array<F, D> {
    type Output = ndarray::Array<F, D>;
    fn negate(self) -> Self::Output {
        crate::modules::neg(self)
    }
}

/// `-x` (see [`Negate`]).
pub fn negate<T: Negate>(x: T) -> T::Output {
    x.negate()
}
