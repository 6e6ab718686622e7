//! What flows along the edges of a differentiated graph: arrays of any rank and
//! scalars, seen uniformly so that operators can broadcast between them.

use ndarray::{Array, ArrayBase, ArrayD, ArrayRef, ArrayViewD, Axis, Data, DimMax, Dimension, IxDyn};

use crate::float::Float;

/// A differentiable value: an `Array<F, D>` of any rank, or a scalar `f32`/`f64`
/// (treated as a rank-0 array).
pub trait Value: Clone {
    /// The element type.
    type Elem: Float;
    /// A rank-erased view (a scalar is a view of shape `[]`).
    fn view_dyn(&self) -> ArrayViewD<'_, Self::Elem>;
    /// The shape, `[]` for a scalar (for checks: no view is built).
    fn dims(&self) -> &[usize];
    /// Rebuilds the value from a rank-erased array of the right rank.
    fn from_dyn(array: ArrayD<Self::Elem>) -> Self;
    /// Converts to a rank-erased array, reusing an array's buffer.
    fn into_dyn_array(self) -> ArrayD<Self::Elem>;
    /// `f` of every element, as a new value of the same shape.
    fn map_elements(&self, f: impl Fn(Self::Elem) -> Self::Elem + Sync) -> Self;
    /// `self[i] = f(self[i], other[i])` in place, for a value of the same shape.
    fn combine_in_place(self, other: &Self, f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync) -> Self;
    /// The shape, `[]` for a scalar.
    fn shape_of(&self) -> Vec<usize> {
        self.view_dyn().shape().to_vec()
    }
    /// Whether two values have the same shape (without allocating).
    fn same_shape(&self, other: &Self) -> bool {
        self.dims() == other.dims()
    }
    /// `f` of every element, in place (an array keeps its buffer).
    fn map_in_place(self, f: impl Fn(Self::Elem) -> Self::Elem + Sync) -> Self {
        let mut array = crate::elementwise::standard(self.into_dyn_array());
        let values = array.as_slice_mut().expect("standard layout");
        values.iter_mut().for_each(|v| *v = f(*v));
        Self::from_dyn(array)
    }
    /// The value, if it is a plain `f32`/`f64` rather than an array: scalar
    /// arithmetic (a loss plus a weight penalty) then needs no array at all.
    fn as_scalar(&self) -> Option<Self::Elem> {
        None
    }
    /// A plain scalar of this type, or `None` for array types.
    fn from_scalar(x: Self::Elem) -> Option<Self> {
        let _ = x;
        None
    }
}

impl<F: Float, D: Dimension> Value for Array<F, D> {
    type Elem = F;
    fn view_dyn(&self) -> ArrayViewD<'_, F> {
        self.view().into_dyn()
    }
    fn dims(&self) -> &[usize] {
        self.shape()
    }
    fn into_dyn_array(self) -> ArrayD<F> {
        self.into_dyn()
    }
    fn map_elements(&self, f: impl Fn(F) -> F + Sync) -> Self {
        // The rank stays static: no conversion to and from a dynamic shape.
        map_ref(self, f)
    }
    fn combine_in_place(self, other: &Self, f: impl Fn(F, F) -> F + Sync) -> Self {
        zip_ref(other, self, false, f)
    }
    fn from_dyn(array: ArrayD<F>) -> Self {
        let ndim = array.ndim();
        array.into_dimensionality::<D>().unwrap_or_else(|_| {
            panic!("internal error: a rank-{ndim} result cannot become an array of the declared rank")
        })
    }
}

