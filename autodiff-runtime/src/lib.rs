//! The runtime of `autodiff`: every module's forward kernel and vector-Jacobian
//! product (VJP) on `ndarray`, the traits the generated code relies on, and
//! finite-difference gradient checking.
//!
//! Users normally reach this through the `autodiff` facade crate.

#![warn(missing_docs)]
// A VJP returns one `Option` per argument: that tuple is the module convention,
// clearer spelled out than hidden behind aliases.
#![allow(clippy::type_complexity)]

pub mod data;
mod float;
pub mod gemm;
pub mod gradcheck;
mod gradient;
pub mod modules;
mod params;
pub mod stats;
pub mod train;
mod value;
pub mod workspace;

#[cfg(test)]
mod testing;

pub use float::Float;
pub use gradient::{Gradient, MethodGrad, NoGrad};
pub use params::{Params, join_name};
pub use value::{Broadcast, Value, broadcast_shape, sum_to_shape};
pub use workspace::{Recycle, Workspace};

/// Support for the code `#[differentiable]` emits. Not a stable API.
#[doc(hidden)]
pub mod private;
