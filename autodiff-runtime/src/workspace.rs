//! Buffer reuse between training steps. A [`Workspace`] keeps freed array
//! buffers; inside [`Workspace::run`], every kernel of the runtime takes its
//! outputs from them, VJPs return the gradients they consume, and the code
//! `#[differentiable]` generates returns each intermediate after its last use
//! (`recycle!`). From the second step on, the step's own arrays come from the
//! workspace instead of the heap. (The matrix-product libraries still allocate
//! their packing buffers per product; see the README's performance section.)
//!
//! Outside `run`, the same code allocates and frees as usual.

use std::cell::RefCell;

use ndarray::{Array, ArrayD, Dimension, IntoDimension, IxDyn};

use crate::float::Float;

/// At most this many free buffers per element type are kept.
const MAX_FREE: usize = 64;

/// Free buffers, by element type.
#[derive(Debug, Default)]
pub struct Workspace {
    pub(crate) f32: Vec<Vec<f32>>,
    pub(crate) f64: Vec<Vec<f64>>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Workspace>> = const { RefCell::new(None) };
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Workspace::default()
    }

    /// Runs `f` with this workspace's buffers available to the runtime's kernels
    /// on this thread; buffers freed during `f` are kept for the next run.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a> {
            workspace: &'a mut Workspace,
            previous: Option<Workspace>,
        }
        impl Drop for Restore<'_> {
            // Also on panic: the buffers go back to their workspace.
            fn drop(&mut self) {
                let mine = ACTIVE.with(|active| active.replace(self.previous.take()));
                *self.workspace = mine.unwrap_or_default();
            }
        }
        let buffers = std::mem::take(self);
        let previous = ACTIVE.with(|active| active.replace(Some(buffers)));
        let _restore = Restore {
            workspace: self,
            previous,
        };
        f()
    }

    /// The number of free buffers kept.
    pub fn free_buffers(&self) -> usize {
        self.f32.len() + self.f64.len()
    }

    /// Keeps the buffer of `array` for later runs.
    pub fn give<F: Float, D: Dimension>(&mut self, array: Array<F, D>) {
        push(F::free_list(self), array.into_raw_vec_and_offset().0);
    }

    /// Keeps the buffers of gradients (an array, a `Params` model, a tuple of
    /// them) once the optimizer has used them, for the next step.
    pub fn recycle<G: Recycle>(&mut self, gradients: G) {
        gradients.recycle_into(self);
    }
}

/// Values whose buffers a [`Workspace`] can keep: arrays, floats (nothing to
/// keep), tuples of them, and `#[derive(Params)]` models.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tensor or a model",
    label = "a `Params` struct holds arrays, or other `#[derive(Params)]` structs",
    note = "keep other data (names, sizes) outside the model struct"
)]
pub trait Recycle {
    /// Gives every buffer to `workspace`.
    fn recycle_into(self, workspace: &mut Workspace);
}

impl<F: Float, D: Dimension> Recycle for Array<F, D> {
    fn recycle_into(self, workspace: &mut Workspace) {
        workspace.give(self);
    }
}

impl Recycle for f32 {
    fn recycle_into(self, _: &mut Workspace) {}
}

impl Recycle for f64 {
    fn recycle_into(self, _: &mut Workspace) {}
}

macro_rules! recycle_tuples {
    ($(($($t:ident),+)),+) => {$(
        impl<$($t: Recycle),+> Recycle for ($($t,)+) {
            #[allow(non_snake_case)]
            fn recycle_into(self, workspace: &mut Workspace) {
                let ($($t,)+) = self;
                $($t.recycle_into(workspace);)+
            }
        }
    )+};
}
recycle_tuples!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, G),
    (A, B, C, D, E, G, H),
    (A, B, C, D, E, G, H, I)
);

fn push<F>(list: &mut Vec<Vec<F>>, buffer: Vec<F>) {
    if list.len() < MAX_FREE && buffer.capacity() > 0 {
        list.push(buffer);
    }
}

/// An empty vector with room for `len` elements: a kept buffer (the smallest
/// that fits) inside [`Workspace::run`], a new one otherwise.
pub(crate) fn take<F: Float>(len: usize) -> Vec<F> {
    let mut buffer = take_with_contents(len);
    buffer.clear();
    buffer
}