/// A scalar is a rank-0 value: one implementation serves `f32`, `f64` and a
/// generic `F: Float`, so that one generic function serves both precisions.
impl<F: Float> Value for F {
    type Elem = F;
    fn view_dyn(&self) -> ArrayViewD<'_, F> {
        ArrayViewD::from_shape(IxDyn(&[]), std::slice::from_ref(self)).expect("a scalar is a rank-0 array")
    }
    fn dims(&self) -> &[usize] {
        &[]
    }
    fn into_dyn_array(self) -> ArrayD<F> {
        ArrayD::from_elem(IxDyn(&[]), self)
    }
    fn map_elements(&self, f: impl Fn(F) -> F + Sync) -> Self {
        f(*self)
    }
    fn combine_in_place(self, other: &Self, f: impl Fn(F, F) -> F + Sync) -> Self {
        f(self, *other)
    }
    fn map_in_place(self, f: impl Fn(F) -> F + Sync) -> Self {
        f(self)
    }
    fn as_scalar(&self) -> Option<F> {
        Some(*self)
    }
    fn from_scalar(x: F) -> Option<Self> {
        Some(x)
    }
    fn from_dyn(array: ArrayD<F>) -> Self {
        match array.iter().next() {
            Some(&x) if array.len() == 1 => x,
            _ => panic!("internal error: a scalar result of shape {:?}", array.shape()),
        }
    }
}

/// What an element-wise module takes: an array in any storage (owned, a view
/// such as a minibatch `x.slice(s![a..b, ..])`, a `CowArray`, an `&ArrayRef`)
/// or a scalar. [`Input::Value`] is its owned counterpart: the type of the
/// module's result and of the input's gradient. Nothing is copied to read an
/// input.
pub trait Input {
    /// The element type.
    type Elem: Float;
    /// The owned value of the same shape: `Array<F, D>` for arrays, `F` for a scalar.
    type Value: Value<Elem = Self::Elem>;
    /// A rank-erased view (a scalar is a view of shape `[]`).
    fn input_view(&self) -> ArrayViewD<'_, Self::Elem>;
    /// The shape, `[]` for a scalar (for checks: no view is built).
    fn input_dims(&self) -> &[usize];
    /// `f` of every element, as a new value.
    fn map_to_value(&self, f: impl Fn(Self::Elem) -> Self::Elem + Sync) -> Self::Value;
    /// `g[i] = f(g[i], self[i])` in place, for a `g` of this input's shape
    /// (the caller checks): an element-wise VJP reuses the upstream buffer.
    fn zip_into(&self, g: Self::Value, f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync) -> Self::Value;
    /// [`Input::zip_into`] for an `f` that computes every value anew (none
    /// left as it was in `g`), vectorised on the CPU's wider instructions.
    #[doc(hidden)]
    fn zip_into_wide(&self, g: Self::Value, f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync) -> Self::Value;
    /// The value, if it is a plain scalar.
    fn input_scalar(&self) -> Option<Self::Elem> {
        None
    }
}

impl<S, D> Input for ArrayBase<S, D>
where
    S: Data,
    S::Elem: Float,
    D: Dimension,
{
    type Elem = S::Elem;
    type Value = Array<S::Elem, D>;
    fn input_view(&self) -> ArrayViewD<'_, S::Elem> {
        self.view().into_dyn()
    }
    fn input_dims(&self) -> &[usize] {
        self.shape()
    }
    fn map_to_value(&self, f: impl Fn(S::Elem) -> S::Elem + Sync) -> Array<S::Elem, D> {
        map_ref(self, f)
    }
    fn zip_into(&self, g: Array<S::Elem, D>, f: impl Fn(S::Elem, S::Elem) -> S::Elem + Sync) -> Array<S::Elem, D> {
        zip_ref(self, g, false, f)
    }
    fn zip_into_wide(&self, g: Array<S::Elem, D>, f: impl Fn(S::Elem, S::Elem) -> S::Elem + Sync) -> Array<S::Elem, D> {
        zip_ref(self, g, true, f)
    }
}

impl<F: Float, D: Dimension> Input for ArrayRef<F, D> {
    type Elem = F;
    type Value = Array<F, D>;
    fn input_view(&self) -> ArrayViewD<'_, F> {
        self.view().into_dyn()
    }
    fn input_dims(&self) -> &[usize] {
        self.shape()
    }
    fn map_to_value(&self, f: impl Fn(F) -> F + Sync) -> Array<F, D> {
        map_ref(self, f)
    }
    fn zip_into(&self, g: Array<F, D>, f: impl Fn(F, F) -> F + Sync) -> Array<F, D> {
        zip_ref(self, g, false, f)
    }
    fn zip_into_wide(&self, g: Array<F, D>, f: impl Fn(F, F) -> F + Sync) -> Array<F, D> {
        zip_ref(self, g, true, f)
    }
}

