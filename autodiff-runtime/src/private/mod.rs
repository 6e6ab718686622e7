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
mod tangents;

pub use crate::check;
pub use crate::float::Float;
pub use crate::gradient::{Gradient, GradientOf, MethodGrad, NoGrad};
pub use crate::graphs::Graphs;
pub use crate::hooks;
pub use crate::hooks::{hooked, progress, ready, ready_in_place, ready_layer, ready_whole};
pub use crate::modules::{
    add, add_tangent, add_vjp, add_vjp_tangent, div, div_tangent, div_vjp, div_vjp_tangent, mul, mul_tangent, mul_vjp,
    mul_vjp_tangent, neg, neg_tangent, neg_vjp, neg_vjp_tangent, sub, sub_tangent, sub_vjp, sub_vjp_tangent,
};
// The modules that ndarray's methods on active values become (`h.t()`,
// `h.sum()`, `s.sqrt()`, ...).
pub use crate::modules::{
    abs, abs_tangent, abs_vjp, abs_vjp_tangent, exp, exp_tangent, exp_vjp, exp_vjp_tangent, exponent, log, log_tangent,
    log_vjp, log_vjp_tangent, matmul, matmul_tangent, matmul_vjp, matmul_vjp_tangent, max, max_tangent, max_vjp,
    max_vjp_tangent, mean, mean_axis, mean_axis_tangent, mean_axis_vjp, mean_axis_vjp_tangent, mean_tangent, mean_vjp,
    mean_vjp_tangent, pow, pow_tangent, pow_vjp, pow_vjp_tangent, slice, slice_tangent, slice_vjp, slice_vjp_tangent,
    sqrt, sqrt_tangent, sqrt_vjp, sqrt_vjp_tangent, sum, sum_axis, sum_axis_tangent, sum_axis_vjp,
    sum_axis_vjp_tangent, sum_tangent, sum_vjp, sum_vjp_tangent, tanh, tanh_tangent, tanh_vjp, tanh_vjp_tangent,
    transpose, transpose_tangent, transpose_vjp, transpose_vjp_tangent,
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
pub use tangents::*;
