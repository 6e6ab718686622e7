//! Compile-time reverse-mode automatic differentiation for neural-network code.
//!
//! Write an ordinary function of module calls and put `#[differentiable]` on it:
//!
//! ```
//! use autodiff::prelude::*;
//!
//! #[differentiable(wrt(w1, b1, w2, b2))]
//! pub fn mlp_loss(x: &Array2<f64>, labels: &[usize],
//!                 w1: &Array2<f64>, b1: &Array1<f64>,
//!                 w2: &Array2<f64>, b2: &Array1<f64>) -> f64 {
//!     let h = linear(x, w1, b1);
//!     let a = relu(&h);
//!     let z = linear(&a, w2, b2);
//!     cross_entropy(&z, labels)
//! }
//!
//! let x = Array2::from_shape_fn((4, 3), |(i, j)| (i as f64 - j as f64) / 4.0);
//! let labels = [0, 1, 1, 0];
//! let (w1, b1) = (Array2::from_elem((5, 3), 0.1), Array1::zeros(5));
//! let (w2, b2) = (Array2::from_elem((2, 5), -0.2), Array1::zeros(2));
//! let (loss, g) = mlp_loss_grad(&x, &labels, &w1, &b1, &w2, &b2);
//! assert_eq!(loss, mlp_loss(&x, &labels, &w1, &b1, &w2, &b2));
//! assert_eq!(g.w1.shape(), w1.shape());
//! ```
//!
//! The macro keeps `mlp_loss` unchanged and adds, with the same visibility:
//!
//! * `mlp_loss_grad(same parameters) -> (f64, MlpLossGrad)`: the value and the
//!   gradient of every differentiated parameter;
//! * `struct MlpLossGrad { pub w1: Array2<f64>, pub b1: Array1<f64>, ... }`;
//! * `mlp_loss_grad_with(&mut workspace, ...)`: the same, reusing the arrays
//!   a [`Workspace`] keeps between calls;
//! * `mlp_loss_vjp(...)` (hidden): the function as a module, so that another
//!   `#[differentiable]` function can call `mlp_loss` and differentiate through it;
//! * `MLP_LOSS_GRAD_SOURCE: &str`: the code of `mlp_loss_grad` as generated,
//!   pretty-printed (also shown in its rustdoc), and `MLP_LOSS_GRAPHS:`
//!   [`Graphs`]: the forward graph and the gradient graph in Graphviz DOT. A
//!   method's are associated constants.
//!
//! # Explanation: what the expansion looks like
//!
//! The body is parsed into a dataflow graph (`%3 = linear(x, w1, b1)`,
//! `%4 = relu(&%3)`, ...), which is reversed at compile time. `mlp_loss_grad` is
//! straight-line Rust: the forward calls, then one VJP call per active module
//! in reverse order:
//!
//! ```text
//! let __v7_h = linear(x, w1, b1);
//! let __v8_a = relu(&__v7_h);
//! let __v9_z = linear(&__v8_a, w2, b2);
//! let __v6 = cross_entropy(&__v9_z, labels);
//! let __g6 = Some(seed(&__v6));                                   // ∂C/∂C = 1
//! let (__c4_0, _) = match __g6 {
//!     Some(__g) => cross_entropy_vjp(&__v9_z, labels, &__v6, __g, [true, false]),
//!     None => (None, None),
//! };
//! let __g9_z = gradient(__c4_0);
//! ...
//! recycle!(__v9_z);                                               // last use of z
//! ...
//! let (_, __c1_1, __c1_2) = match __g7_h {
//!     Some(__g) => linear_vjp(x, w1, b1, &__v7_h, __g, [false, true, true]),
//!     None => (None, None, None),
//! };
//! ```
//!
//! Locals are named after the user's variables (`__v7_h` is the value of
//! `h`, `__g7_h` its gradient). The whole function is in the rustdoc of
//! `mlp_loss_grad` and, as a string, in `MLP_LOSS_GRAD_SOURCE`. Every name
//! the generated code introduces (`N` a variable's number, `_h` the user's
//! name for it, `S` a step's number, `L` a loop's, `B` a branch's):
//!
//! | name | holds |
//! |---|---|
//! | `__vN_h` | a value |
//! | `__sN_h` | the stack of a reassigned value's old values, for the backward pass |
//! | `__gN_h` | the gradient of a value; `__gN_k` of output `k` of a tuple; `__gN_h__a__b` of the field `h.a.b` |
//! | `__gmN_h` | the whole gradient of a model whose layers a loop visits |
//! | `__kS` | a constant that reads a local, evaluated once before step `S`; `__skS` its stack |
//! | `__lL` | loop `L`'s record: where each iteration ended |
//! | `__xL` | in the backward pass, where the iteration being reversed ended |
//! | `__iL`, `__ixL` | a loop over layers: the layer's index, and the stack of indices |
//! | `__bB` | branch `B`'s record: the arm taken |
//! | `__exit`, `'__forward` | where the function returned, and the label `return` leaves |
//! | `__yS` | step `S`'s value restored from its stack for its VJP |
//! | `__cS_i` | the gradient that the VJP of step `S` gives argument `i` |
//! | `__g` | the upstream gradient inside a VJP call |
//! | `__new` | a new value on its way into a reassigned variable |
//! | `__need`, `__gout` | `NAME_vjp`'s flags and upstream gradient |
//! | `__s`, `__f` | a gradient being assembled, and one part added to it |
//! | `__workspace`, `__Scalar` | `NAME_grad_with`'s workspace; the output type's scalar |
//! | `…__t` | the twin of a value, gradient or layer holding its tangent (`hvp`) |
//! | `__tpI` | the tangent of parameter `I` (`hvp`): an `Option`, `None` when not differentiated |
//! | `__direction` / `__tangents` | `NAME_hvp`'s direction `v`; the tangents `NAME_tangent` is given |
//! | `__t` | a parameter's tangent, inside the closure that takes one of its fields |
//! | `__out` / `__out__t` | `NAME_jvp`'s value and tangent, on their way out |
//!
//! Note the last `need` mask: `x` is data, so no ∂C/∂x is computed.
//!
//! # Modules
//!
//! A module `foo` is a pair of functions `foo` and `foo_vjp`; see [`modules`]
//! for the convention, the table of built-in modules and their gradients. A
//! user-defined module follows the same convention, and a `#[differentiable]`
//! function is a module too.

