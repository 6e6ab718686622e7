//! The bookkeeping of the generated backward pass: gradients of arguments,
//! their fan-out sums, the seed, and each parameter's gradient assembled.

use crate::float::Float;
use crate::gradient::{Gradient, GradientOf, NoGrad};

/// A VJP's gradient for one argument, standing for a gradient of type `T`:
/// `T` itself, or `NoGrad`, which has no values and so converts to anything.
pub trait ArgGradient<T> {
    /// The gradient.
    fn into_gradient(self) -> T;
}

impl<T> ArgGradient<T> for T {
    fn into_gradient(self) -> T {
        self
    }
}

impl<T: Gradient> ArgGradient<T> for NoGrad {
    fn into_gradient(self) -> T {
        match self {}
    }
}

/// The gradients a VJP may give an argument: every [`Gradient`] but `NoGrad`.
/// (`#[derive(Params)]` implements it for models.)
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a gradient: this module argument cannot be differentiated",
    label = "this argument receives a value that depends on a differentiated parameter",
    note = "pass a constant here, or differentiate with respect to other parameters using `wrt(...)`"
)]
pub trait RealGradient {}
impl<F: crate::float::Float, D: ndarray::Dimension> RealGradient for ndarray::Array<F, D> {}
impl<T: RealGradient> RealGradient for Vec<T> {}
impl<F: crate::float::Float> RealGradient for F {}

/// Checks that a module's gradient for an argument is a real one (not `NoGrad`):
/// a compile error with a clear message, at the user's argument, when an
/// active value reaches an argument that cannot be differentiated. The output
/// type is left to the context in that case, so no second error follows.
#[inline(always)]
pub fn gradient<G: RealGradient + ArgGradient<T>, T>(gradient: Option<G>) -> Option<T> {
    gradient.map(ArgGradient::into_gradient)
}

/// Adds a contribution to a value's gradient: the fan-out sum. `None` is zero.
#[inline(never)]
pub fn accumulate<G: Gradient>(total: Option<G>, contribution: Option<G>) -> Option<G> {
    match (total, contribution) {
        (Some(mut total), Some(contribution)) => {
            total.accumulate(contribution);
            Some(total)
        }
        (total, None) => total,
        (None, contribution) => contribution,
    }
}

/// The seed ∂C/∂C = 1 of the backward pass.
#[inline(always)]
pub fn seed<F: Float>(_output: &F) -> F {
    F::one()
}

/// The gradient of a parameter that received no contribution: zeros of its shape.
#[inline]
pub fn or_zeros<G, P: GradientOf<G> + ?Sized>(gradient: Option<G>, parameter: &P) -> G {
    gradient.unwrap_or_else(|| parameter.zeros_for())
}

/// Zeros of a parameter's gradient type: its gradient when nothing reaches it.
#[inline]
pub fn zeros_for<G, P: GradientOf<G> + ?Sized>(parameter: &P) -> G {
    parameter.zeros_for()
}

/// The gradient, or an empty one to be completed by [`fill_like`].
pub fn or_empty<G: Gradient>(gradient: Option<G>, value: &G) -> G {
    gradient.unwrap_or_else(|| G::empty_like(value))
}

/// An empty gradient for `value`, filled field by field (a function, not the
/// trait method, so that a missing `Gradient` is reported at the argument).
pub fn empty_like<G: Gradient>(value: &G) -> G {
    G::empty_like(value)
}

/// Any type, mapped to `G`: `probed` returns `<P as FieldProbe<G>>::Out`, which
/// is `G` unless `P` is the type of an expression rustc could not type (a
/// field that does not exist), and then rustc's error type, on which it
/// reports nothing more.
pub trait FieldProbe<G> {
    type Out;
}

impl<G, P> FieldProbe<G> for P {
    type Out = G;
}

/// `gradient` itself; `_probe` holds the user's accesses of the fields the
/// gradient is assembled from (see [`FieldProbe`]).
pub fn probed<G, P: FieldProbe<G, Out = G>>(gradient: G, _probe: P) -> P::Out {
    gradient
}

/// Zeros wherever an [`empty_like`] gradient received nothing. (The value
/// comes first so that a missing `Gradient` is reported at it.)
pub fn fill_like<G: Gradient>(value: &G, gradient: &mut G) {
    gradient.fill_like(value)
}

/// A gradient filled with zeros for an unused output of a multi-output module.
#[inline]
pub fn zeros_like<G: Gradient>(value: &G) -> G {
    G::zeros_like(value)
}

/// Marks types that `NAME_grad` can seed: a differentiable function's output
/// must be a scalar for it to have a gradient.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a scalar, so this function has no `_grad`",
    label = "`_grad` needs a function that returns `f32` or `f64`",
    note = "a function with a non-scalar output is still a module: call it inside another `#[differentiable]` function that reduces it to a scalar (for example with `sum` or a loss)"
)]
pub trait ScalarOutput<T> {
    /// The seed ∂C/∂C = 1.
    fn one() -> Self;
}
impl<F: Float> ScalarOutput<F> for F {
    fn one() -> Self {
        F::one()
    }
}