/// Like [`take`], but a kept buffer keeps its old (initialised) contents.
fn take_with_contents<F: Float>(len: usize) -> Vec<F> {
    let reused = ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let list = F::free_list(active.as_mut()?);
        let best = list
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)?;
        Some(list.swap_remove(best))
    });
    reused.unwrap_or_else(|| Vec::with_capacity(len))
}

/// Returns an array's buffer to the active workspace, or frees it.
pub fn recycle_array<F: Float, D: Dimension>(array: Array<F, D>) {
    ACTIVE.with(|active| {
        if let Some(workspace) = active.borrow_mut().as_mut() {
            workspace.give(array);
        }
    });
}

/// A new array of `shape` filled from `values` (which must yield exactly the
/// shape's number of elements, in standard order).
pub(crate) fn array_from_iter<F: Float, Sh: IntoDimension>(
    shape: Sh,
    values: impl Iterator<Item = F>,
) -> Array<F, Sh::Dim> {
    let dim = shape.into_dimension();
    let mut buffer = take(dim.size());
    buffer.extend(values);
    Array::from_shape_vec(dim, buffer).expect("one value per element")
}

/// A new array for an output that will be overwritten completely (the
/// product of a GEMM with β = 0): a kept buffer's old values are left in place
/// rather than zeroed first; new memory is zeroed.
pub(crate) fn scratch<F: Float, Sh: IntoDimension>(shape: Sh) -> Array<F, Sh::Dim> {
    let dim = shape.into_dimension();
    let len = dim.size();
    let mut buffer = take_with_contents(len);
    if buffer.len() >= len {
        buffer.truncate(len);
    } else {
        buffer.resize(len, F::zero());
    }
    Array::from_shape_vec(dim, buffer).expect("sized")
}

/// A new array of zeros.
pub(crate) fn zeros<F: Float, Sh: IntoDimension>(shape: Sh) -> Array<F, Sh::Dim> {
    let dim = shape.into_dimension();
    let mut buffer = take(dim.size());
    buffer.resize(dim.size(), F::zero());
    Array::from_shape_vec(dim, buffer).expect("sized")
}

/// Refills `array` with a new shape and `fill`'s values (which must push
/// exactly the shape's number of elements, in standard order), keeping its
/// buffer: nothing is allocated unless the array has never been this large.
pub(crate) fn refill<F: Float, D: Dimension, Sh: IntoDimension<Dim = D>>(
    array: &mut Array<F, D>,
    shape: Sh,
    fill: impl FnOnce(&mut Vec<F>),
) {
    let dim = shape.into_dimension();
    // A placeholder with no elements (one, for rank 0) while the buffer is out.
    let placeholder = Array::zeros(D::zeros(dim.ndim()));
    let (mut buffer, _) = std::mem::replace(array, placeholder).into_raw_vec_and_offset();
    buffer.clear();
    fill(&mut buffer);
    *array = Array::from_shape_vec(dim, buffer).expect("one value per element");
}

/// `f` of each element of a rank-erased view, into a new array.
pub(crate) fn map_dyn<F: Float>(view: ndarray::ArrayViewD<'_, F>, f: impl Fn(F) -> F) -> ArrayD<F> {
    match view.as_slice() {
        Some(slice) => array_from_iter(IxDyn(view.shape()), slice.iter().map(|&v| f(v))),
        None => view.mapv(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_inside_run_only() {
        let mut ws = Workspace::new();
        ws.run(|| {
            let a: Array<f32, _> = zeros((100, 10));
            recycle_array(a);
        });
        assert_eq!(ws.free_buffers(), 1);
        let address = ws.f32[0].as_ptr();
        let reused = ws.run(|| {
            let b: Array<f32, _> = array_from_iter((10, 100), (0..1000).map(|i| i as f32));
            assert_eq!(b[[9, 99]], 999.0);
            b.as_ptr()
        });
        assert_eq!(reused, address, "the kept buffer was used");
        assert_eq!(ws.free_buffers(), 0);
        // Outside `run`, nothing is kept.
        recycle_array(Array::<f64, _>::zeros(3));
        assert_eq!(ws.free_buffers(), 0);
    }

    #[test]
    fn a_panic_inside_run_returns_the_buffers() {
        let mut ws = Workspace::new();
        ws.give(Array::<f64, _>::zeros(8));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ws.run(|| panic!("boom"))));
        assert!(result.is_err());
        assert_eq!(ws.free_buffers(), 1);
    }
}