impl<F: Float> Input for F {
    type Elem = F;
    type Value = F;
    fn input_view(&self) -> ArrayViewD<'_, F> {
        self.view_dyn()
    }
    fn input_dims(&self) -> &[usize] {
        &[]
    }
    fn map_to_value(&self, f: impl Fn(F) -> F + Sync) -> F {
        f(*self)
    }
    fn zip_into(&self, g: F, f: impl Fn(F, F) -> F + Sync) -> F {
        f(g, *self)
    }
    fn zip_into_wide(&self, g: F, f: impl Fn(F, F) -> F + Sync) -> F {
        f(g, *self)
    }
    fn input_scalar(&self) -> Option<F> {
        Some(*self)
    }
}

// The element-wise helpers apply their closure only in passes over slices:
// an array in another layout is copied to standard layout first. Each closure
// then instantiates one loop, rather than ndarray's strided iteration too,
// which a user's crate would compile again for every module call it makes.

/// `f` of every element of an array in any storage, into a workspace buffer
/// in one pass over a slice.
fn map_ref<F: Float, D: Dimension>(x: &ArrayRef<F, D>, f: impl Fn(F) -> F + Sync) -> Array<F, D> {
    let x = x.as_standard_layout();
    crate::elementwise::array_from_map(x.raw_dim(), x.as_slice().expect("standard layout"), f)
}

/// `g[i] = f(g[i], x[i])` in place, for `x` of `g`'s shape; `wide` for an `f`
/// that computes every value anew.
fn zip_ref<F: Float, D: Dimension>(
    x: &ArrayRef<F, D>,
    g: Array<F, D>,
    wide: bool,
    f: impl Fn(F, F) -> F + Sync,
) -> Array<F, D> {
    assert_eq!(
        x.shape(),
        g.shape(),
        "internal error: element-wise operands of different shapes"
    );
    let mut g = crate::elementwise::standard(g);
    let x = x.as_standard_layout();
    let gs = g.as_slice_mut().expect("standard layout");
    let xs = x.as_slice().expect("standard layout");
    if wide {
        crate::elementwise::zip_in_place_wide(gs, xs, f);
    } else {
        crate::elementwise::zip_in_place(gs, xs, f);
    }
    g
}

/// Panics unless an upstream gradient has the shape of an input: the check of
/// every element-wise VJP.
pub(crate) fn check_input<X: Input + ?Sized, V: Value>(module: &str, role: &str, x: &X, g: &V) {
    check_shape(module, role, x.input_dims(), g.dims());
}

/// Panics, naming `module` and both shapes, unless the upstream gradient `g`
/// has the shape of `value` (the module's `role` value: its input or output).
pub(crate) fn check_upstream<V: Value>(module: &str, role: &str, value: &V, g: &V) {
    check_shape(module, role, value.dims(), g.dims());
}

/// Panics unless an upstream gradient has the output's shape.
#[inline]
pub(crate) fn check_shape(module: &str, role: &str, expected: &[usize], g: &[usize]) {
    if expected != g {
        shape_mismatch(module, role, expected, g);
    }
}

#[cold]
#[inline(never)]
fn shape_mismatch(module: &str, role: &str, expected: &[usize], g: &[usize]) -> ! {
    panic!("{module}: upstream gradient has shape {g:?}, {role} has shape {expected:?}");
}

/// The result type of an element-wise binary operation between `Self` and `Rhs`
/// under numpy broadcasting: array ⊕ array has the larger rank, array ⊕ scalar
/// is an array, scalar ⊕ scalar is a scalar.
pub trait Broadcast<Rhs: Value<Elem = Self::Elem>>: Value {
    /// The broadcast result.
    type Output: Value<Elem = Self::Elem>;
}

impl<F: Float, D1, D2> Broadcast<Array<F, D2>> for Array<F, D1>
where
    D1: Dimension + DimMax<D2>,
    D2: Dimension,
{
    type Output = Array<F, <D1 as DimMax<D2>>::Output>;
}

