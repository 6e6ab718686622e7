//! Models as structs of tensors. `#[derive(Params)]` implements [`Params`] for
//! a struct whose fields are arrays (or other `Params` structs), so that
//! optimizers, initialisers, parameter counts and checkpoints work on any model
//! without listing its fields, as PyTorch's `parameters()`, JAX pytrees and
//! burn's `Module` do. The derive also makes the struct a [`Gradient`]: the
//! gradient of a model is a model of gradients, field for field.
//!
//! [`Gradient`]: crate::Gradient

use ndarray::{Array, ArrayViewD, ArrayViewMutD, Dimension};

use crate::float::Float;

/// A collection of named tensors, visited in a fixed order.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tensor or a model",
    label = "a `Params` struct holds arrays, or other `#[derive(Params)]` structs",
    note = "keep other data (names, sizes) outside the model struct"
)]
pub trait Params {
    /// The element type of every tensor.
    type Elem: Float;

    /// Calls `f(name, view)` for each tensor, names joined with `.` under
    /// `prefix`. The views borrow `self`, so they may be kept after the call.
    fn visit_prefixed<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'a, Self::Elem>));

    /// Calls `f(name, view)` for each tensor, mutably.
    fn visit_prefixed_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, Self::Elem>));

    /// Calls `f(name, view)` for each tensor.
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&str, ArrayViewD<'a, Self::Elem>)) {
        self.visit_prefixed("", f);
    }

    /// Views of every tensor, in visiting order.
    fn views(&self) -> Vec<ArrayViewD<'_, Self::Elem>> {
        let mut views = Vec::new();
        self.visit(&mut |_, view| views.push(view));
        views
    }

    /// Calls `f(name, view)` for each tensor, mutably.
    fn visit_mut(&mut self, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, Self::Elem>)) {
        self.visit_prefixed_mut("", f);
    }

    /// The number of scalar parameters.
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit(&mut |_, v| n += v.len());
        n
    }

    /// The names and shapes of every tensor, in visiting order.
    fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        self.visit(&mut |name, v| out.push((name.to_string(), v.shape().to_vec())));
        out
    }
}

/// `prefix.name`, or `name` at the top level.
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// An array is a single tensor, named by its field.
impl<F: Float, D: Dimension> Params for Array<F, D> {
    type Elem = F;
    fn visit_prefixed<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'a, F>)) {
        f(prefix, self.view().into_dyn());
    }
    fn visit_prefixed_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        f(prefix, self.view_mut().into_dyn());
    }
}
