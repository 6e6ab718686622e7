//! The practical tricks of backpropagation, as tools over any [`Params`] model:
//! initialisation, input standardisation, shuffled minibatches, optimizers,
//! learning-rate schedules, gradient clipping, dropout masks, accuracy,
//! checkpoints, and second-order tools driven by Hessian-vector products
//! ([`curvature`]: the sharpness by power iteration, conjugate gradients for
//! Newton-CG). Weight
//! decay is either coupled (add `λ·l2(w)` or `λ·l1(w)` to the loss, so it goes
//! through the gradient) or decoupled ([`Adam::adamw`]).
//!
//! Every random tool takes the caller's RNG: a run seeded with
//! `StdRng::seed_from_u64(seed)` is reproducible bit for bit.
//!
//! [`Params`]: crate::Params

mod batches;
mod checkpoint;
mod clip;
pub mod curvature;
mod init;
mod metrics;
mod optim;
mod schedule;
mod standardize;

pub use batches::{minibatches, select_labels, select_labels_into, select_rows, select_rows_into};
pub use checkpoint::{CheckpointError, load, save};
pub use clip::{clip_grad_norm, grad_norm};
pub use init::{Init, dropout_mask, dropout_mask_into, init};
pub use metrics::{accuracy, argmax_rows};
pub use optim::{Adam, Optimizer, Sgd};
pub use schedule::{Decay, Schedule};
pub use standardize::Standardizer;
