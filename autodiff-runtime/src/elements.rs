//! The values of one tensor as gradient hooks see them: a view tagged with
//! its element type, so that one hook serves f32 and f64 models.

use std::any::TypeId;
use std::mem::ManuallyDrop;

use ndarray::{ArrayView, ArrayViewD, ArrayViewMut, ArrayViewMutD, Dimension};

use crate::float::Float;

/// The values of one tensor, of either element type.
pub enum Elements<'a> {
    /// An `f32` tensor.
    F32(ArrayViewD<'a, f32>),
    /// An `f64` tensor.
    F64(ArrayViewD<'a, f64>),
}

/// The values of one tensor, mutably, of either element type.
pub enum ElementsMut<'a> {
    /// An `f32` tensor.
    F32(ArrayViewMutD<'a, f32>),
    /// An `f64` tensor.
    F64(ArrayViewMutD<'a, f64>),
}

/// The accessors both kinds of view share.
macro_rules! accessors {
    ($kind:ident) => {
        impl $kind<'_> {
            /// The tensor's shape.
            pub fn shape(&self) -> &[usize] {
                match self {
                    $kind::F32(v) => v.shape(),
                    $kind::F64(v) => v.shape(),
                }
            }

            /// The number of values.
            pub fn len(&self) -> usize {
                self.shape().iter().product()
            }

            /// Whether the tensor has no values.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// `"f32"` or `"f64"`.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $kind::F32(_) => "f32",
                    $kind::F64(_) => "f64",
                }
            }
        }
    };
}

accessors!(Elements);
accessors!(ElementsMut);

impl Elements<'_> {
    /// Calls `f` with zeros of this shape and type: one zero behind a view
    /// whose strides are all 0, so nothing is allocated.
    pub(crate) fn zeros(&self, f: impl FnOnce(Elements<'_>)) {
        let (zero_f32, zero_f64) = (ndarray::aview0(&0.0f32).into_dyn(), ndarray::aview0(&0.0f64).into_dyn());
        let shape = match self {
            Elements::F32(v) => v.raw_dim(),
            Elements::F64(v) => v.raw_dim(),
        };
        let broadcast = "a 0-d array broadcasts to any shape";
        match self {
            Elements::F32(_) => f(Elements::F32(zero_f32.broadcast(shape).expect(broadcast))),
            Elements::F64(_) => f(Elements::F64(zero_f64.broadcast(shape).expect(broadcast))),
        }
    }
}

impl<'a> Elements<'a> {
    /// The values of `view`, tagged with their type.
    pub(crate) fn of<F: Float, D: Dimension>(view: ArrayView<'a, F, D>) -> Self {
        match cast::<F, f32, _, _>(view.into_dyn()) {
            Ok(v) => Elements::F32(v),
            Err(view) => Elements::F64(cast::<F, f64, _, _>(view).unwrap_or_else(|_| not_a_float())),
        }
    }
}

impl<'a> ElementsMut<'a> {
    /// The values of `view`, mutably, tagged with their type.
    pub(crate) fn of<F: Float, D: Dimension>(view: ArrayViewMut<'a, F, D>) -> Self {
        match cast::<F, f32, _, _>(view.into_dyn()) {
            Ok(v) => ElementsMut::F32(v),
            Err(view) => ElementsMut::F64(cast::<F, f64, _, _>(view).unwrap_or_else(|_| not_a_float())),
        }
    }
}

fn not_a_float() -> ! {
    unreachable!("`Float` is implemented for f32 and f64 only")
}

/// A view of `F` values (`V`) as the same view of `T` values (`W`) when `F`
/// is `T`; otherwise the view, unchanged.
fn cast<F: 'static, T: 'static, V: ViewOf<F, W>, W>(view: V) -> Result<W, V> {
    if TypeId::of::<F>() != TypeId::of::<T>() {
        return Err(view);
    }
    let view = ManuallyDrop::new(view);
    // SAFETY: `V` and `W` are the same kind of view over the same dimension
    // (`ViewOf`), and their element types `F` and `T` are the same type, so
    // `V` and `W` are one type: a bitwise copy is a valid value, and the
    // original is never used or dropped again.
    Ok(unsafe { std::mem::transmute_copy(&*view) })
}

/// `Self` is a view of `F` values, and `W` the same view of other values.
trait ViewOf<F, W> {}

impl<'a, F, T> ViewOf<F, ArrayViewD<'a, T>> for ArrayViewD<'a, F> {}

impl<'a, F, T> ViewOf<F, ArrayViewMutD<'a, T>> for ArrayViewMutD<'a, F> {}
