//! What the code emitted by `#[differentiable]` calls, through
//! `::autodiff::__private`, and what nothing else in the runtime imports.
//! Operators become calls of the arithmetic modules; the rest is split by
//! concern: `gradients` (bookkeeping of the backward pass), `memory`
//! (values of the generated code: stacks, reassigned values, recycling),
//! `checks` (anomaly mode and gradient hooks), `operators` (negation in
//! generic functions).

mod checks;
mod gradients;
mod memory;
mod operators;

pub use crate::check;
pub use crate::float::Float;
pub use crate::gradient::{Gradient, GradientOf, MethodGrad, NoGrad};
pub use crate::graphs::Graphs;
pub use crate::hooks;
pub use crate::hooks::{hooked, progress, ready, ready_in_place, ready_layer, ready_whole};
pub use crate::modules::{add, add_vjp, div, div_vjp, mul, mul_vjp, neg, neg_vjp, sub, sub_vjp};
pub use crate::params::{Params, join_name};
pub use crate::workspace::{Recycle, Workspace, with_thread_workspace};
pub use autodiff_macros::declare_module;
pub use checks::*;
pub use gradients::*;
pub use memory::*;
pub use ndarray;
pub use ndarray::{ArrayViewD, ArrayViewMutD};
pub use operators::*;
