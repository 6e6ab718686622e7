//! Gradients as the generated backward pass handles them: accumulated across
//! fan-out, zero-filled for unused outputs, and `NoGrad` for arguments that
//! cannot be differentiated.

use ndarray::{Array, Dimension};

use crate::elements::{Elements, ElementsMut};
use crate::float::Float;
pub use crate::value::NoGrad;

/// Something a gradient can be: an array, a scalar, or a `Params` struct of
/// gradients. The generated backward pass only needs these two operations.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be differentiated",
    label = "differentiated here, but `{Self}` is not an array, a float or a `Params` struct",
    note = "a struct of parameters needs `#[derive(Params)]`"
)]
pub trait Gradient: Sized {
    /// A zero gradient with the shape of `value` (the value itself: a gradient has
    /// the shape of what it is the gradient of).
    fn zeros_like(value: &Self) -> Self;
    /// `self += other`, in place: fan-out gradients are summed into one buffer.
    /// Into an [`empty_like`](Gradient::empty_like) gradient, `other` is moved.
    fn accumulate(&mut self, other: Self);
    /// A gradient with no storage yet, for a model whose gradient arrives
    /// field by field: [`accumulate`](Gradient::accumulate) moves the first
    /// contribution in, and [`fill_like`](Gradient::fill_like) puts zeros
    /// wherever none arrived. Neither allocates nor zero-fills what arrives.
    fn empty_like(value: &Self) -> Self {
        Self::zeros_like(value)
    }
    /// Completes an [`empty_like`](Gradient::empty_like) gradient with zeros.
    fn fill_like(&mut self, value: &Self) {
        let _ = value;
    }
    /// Calls `f(name, values)` for each tensor, names joined with `.` under
    /// `name`, for gradient hooks.
    #[doc(hidden)]
    fn visit_elements(&self, name: &str, f: &mut dyn FnMut(&str, Elements<'_>));
    /// Calls `f(name, values)` for each tensor, mutably.
    #[doc(hidden)]
    fn visit_elements_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, ElementsMut<'_>));
}

impl<F: Float, D: Dimension> Gradient for Array<F, D> {
    fn visit_elements(&self, name: &str, f: &mut dyn FnMut(&str, Elements<'_>)) {
        f(name, Elements::of(self.view()));
    }
    fn visit_elements_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, ElementsMut<'_>)) {
        f(name, ElementsMut::of(self.view_mut()));
    }
    fn zeros_like(value: &Self) -> Self {
        crate::workspace::zeros(value.raw_dim())
    }
    fn empty_like(value: &Self) -> Self {
        // No elements, so no allocation; its shape differs from `value`'s
        // unless `value` is itself empty, where the two mean the same.
        Array::zeros(D::zeros(value.ndim()))
    }
    fn fill_like(&mut self, value: &Self) {
        if self.shape() != value.shape() {
            *self = crate::workspace::zeros(value.raw_dim());
        }
    }
    fn accumulate(&mut self, other: Self) {
        if self.is_empty() && self.shape() != other.shape() {
            // Still empty_like: the first contribution moves in.
            *self = other;
            return;
        }
        if self.shape() != other.shape() {
            shapes_differ(self.shape(), other.shape());
        }
        F::add_arrays(self.view_mut().into_dyn(), other.view().into_dyn());
        crate::workspace::recycle_array(other);
    }
}

// Apart and not generic: the message is formatted once, in this crate.
#[cold]
#[inline(never)]
#[track_caller]
fn shapes_differ(a: &[usize], b: &[usize]) -> ! {
    panic!("gradient accumulation: shapes {a:?} and {b:?} differ")
}

/// The gradient of a list (the layers of a model) is a list of gradients.
impl<T: Gradient> Gradient for Vec<T> {
    fn visit_elements(&self, name: &str, f: &mut dyn FnMut(&str, Elements<'_>)) {
        for (i, item) in self.iter().enumerate() {
            item.visit_elements(&crate::params::join_name(name, &i.to_string()), f);
        }
    }
    fn visit_elements_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, ElementsMut<'_>)) {
        for (i, item) in self.iter_mut().enumerate() {
            item.visit_elements_mut(&crate::params::join_name(name, &i.to_string()), f);
        }
    }
    fn zeros_like(value: &Self) -> Self {
        let mut out = crate::workspace::take_vec();
        out.extend(value.iter().map(T::zeros_like));
        out
    }
    fn empty_like(value: &Self) -> Self {
        let mut out = crate::workspace::take_vec();
        out.extend(value.iter().map(T::empty_like));
        out
    }
    fn fill_like(&mut self, value: &Self) {
        if self.len() != value.len() {
            *self = Self::zeros_like(value);
            return;
        }
        for (g, v) in self.iter_mut().zip(value) {
            g.fill_like(v);
        }
    }
    fn accumulate(&mut self, other: Self) {
        if self.is_empty() {
            *self = other;
            return;
        }
        if self.len() != other.len() {
            panic!(
                "gradient accumulation: lists of {} and {} items",
                self.len(),
                other.len()
            );
        }
        for (g, o) in self.iter_mut().zip(other) {
            g.accumulate(o);
        }
    }
}

impl<F: Float> Gradient for F {
    fn visit_elements(&self, name: &str, f: &mut dyn FnMut(&str, Elements<'_>)) {
        f(name, Elements::of(ndarray::aview0(self)));
    }
    fn visit_elements_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, ElementsMut<'_>)) {
        f(
            name,
            ElementsMut::of(ndarray::ArrayViewMut::from_shape((), std::slice::from_mut(self)).expect("one value")),
        );
    }
    fn zeros_like(_: &Self) -> Self {
        F::zero()
    }
    fn accumulate(&mut self, other: Self) {
        *self += other;
    }
}

/// A parameter whose gradient has type `G`: `G` itself (arrays, scalars,
/// models), or an array view, `CowArray` or `&ArrayRef`, whose gradient is
/// the owned array of its shape. (The generated code asks for it; not a
/// stable API.)
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be differentiated",
    label = "differentiated here, but `{Self}` is not an array, a float or a `Params` struct",
    note = "a struct of parameters needs `#[derive(Params)]`"
)]
pub trait GradientOf<G> {
    /// Zeros of the parameter's shape.
    fn zeros_for(&self) -> G;
}

