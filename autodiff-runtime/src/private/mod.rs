//! What the code emitted by `#[differentiable]` calls, through
//! `::autodiff::__private`, and what nothing else in the runtime imports.
//! Operators become calls of the arithmetic modules; the rest is split by
//! concern: `gradients` (bookkeeping of the backward pass), `memory`
//! (values of the generated code: stacks, reassigned values, recycling),
//! `checks` (anomaly mode and gradient hooks), `operators` (negation in
//! generic functions), `outputs` (the tuple a function with several outputs
//! returns).

mod checks;
mod gradients;
mod memory;
mod operators;
mod outputs;

pub use crate::check;
pub use crate::float::Float;
pub use crate::gradient::{Gradient, GradientOf, MethodGrad, NoGrad};
pub use crate::graphs::Graphs;
pub use crate::hooks;
pub use crate::hooks::{hooked, progress, ready, ready_in_place, ready_layer, ready_whole};
pub use crate::modules::{add, add_vjp, div, div_vjp, mul, mul_vjp, neg, neg_vjp, sub, sub_vjp};
// The modules that ndarray's methods on active values become (`h.t()`,
// `h.sum()`, `s.sqrt()`, ...).
pub use crate::modules::{
    abs, abs_vjp, exp, exp_vjp, exponent, log, log_vjp, matmul, matmul_vjp, max, max_vjp, mean, mean_axis,
    mean_axis_vjp, mean_vjp, pow, pow_vjp, slice, slice_vjp, sqrt, sqrt_vjp, sum, sum_axis, sum_axis_vjp, sum_vjp,
    tanh, tanh_vjp, transpose, transpose_vjp,
};
pub use crate::params::{Params, join_name};
pub use crate::workspace::{Recycle, Workspace, with_thread_workspace};
pub use autodiff_macros::declare_module;
pub use checks::*;
pub use gradients::*;
pub use memory::*;
pub use ndarray;
pub use ndarray::{ArrayViewD, ArrayViewMutD};
pub use operators::*;
pub use outputs::*;
