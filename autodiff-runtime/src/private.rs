//! What the code emitted by `#[differentiable]` calls, through
//! `::autodiff::__private`. Operators become calls of the arithmetic modules;
//! the helpers below handle gradient bookkeeping.

pub use crate::check;
pub use crate::float::Float;
pub use crate::gradient::{Gradient, GradientOf, MethodGrad, NoGrad};
pub use crate::graphs::Graphs;
pub use crate::hooks;
pub use crate::hooks::{hooked, progress, ready, ready_in_place, ready_layer, ready_whole};
pub use crate::modules::{add, add_vjp, div, div_vjp, mul, mul_vjp, neg, neg_vjp, sub, sub_vjp};
pub use crate::params::{Params, join_name};
pub use autodiff_macros::declare_module;
pub use ndarray;
pub use ndarray::{ArrayViewD, ArrayViewMutD};

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
#[inline]
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

/// A value at its last use, handed to `recycle!`.
pub struct Dead<T>(pub core::cell::Cell<Option<T>>);

/// Arrays go back to the active workspace (`recycle!` picks this first).
pub trait RecycleArray {
    /// Gives the buffer back.
    fn recycle(&self);
}

impl<F: crate::float::Float, D: ndarray::Dimension> RecycleArray for Dead<ndarray::Array<F, D>> {
    fn recycle(&self) {
        if let Some(array) = self.0.take() {
            crate::workspace::recycle_array(array);
        }
    }
}

/// Any other value is dropped (chosen by autoref when `RecycleArray` does not apply).
pub trait RecycleAny {
    /// Drops the value.
    fn recycle(&self);
}

impl<T> RecycleAny for &Dead<T> {
    fn recycle(&self) {
        drop(self.0.take());
    }
}

/// Ends a value's life in generated code: an array's buffer returns to the
/// active workspace, anything else is dropped. (Autoref dispatch: the generated
/// code is monomorphic, so the array case is found first when it applies.)
#[doc(hidden)]
#[macro_export]
macro_rules! __autodiff_recycle {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::private::{RecycleAny as _, RecycleArray as _};
        (&$crate::private::Dead(::core::cell::Cell::new(::core::option::Option::Some($value)))).recycle();
    }};
}
pub use crate::__autodiff_recycle as recycle;

pub use crate::workspace::{Recycle, Workspace, with_thread_workspace};

/// A last-in-first-out store of one kind of value, kept across the loops of a
/// generated gradient: the forward pass pushes what the backward pass will
/// read (a value about to be overwritten, a branch taken, a loop iteration's
/// end), and the backward pass pops it in reverse order. Inside
/// [`Workspace::run`] its buffer comes from, and returns to, the workspace.
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    /// An empty stack (a kept buffer inside a workspace).
    #[inline]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Stack {
            items: crate::workspace::take_vec(),
        }
    }

    /// Stores `value` on top.
    #[inline]
    pub fn push(&mut self, value: T) {
        self.items.push(value);
    }

    /// Takes the value on top. The generated backward pass pops exactly what
    /// its forward pass pushed, so an empty stack is a bug of the macro.
    #[inline]
    pub fn pop(&mut self) -> T {
        match self.items.pop() {
            Some(value) => value,
            None => panic!("internal error of #[differentiable]: the backward pass read past its stored values"),
        }
    }
}

impl<T> Drop for Stack<T> {
    fn drop(&mut self) {
        crate::workspace::recycle_vec(std::mem::take(&mut self.items));
    }
}

/// A slot of the generated code (see [`live`]).
pub trait Slotted {
    /// The value the slot holds.
    type Value;
    /// The value, if computed.
    fn get(&self) -> Option<&Self::Value>;
}

impl<T> Slotted for Option<T> {
    type Value = T;
    #[inline(always)]
    fn get(&self) -> Option<&T> {
        self.as_ref()
    }
}

/// The value in a slot of the generated code: a variable assigned in a loop or
/// branch, which always holds a value where it is read. (The value's type
/// comes from the slot through a trait, so that a module taking
/// `&ArrayRef2<F>` sees `&Array2<F>` and coerces it, instead of asking the
/// slot to hold an `ArrayRef2`.)
#[inline(always)]
pub fn live<S: Slotted>(slot: &S) -> &S::Value {
    match slot.get() {
        Some(value) => value,
        None => panic!("internal error of #[differentiable]: a value was read before it was computed"),
    }
}

/// Assigns `value` to `slot`, saving the old value for the backward pass.
#[inline(always)]
pub fn save<T>(slot: &mut Option<T>, stack: &mut Stack<Option<T>>, value: T) {
    stack.push(slot.replace(value));
}