impl<F: Float, D: Dimension> Broadcast<F> for Array<F, D> {
    type Output = Array<F, D>;
}

impl<F: Float, D: Dimension> Broadcast<Array<F, D>> for F {
    type Output = Array<F, D>;
}

impl<F: Float> Broadcast<F> for F {
    type Output = F;
}

/// The numpy broadcast shape of two shapes, or a panic naming `module` and both
/// shapes.
pub fn broadcast_shape(module: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    broadcast_dim(module, a, b).slice().to_vec()
}

/// [`broadcast_shape`] as a dimension, which holds up to four axes without
/// allocating.
pub(crate) fn broadcast_dim(module: &str, a: &[usize], b: &[usize]) -> IxDyn {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        // Axis i of the result, counted from the left, is axis i - (rank - len) of s.
        if i + s.len() < rank { 1 } else { s[i + s.len() - rank] }
    };
    let mut out = IxDyn::zeros(rank);
    for (i, o) in out.slice_mut().iter_mut().enumerate() {
        *o = match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => panic!("{module}: shapes {a:?} and {b:?} cannot be broadcast together"),
        };
    }
    out
}

/// Sums a gradient of the broadcast shape back to an operand's `shape`: the
/// adjoint of broadcasting (each copy of a broadcast element got its own share).
/// A gradient that already has the shape is returned as it is, without a copy.
///
/// The work runs in the f32 or f64 instance compiled in this crate: generic,
/// it was compiled again (two thousand lines of LLVM IR) in every crate whose
/// generated code takes the gradient of a broadcasting operation.
pub fn sum_to_shape<F: Float>(grad: ArrayD<F>, shape: &[usize]) -> ArrayD<F> {
    use crate::float::{array_as, back_as};
    match array_as::<F, f32, _>(grad) {
        Ok(grad) => back_as(sum_to_shape_f32(grad, shape)),
        Err(grad) => back_as(sum_to_shape_f64(
            array_as::<F, f64, _>(grad).expect("`Float` is f32 or f64"),
            shape,
        )),
    }
}

/// [`sum_to_shape`] for f32.
#[inline(never)]
fn sum_to_shape_f32(grad: ArrayD<f32>, shape: &[usize]) -> ArrayD<f32> {
    summed_to_shape(grad, shape)
}

/// [`sum_to_shape`] for f64.
#[inline(never)]
fn sum_to_shape_f64(grad: ArrayD<f64>, shape: &[usize]) -> ArrayD<f64> {
    summed_to_shape(grad, shape)
}

/// [`sum_to_shape`]'s work. Leading axes only (`[b, t, c]` back to `[t, c]`,
/// a position table's share): the blocks added in order into a workspace
/// buffer. Otherwise leading axes are summed away, then axes of length 1 in
/// `shape`.
fn summed_to_shape<F: Float>(grad: ArrayD<F>, shape: &[usize]) -> ArrayD<F> {
    if grad.shape() == shape {
        return grad;
    }
    let lead = grad.ndim().saturating_sub(shape.len());
    if lead > 0 && grad.shape()[lead..] == *shape && grad.is_standard_layout() {
        let dim = IxDyn(shape);
        let mut sum: ArrayD<F> = crate::workspace::zeros(dim.clone());
        let size = dim.size();
        if size > 0 {
            for block in grad.as_slice().expect("standard layout").chunks_exact(size) {
                let block = ArrayViewD::from_shape(dim.clone(), block).expect("one block");
                F::add_arrays(sum.view_mut(), block);
            }
        }
        crate::workspace::recycle_array(grad);
        return sum;
    }
    let mut sum = grad;
    while sum.ndim() > shape.len() {
        sum = sum.sum_axis(Axis(0));
    }
    for (axis, &len) in shape.iter().enumerate() {
        if len == 1 && sum.shape()[axis] != 1 {
            sum = sum.sum_axis(Axis(axis)).insert_axis(Axis(axis));
        }
    }
    sum
}

/// The gradient slot of an argument that cannot be differentiated (labels,
/// masks, constants of a module). It has no values, so `Option<NoGrad>` is
/// always `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoGrad {}
