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

    /// Calls `f(tensor, other's tensor)` for each pair of corresponding
    /// tensors of `self` and `other` (say a model and its gradient), without
    /// naming them, so that an optimizer step allocates nothing.
    /// `#[derive(Params)]` implements it field by field; this default collects
    /// `other`'s views first.
    fn visit_zip_mut(
        &mut self,
        other: &Self,
        f: &mut dyn FnMut(ArrayViewMutD<'_, Self::Elem>, ArrayViewD<'_, Self::Elem>),
    ) {
        let mut others = other.views().into_iter();
        self.visit_mut(&mut |name, view| {
            let other = others
                .next()
                .unwrap_or_else(|| panic!("visit_zip_mut: `{name}` has no counterpart"));
            f(view, other);
        });
    }

    /// Calls `f(view)` for each tensor without naming it, so that a pass
    /// over a gradient (its norm) allocates nothing. `#[derive(Params)]`
    /// implements it field by field; this default goes through the names.
    fn visit_values(&self, f: &mut dyn FnMut(ArrayViewD<'_, Self::Elem>)) {
        self.visit(&mut |_, view| f(view));
    }

    /// Calls `f(view)` for each tensor, mutably and without naming it (see
    /// [`Params::visit_values`]).
    fn visit_values_mut(&mut self, f: &mut dyn FnMut(ArrayViewMutD<'_, Self::Elem>)) {
        self.visit_mut(&mut |_, view| f(view));
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
    fn visit_zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(ArrayViewMutD<'_, F>, ArrayViewD<'_, F>)) {
        f(self.view_mut().into_dyn(), other.view().into_dyn());
    }
    fn visit_values(&self, f: &mut dyn FnMut(ArrayViewD<'_, F>)) {
        f(self.view().into_dyn());
    }
    fn visit_values_mut(&mut self, f: &mut dyn FnMut(ArrayViewMutD<'_, F>)) {
        f(self.view_mut().into_dyn());
    }
}

/// A list of tensors or models (the layers of a deep network): element `i`
/// is named `prefix.i`, as PyTorch names the modules of a `ModuleList`.
impl<T: Params> Params for Vec<T> {
    type Elem = T::Elem;
    fn visit_prefixed<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'a, T::Elem>)) {
        for (i, item) in self.iter().enumerate() {
            item.visit_prefixed(&join_name(prefix, &i.to_string()), f);
        }
    }
    fn visit_prefixed_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, T::Elem>)) {
        for (i, item) in self.iter_mut().enumerate() {
            item.visit_prefixed_mut(&join_name(prefix, &i.to_string()), f);
        }
    }
    fn visit_zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(ArrayViewMutD<'_, T::Elem>, ArrayViewD<'_, T::Elem>)) {
        if self.len() != other.len() {
            panic!(
                "visit_zip_mut: a list of {} parameters paired with a list of {}",
                self.len(),
                other.len()
            );
        }
        for (item, other) in self.iter_mut().zip(other) {
            item.visit_zip_mut(other, f);
        }
    }
    fn visit_values(&self, f: &mut dyn FnMut(ArrayViewD<'_, T::Elem>)) {
        self.iter().for_each(|item| item.visit_values(f));
    }
    fn visit_values_mut(&mut self, f: &mut dyn FnMut(ArrayViewMutD<'_, T::Elem>)) {
        self.iter_mut().for_each(|item| item.visit_values_mut(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, ArrayViewD, ArrayViewMutD, array};

    #[test]
    fn a_list_names_its_items_by_index() {
        let layers = vec![array![1.0f32, 2.0], array![3.0]];
        let mut names = Vec::new();
        layers.visit_prefixed("layers", &mut |name, v| names.push((name.to_string(), v.len())));
        assert_eq!(names, [("layers.0".to_string(), 2), ("layers.1".to_string(), 1)]);
        let mut doubled = layers.clone();
        doubled.visit_zip_mut(&layers, &mut |mut a, b| a += &b);
        assert_eq!(doubled, vec![array![2.0, 4.0], array![6.0]]);
    }

    /// A hand-written implementation, which gets the default `visit_zip_mut`.
    struct Pair {
        w: Array2<f64>,
        b: Array1<f64>,
    }

    impl Params for Pair {
        type Elem = f64;
        fn visit_prefixed<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'a, f64>)) {
            self.w.visit_prefixed(&join_name(prefix, "w"), f);
            self.b.visit_prefixed(&join_name(prefix, "b"), f);
        }
        fn visit_prefixed_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, f64>)) {
            self.w.visit_prefixed_mut(&join_name(prefix, "w"), f);
            self.b.visit_prefixed_mut(&join_name(prefix, "b"), f);
        }
    }

    #[test]
    fn default_visit_zip_mut_pairs_in_visiting_order() {
        let mut p = Pair {
            w: array![[1.0, 2.0]],
            b: array![3.0],
        };
        let g = Pair {
            w: array![[10.0, 20.0]],
            b: array![30.0],
        };
        p.visit_zip_mut(&g, &mut |mut w, g| w -= &g);
        assert_eq!((p.w, p.b), (array![[-9.0, -18.0]], array![-27.0]));
    }
}