impl<G: Gradient> GradientOf<G> for G {
    fn zeros_for(&self) -> G {
        G::zeros_like(self)
    }
}

impl<F: Float, D: ndarray::Dimension> GradientOf<ndarray::Array<F, D>> for ndarray::ArrayView<'_, F, D> {
    fn zeros_for(&self) -> ndarray::Array<F, D> {
        crate::workspace::zeros(self.raw_dim())
    }
}

impl<F: Float, D: ndarray::Dimension> GradientOf<ndarray::Array<F, D>> for ndarray::CowArray<'_, F, D> {
    fn zeros_for(&self) -> ndarray::Array<F, D> {
        crate::workspace::zeros(self.raw_dim())
    }
}

impl<F: Float, D: ndarray::Dimension> GradientOf<ndarray::Array<F, D>> for ndarray::ArrayRef<F, D> {
    fn zeros_for(&self) -> ndarray::Array<F, D> {
        crate::workspace::zeros(self.raw_dim())
    }
}

/// The gradients from `NAME_grad` of a `#[differentiable]` method (a struct
/// cannot be declared inside an `impl`, so methods share this one):
/// `self_` is the receiver's gradient (`()` when `self` is not
/// differentiated), and `args` the other differentiated parameters' in
/// order, as a tuple.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodGrad<S, A> {
    /// ∂output/∂`self`: a model of gradients, like the model.
    pub self_: S,
    /// ∂output/∂ each other differentiated parameter, in order.
    pub args: A,
}