/// Undoes a [`save`]: returns the slot's value and puts the saved one back.
#[inline(always)]
pub fn restore<T>(slot: &mut Option<T>, stack: &mut Stack<Option<T>>) -> Option<T> {
    std::mem::replace(slot, stack.pop())
}

/// Assigns `value` to `slot` when the old value is not needed again.
#[inline(always)]
pub fn set<T>(slot: &mut Option<T>, value: T) -> Option<T> {
    slot.replace(value)
}

impl<F: crate::float::Float, D: ndarray::Dimension> RecycleArray for Dead<Option<ndarray::Array<F, D>>> {
    fn recycle(&self) {
        if let Some(Some(array)) = self.0.take() {
            crate::workspace::recycle_array(array);
        }
    }
}

/// A value for an anomaly check. Generated code calls
/// `(&Probe(&value)).check_forward("module")` after each module call: values
/// that implement [`Finite`](crate::anomaly::Finite) are checked
/// ([`AnomalyCheck`]) when anomaly mode is on; any other type, such as a
/// user's own gradient type, falls through to the no-op [`AnomalySkip`]
/// (method resolution tries `Probe` before `&Probe`). The location in the
/// message is the call's, through `#[track_caller]`.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

fn here(location: &std::panic::Location<'_>) -> String {
    format!("{}:{}:{}", location.file(), location.line(), location.column())
}

/// The checks of anomaly mode, for values that can be checked.
pub trait AnomalyCheck {
    /// See [`crate::anomaly::check_forward`].
    #[track_caller]
    fn check_forward(&self, module: &str);
    /// See [`crate::anomaly::check_gradient`].
    #[track_caller]
    fn check_gradient(&self, module: &str, argument: usize);
}

impl<T: crate::anomaly::Finite + ?Sized> AnomalyCheck for Probe<'_, T> {
    #[inline]
    #[track_caller]
    fn check_forward(&self, module: &str) {
        // The location is formatted only for the message.
        if crate::anomaly::enabled()
            && let Some(found) = self.0.non_finite()
        {
            crate::anomaly::forward_failed(module, &here(std::panic::Location::caller()), &found);
        }
    }
    #[inline]
    #[track_caller]
    fn check_gradient(&self, module: &str, argument: usize) {
        if crate::anomaly::enabled()
            && let Some(found) = self.0.non_finite()
        {
            let location = here(std::panic::Location::caller());
            crate::anomaly::gradient_failed(module, argument, &location, &found);
        }
    }
}

/// The fallback of [`AnomalyCheck`]: nothing to check.
pub trait AnomalySkip {
    /// Does nothing.
    fn check_forward(&self, module: &str);
    /// Does nothing.
    fn check_gradient(&self, module: &str, argument: usize);
}

impl<T: ?Sized> AnomalySkip for &Probe<'_, T> {
    #[inline]
    fn check_forward(&self, _: &str) {}
    #[inline]
    fn check_gradient(&self, _: &str, _: usize) {}
}

/// A parameter's whole gradient, after the installed [hook](crate::hooks)
/// has seen each of its tensors (`finish`), with its name.
#[doc(hidden)]
#[macro_export]
macro_rules! __autodiff_finished {
    ($name:expr, $value:expr) => {{
        #[allow(unused_imports)]
        use $crate::private::{HookFinish as _, HookSkip as _};
        let mut gradient = $value;
        (&mut $crate::private::HookProbe(&mut gradient)).finish($name);
        gradient
    }};
}
pub use crate::__autodiff_finished as finished;

/// Wraps a parameter's whole gradient for [`HookFinish`]: gradient types
/// report each tensor to the installed [hook](crate::hooks); any other type
/// falls through to the no-op [`HookSkip`] (its error is the assembly's).
pub struct HookProbe<'a, G>(pub &'a mut G);

/// `finish` of the installed hook, for gradient types.
pub trait HookFinish {
    /// See [`crate::hooks::GradientHook::finish`].
    fn finish(&mut self, name: &str);
}

impl<G: Gradient> HookFinish for HookProbe<'_, G> {
    #[inline]
    fn finish(&mut self, name: &str) {
        crate::hooks::finish(name, self.0);
    }
}

/// The fallback of [`HookFinish`]: nothing to report.
pub trait HookSkip {
    /// Does nothing.
    fn finish(&mut self, name: &str);
}

impl<G> HookSkip for &mut HookProbe<'_, G> {
    #[inline]
    fn finish(&mut self, _: &str) {}
}
