//! The module table. Every module `foo` is a pair of functions:
//!
//! * `foo(args…) -> Y`: the forward kernel;
//! * `foo_vjp(args…, y: &Y, g: Y, need: [bool; N]) -> (Option<G₁>, …, Option<G_N>)`:
//!   the vector-Jacobian product. It receives the forward's arguments (the same
//!   types, passed the same way), the forward's output `y`, the upstream gradient
//!   `g = ∂C/∂y` (same type as `y`, owned: a VJP may reuse its buffer, as the
//!   element-wise ones do) and one flag per argument saying whether that
//!   argument's gradient is wanted; it returns `Some(∂C/∂argᵢ)` for the wanted
//!   ones. An argument that is never differentiated (labels, a mask, a constant
//!   factor) has the slot type `Option<NoGrad>` and is always `None`.
//!
//! `#[differentiable]` calls `foo` in the forward pass and `foo_vjp` in the
//! backward pass; a user-defined module follows the same convention.
//!
//! | module | differentiable inputs | VJP (g = ∂C/∂y) |
//! |---|---|---|
//! | `linear(x, w, b)` | x, w, b | g·w, gᵀ·x, Σ_batch g |
//! | `matmul(a, b)` | a, b | g·bᵀ, aᵀ·g |
//! | `relu(x)` | x | g where x ≥ 0, else 0 |
//! | `leaky_relu(x, slope)` | x | g where x ≥ 0, else slope·g |
//! | `sigmoid(x)` | x | g·y·(1 − y) |
//! | `tanh(x)` | x | g·(1 − y²) |
//! | `exp(x)`, `log(x)` | x | g·y, g/x |
//! | `add(a, b)` / `a + b` | a, b | g, g (summed to each shape) |
//! | `sub(a, b)` / `a - b` | a, b | g, −g |
//! | `mul(a, b)` / `a * b` | a, b | g·b, g·a |
//! | `div(a, b)` / `a / b` | a, b | g/b, −g·y/b |
//! | `neg(a)` / `-a` | a | −g |
//! | `scale(x, c)` | x | c·g |
//! | `max(a, b)` | a, b | g where a > b / g where a ≤ b |
//! | `duplicate(x)` | x | g₁ + g₂ |
//! | `softmax(x)` | x | y·(g − ⟨g, y⟩) |
//! | `log_softmax(x)` | x | g − eʸ·Σg |
//! | `cross_entropy(z, labels)` | z | g·(softmax(z) − onehot)/batch |
//! | `nll_loss(logp, labels)` | logp | −g/batch at each label |
//! | `mse_loss(pred, target)` | pred, target | ±2g·(pred − target)/n |
//! | `sum(x)`, `mean(x)` | x | g, g/n everywhere |
//! | `l2(w)`, `l1(w)` | w | 2g·w, g·sign(w) (0 at 0) |
//! | `dropout(x, mask, p)` | x | g·mask/p |

mod activation;
mod arith;
mod conv;
mod dropout;
mod duplicate;
mod embedding;
mod linear;
mod loss;
mod matmul;
mod max;
mod norm;
mod pool;
#[cfg(test)]
mod precision;
mod reduce;
mod shape;
mod softmax;

pub use activation::{
    exp, exp_vjp, leaky_relu, leaky_relu_vjp, log, log_vjp, relu, relu_vjp, sigmoid, sigmoid_scalar, sigmoid_vjp, tanh,
    tanh_vjp,
};
pub use arith::{add, add_vjp, div, div_vjp, mul, mul_vjp, neg, neg_vjp, scale, scale_vjp, sub, sub_vjp};
pub use conv::{conv2d, conv2d_vjp};
pub use dropout::{dropout, dropout_vjp};
pub use duplicate::{duplicate, duplicate_vjp};
pub use embedding::{embedding, embedding_vjp};
pub use linear::{linear, linear_vjp};
pub use loss::{cross_entropy, cross_entropy_vjp, mse_loss, mse_loss_vjp, nll_loss, nll_loss_vjp};
pub use matmul::{matmul, matmul_vjp};
pub use max::{max, max_vjp};
pub use norm::{batch_norm, batch_norm_vjp, batch_statistics, layer_norm, layer_norm_vjp};
pub use pool::{avg_pool2d, avg_pool2d_vjp, max_pool2d, max_pool2d_vjp};
pub use reduce::{l1, l1_vjp, l2, l2_vjp, mean, mean_vjp, sum, sum_vjp};
pub use shape::{concat, concat_vjp, flatten, flatten_vjp, reshape, reshape_vjp};
pub use softmax::{log_softmax, log_softmax_vjp, softmax, softmax_vjp};