pub use autodiff_macros::{Params, differentiable};
/// Data-parallel training over MPI (feature `mpi`).
#[cfg(feature = "mpi")]
pub use autodiff_runtime::distributed;
pub use autodiff_runtime::gradcheck;
pub use autodiff_runtime::modules;
pub use autodiff_runtime::{
    Broadcast, Float, Gradient, Graphs, Input, MethodGrad, NoGrad, Params, Recycle, Value, Workspace, broadcast_shape,
    sum_to_shape,
};
pub use autodiff_runtime::{anomaly, data, gemm, hooks, module, stats, train, workspace};
pub use ndarray;

// Lets the crate's own code use the macro, whose output names `::autodiff`.
extern crate self as autodiff;

/// Everything a differentiable function needs: the macro, every module and its
/// VJP, the traits of the convention, and ndarray's array types.
pub mod prelude {
    pub use crate::{Params, differentiable, module};
    pub use autodiff_runtime::modules::*;
    pub use autodiff_runtime::{Float, Gradient, Input, NoGrad, Value, Workspace};
    pub use ndarray::{
        Array, Array1, Array2, Array3, Array4, ArrayD, ArrayRef, ArrayRef1, ArrayRef2, ArrayRef3, ArrayRef4, ArrayView,
        ArrayView1, ArrayView2, ArrayView3, ArrayView4, Axis, CowArray, Dimension, Ix1, Ix2, Ix3, Ix4, IxDyn, array, s,
    };
}

#[doc(hidden)]
pub mod __private {
    pub use autodiff_runtime::private::*;
}

/// The README's Rust examples, compiled and run as doc tests so that they
/// cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The Rust examples of the design notes, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/design.md")]
pub struct DesignDoctests;
