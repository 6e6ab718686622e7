//! Modules that move elements without changing them: `flatten`, `reshape`,
//! `concat`, `transpose`, `permute`, `narrow` and `slice`. Their VJPs move the gradient back:
//! reshaped to the input's shape, cut at the join, transposed back, or
//! scattered into zeros where the slice was taken.

use ndarray::{Array, Array2, ArrayRef, Axis, Dimension, IntoDimension, SliceArg, SliceInfoElem};

use crate::float::Float;
use crate::value::NoGrad;
use crate::workspace::{recycle_array, take_scratch};

use crate::elementwise::copy_as;

/// An owned gradient given the shape `shape`, reusing its buffer when it is
/// in standard layout (as every gradient our modules produce is).
fn reshape_owned<F: Float, D: Dimension, E: Dimension>(g: Array<F, D>, shape: E) -> Array<F, E> {
    if g.is_standard_layout() {
        g.into_shape_with_order(shape).expect("same number of elements")
    } else {
        let out = copy_as(&g, shape);
        recycle_array(g);
        out
    }
}

crate::module! {
    /// `[n, ...]` → `[n, product of the rest]`, row-major, as
    /// `torch.flatten(x, 1)`: the bridge from convolutional to linear layers.
    ///
    /// # Panics
    /// If `x` is a scalar (rank 0): it has no batch axis.
    pub fn flatten<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> Array2<F> {
        if x.ndim() == 0 {
            panic!("flatten: x is a scalar (shape []); it needs a batch axis");
        }
        let n = x.shape()[0];
        let rest = x.shape()[1..].iter().product::<usize>();
        copy_as(x, (n, rest).into_dimension())
    }

    backward(y, g, need) {
        let n = x.shape().first().copied().unwrap_or(0);
        crate::value::check_shape("flatten", "output", &[n, x.len() / n.max(1)], g.shape());
        grad x = reshape_owned(g, x.raw_dim());
    }

    tangent linear;

    gradcheck {
        x: random([2, 3, 2, 2]);
        x: random([3, 4]);
        x: random([1, 2, 1, 3, 2]);
    }
}

crate::module! {
    /// The elements of `x` in row-major order with a new shape of the same
    /// element count (`reshape(&h, (n, 16, 5, 5))`); the result's rank is
    /// the shape's.
    ///
    /// # Panics
    /// If the element counts differ, naming both shapes.
    pub fn reshape<F: Float, D: Dimension, Sh: IntoDimension + Clone>(x: &ArrayRef<F, D>, shape: Sh) -> Array<F, Sh::Dim> {
        let dim = shape.into_dimension();
        if dim.size() != x.len() {
            panic!(
                "reshape: x has shape {:?} ({} elements), which cannot become shape {:?} ({} elements)",
                x.shape(),
                x.len(),
                dim.slice(),
                dim.size()
            );
        }
        copy_as(x, dim)
    }

    backward(y, g, need) {
        crate::value::check_shape("reshape", "output", y.shape(), g.shape());
        grad x = reshape_owned(g, x.raw_dim());
    }

    tangent linear;

    gradcheck {
        x: random([2, 6]), shape: (3, 2, 2);
        x: random([2, 3, 4]), shape: [4, 6];
        x: random([5]), shape: (1, 5);
    }
}

/// Checks that `a` and `b` can be joined along `axis`.
fn check_concat<F, D: Dimension>(a: &ArrayRef<F, D>, b: &ArrayRef<F, D>, axis: usize) {
    if axis >= a.ndim() {
        panic!("concat: axis {axis} is out of range for inputs of rank {}", a.ndim());
    }
    let agree = a
        .shape()
        .iter()
        .zip(b.shape())
        .enumerate()
        .all(|(i, (x, y))| i == axis || x == y);
    if !agree {
        panic!(
            "concat: a has shape {:?} but b has shape {:?}; they must agree on every axis but {axis}",
            a.shape(),
            b.shape()
        );
    }
}

crate::module! {
    /// `a` and `b` joined along `axis` (their other axes agree), as `torch.cat([a, b], axis)`.
    ///
    /// # Panics
    /// If `axis` is out of range or the other axes differ, naming the shapes.
    pub fn concat<F: Float, D: Dimension>(a: &ArrayRef<F, D>, b: &ArrayRef<F, D>, axis: usize) -> Array<F, D> {
        check_concat(a, b, axis);
        let mut dim = a.raw_dim();
        dim[axis] += b.shape()[axis];
        let mut y: Array<F, D> = take_scratch(dim);
        let split = a.shape()[axis];
        let (mut first, mut second) = y.view_mut().split_at(Axis(axis), split);
        first.assign(a);
        second.assign(b);
        y
    }

    backward(y, g, need) {
        check_concat(a, b, axis);
        crate::value::check_shape("concat", "output", y.shape(), g.shape());
        let (ga, gb) = g.view().split_at(Axis(axis), a.shape()[axis]);
        grad a = copy_as(&ga, a.raw_dim());
        grad b = copy_as(&gb, b.raw_dim());
        recycle_array(g);
    }

    /// Linear in both inputs: the tangents joined (zeros for a missing one),
    /// and the VJP of the upstream gradient's tangent.
    tangent(y) {
        let (za, zb) = (Array::zeros(a.raw_dim()), Array::zeros(b.raw_dim()));
        concat(a_t.unwrap_or(&za), b_t.unwrap_or(&zb), axis)
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let upstream = g_t.cloned().unwrap_or_else(|| Array::zeros(y.raw_dim()));
        let (ta, tb, _) = concat_vjp(a, b, axis, y, upstream, [need.a, need.b, false]);
        grad a = ta.expect("asked for");
        grad b = tb.expect("asked for");
    }

    gradcheck {
        a: random([2, 3]), b: random([4, 3]), axis: 0;
        a: random([2, 3]), b: random([2, 1]), axis: 1;
        a: random([2, 1, 3, 3]), b: random([2, 2, 3, 3]), axis: 1;
    }
}

crate::module! {
    /// The axes in reverse order: the transpose of a matrix, as `x.t()` and
    /// `x.reversed_axes()` (the result is the transposed copy, in the
    /// transposed memory order, so the copy is a plain one).
    pub fn transpose<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> Array<F, D> {
        // Into a workspace buffer, in standard layout.
        let t = x.t();
        let shape = t.raw_dim();
        copy_as(&t, shape)
    }

    /// The gradient with its axes reversed back (no copy).
    backward(y, g, need) {
        crate::value::check_shape("transpose", "output", y.shape(), g.shape());
        grad x = g.reversed_axes();
    }

    tangent linear;

    gradcheck {
        x: random([3, 4]);
        x: random([2, 3, 4]);
        x: random([5]);
    }
}

/// Checks a slice of `x`'s axes, so that a range out of bounds names the
/// module and the shape rather than failing inside ndarray.
fn check_slice<F, D: Dimension>(x: &ArrayRef<F, D>, info: &[SliceInfoElem]) {
    let shape = x.shape();
    let axes = info.iter().filter(|e| !matches!(e, SliceInfoElem::NewAxis)).count();
    let fail = |what: String| -> ! { panic!("slice: {what} of an input of shape {shape:?}") };
    if axes != shape.len() {
        fail(format!("{axes} axes are sliced"));
    }
    let resolve = |i: isize, len: usize| if i < 0 { i + len as isize } else { i };
    let mut axis = 0;
    for elem in info {
        match *elem {
            SliceInfoElem::Slice { start, end, step } => {
                let len = shape[axis];
                let begin = resolve(start, len);
                let end = end.map_or(len as isize, |e| resolve(e, len));
                if begin < 0 || end > len as isize || begin > end.max(0) || step == 0 {
                    let end = end.to_string();
                    fail(format!(
                        "the range {start}..{end} (step {step}) of axis {axis}, of length {len},"
                    ));
                }
                axis += 1;
            }
            SliceInfoElem::Index(i) => {
                let len = shape[axis];
                let at = resolve(i, len);
                if at < 0 || at >= len as isize {
                    fail(format!("index {i} of axis {axis}, of length {len},"));
                }
                axis += 1;
            }
            SliceInfoElem::NewAxis => {}
        }
    }
}

crate::module! {
    /// A slice of `x` with constant ranges, as `x.slice(s![.., 2..5])`.
    ///
    /// # Panics
    /// If a range or an index is out of bounds, naming the axis and the shape.
    pub fn slice<F: Float, D: Dimension, I: SliceArg<D> + Clone>(x: &ArrayRef<F, D>, info: I) -> Array<F, I::OutDim> {
        check_slice(x, info.as_ref());
        let view = x.slice(info);
        copy_as(&view, view.raw_dim())
    }

    /// The gradient scattered into zeros of `x`'s shape, where the slice was taken.
    backward(y, g, need) {
        crate::value::check_shape("slice", "output", y.shape(), g.shape());
        let mut gx: Array<F, D> = crate::workspace::zeros(x.raw_dim());
        let g = crate::elementwise::standard(g);
        crate::elementwise::assign_from(gx.slice_mut(info), g.as_slice().expect("standard layout"));
        recycle_array(g);
        grad x = gx;
    }

    tangent linear;

    gradcheck {
        x: random([3, 4]), info: ndarray::s![.., 1..3];
        x: random([4, 5]), info: ndarray::s![1..;2, -2..];
        x: random([2, 3, 4]), info: ndarray::s![1, .., 0..4;3];
        x: random([3]), info: ndarray::s![..2];
    }
}

/// Checks that `axes` permutes `0..ndim`, and returns its inverse.
fn check_permutation(shape: &[usize], axes: &[usize]) -> ndarray::IxDyn {
    // An `IxDyn` of up to four axes is stored inline: no allocation per call.
    let mut inverse = ndarray::IxDyn::zeros(axes.len());
    inverse.slice_mut().fill(usize::MAX);
    let mut valid = axes.len() == shape.len();
    for (i, &a) in axes.iter().enumerate() {
        if a < axes.len() && inverse[a] == usize::MAX {
            inverse[a] = i;
        } else {
            valid = false;
        }
    }
    if !valid {
        panic!(
            "permute: {axes:?} is not a permutation of the {} axes of an input of shape {shape:?}",
            shape.len()
        );
    }
    inverse
}

crate::module! {
    /// The axes in the order `axes` gives, as `torch.permute(x, axes)`
    /// (`permute(&q, [0, 2, 1, 3])` turns `[b, t, h, d]` into `[b, h, t, d]`),
    /// copied to standard layout.
    ///
    /// # Panics
    /// If `axes` is not a permutation of the input's axes.
    pub fn permute<F: Float, D: Dimension, Ax: IntoDimension<Dim = D> + Clone>(x: &ArrayRef<F, D>, axes: Ax) -> Array<F, D> {
        let axes = axes.into_dimension();
        check_permutation(x.shape(), axes.slice());
        let view = x.view().permuted_axes(axes);
        let shape = view.raw_dim();
        copy_as(&view, shape)
    }

    /// The gradient with the inverse permutation.
    backward(y, g, need) {
        crate::value::check_shape("permute", "output", y.shape(), g.shape());
        let axes = axes.into_dimension();
        let inverse = check_permutation(x.shape(), axes.slice());
        let mut order = x.raw_dim();
        order.slice_mut().copy_from_slice(inverse.slice());
        grad x = copy_as(&g.view().permuted_axes(order), x.raw_dim());
        recycle_array(g);
    }

    tangent linear;

    gradcheck {
        x: random([2, 3, 4]), axes: [1, 2, 0];
        x: random([2, 3, 2, 4]), axes: [0, 2, 1, 3];
        x: random([3, 5]), axes: [1, 0];
    }
}

crate::module! {
    /// `len` entries of `axis` from `start` on, as `torch.narrow(x, axis,
    /// start, len)`, copied.
    ///
    /// # Panics
    /// If the axis or the range is out of bounds, naming the shape.
    pub fn narrow<F: Float, D: Dimension>(x: &ArrayRef<F, D>, axis: usize, start: usize, len: usize) -> Array<F, D> {
        check_narrow(x.shape(), axis, start, len);
        let part = x.slice_axis(Axis(axis), ndarray::Slice::from(start..start + len));
        let shape = part.raw_dim();
        copy_as(&part, shape)
    }

    /// The gradient scattered into zeros of the input's shape.
    backward(y, g, need) {
        crate::value::check_shape("narrow", "output", y.shape(), g.shape());
        let mut gx: Array<F, D> = crate::workspace::zeros(x.raw_dim());
        gx.slice_axis_mut(Axis(axis), ndarray::Slice::from(start..start + len)).assign(&g);
        recycle_array(g);
        grad x = gx;
    }

    tangent linear;

    gradcheck {
        x: random([3, 6]), axis: 1, start: 2, len: 3;
        x: random([4, 2, 3]), axis: 0, start: 1, len: 2;
    }
}

// `split` is written by hand rather than with `module!`: its number of
// outputs is a const parameter, which the generated checks cannot choose.

/// `x` cut into `n` equal parts along `axis`, as `torch.chunk(x, n, axis)`
/// when `n` divides the axis: `let [q, k, v] = split(&qkv, 3, 2);`. The
/// parts are copies; their count `N` is the pattern's and must be `n`.
///
/// # Panics
/// If `n` is not `N`, `axis` is out of range, or `n` does not divide its length.
pub fn split<F: Float, D: Dimension, const N: usize>(x: &ArrayRef<F, D>, n: usize, axis: usize) -> [Array<F, D>; N] {
    let len = check_split(x.shape(), n, N, axis);
    std::array::from_fn(|i| {
        let part = x.slice_axis(Axis(axis), ndarray::Slice::from(i * len..(i + 1) * len));
        let shape = part.raw_dim();
        copy_as(&part, shape)
    })
}

/// The parts' gradients written side by side into one array of `x`'s shape
/// (zeros for a part nothing used): no scatter into zeros per part, and no
/// sum of the parts' gradients afterwards.
#[allow(clippy::type_complexity)]
pub fn split_vjp<F: Float, D: Dimension, const N: usize>(
    x: &ArrayRef<F, D>,
    n: usize,
    axis: usize,
    y: &[Array<F, D>; N],
    g: [Option<Array<F, D>>; N],
    need: [bool; 3],
) -> (Option<Array<F, D>>, Option<NoGrad>, Option<NoGrad>) {
    let len = check_split(x.shape(), n, N, axis);
    if !need[0] {
        g.into_iter().flatten().for_each(recycle_array);
        return (None, None, None);
    }
    let mut gx: Array<F, D> = take_scratch(x.raw_dim());
    for (i, (g, y)) in g.into_iter().zip(y).enumerate() {
        let mut part = gx.slice_axis_mut(Axis(axis), ndarray::Slice::from(i * len..(i + 1) * len));
        match g {
            Some(g) => {
                crate::value::check_shape("split", "output", y.shape(), g.shape());
                part.assign(&g);
                recycle_array(g);
            }
            None => part.fill(F::zero()),
        }
    }
    (Some(gx), None, None)
}

/// The tangent's parts: `split` is linear.
pub fn split_tangent<F: Float, D: Dimension, const N: usize>(
    x: &ArrayRef<F, D>,
    n: usize,
    axis: usize,
    _y: &[Array<F, D>; N],
    t: (Option<&ArrayRef<F, D>>, Option<NoGrad>, Option<NoGrad>),
) -> Option<[Array<F, D>; N]> {
    check_split(x.shape(), n, N, axis);
    t.0.map(|t| {
        crate::value::check_shape("split", "tangent", x.shape(), t.shape());
        split(t, n, axis)
    })
}

/// The VJP, and the VJP of the upstream gradient's tangent (no
/// second-order term: `split` is linear).
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub fn split_vjp_tangent<F: Float, D: Dimension, const N: usize>(
    x: &ArrayRef<F, D>,
    n: usize,
    axis: usize,
    _t: (Option<&ArrayRef<F, D>>, Option<NoGrad>, Option<NoGrad>),
    y: &[Array<F, D>; N],
    _y_t: Option<&[Array<F, D>; N]>,
    g: [Option<Array<F, D>>; N],
    g_t: Option<[Option<Array<F, D>>; N]>,
    need: [bool; 3],
) -> (
    (Option<Array<F, D>>, Option<NoGrad>, Option<NoGrad>),
    (Option<Array<F, D>>, Option<NoGrad>, Option<NoGrad>),
) {
    let tangent = match g_t {
        Some(g_t) => split_vjp(x, n, axis, y, g_t, need),
        None => (None, None, None),
    };
    (split_vjp(x, n, axis, y, g, need), tangent)
}

/// Checks `split`'s count and axis against the shape; the length of a part.
fn check_split(shape: &[usize], n: usize, parts: usize, axis: usize) -> usize {
    if n != parts {
        panic!(
            "split: {n} parts asked for but the result is bound to {parts} (`let [a, b, ..] = split(..)` names one per part)"
        );
    }
    if axis >= shape.len() {
        panic!("split: axis {axis} is out of range for an input of shape {shape:?}");
    }
    if n == 0 || !shape[axis].is_multiple_of(n) {
        panic!(
            "split: axis {axis} of length {} cannot be cut into {n} equal parts (input of shape {shape:?})",
            shape[axis]
        );
    }
    shape[axis] / n
}

/// Checks `narrow`'s axis and range against the shape.
fn check_narrow(shape: &[usize], axis: usize, start: usize, len: usize) {
    if axis >= shape.len() {
        panic!("narrow: axis {axis} is out of range for an input of shape {shape:?}");
    }
    if start + len > shape[axis] {
        panic!(
            "narrow: entries {start}..{} of axis {axis} are out of range for an input of shape {shape:?}",
            start + len
        );
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, Array4, array, s};

    use super::*;

    /// `split`'s VJP through Σ rᵢ ⊙ partᵢ with a part left out, along each
    /// axis, against central differences (f64); and its tangent rules, which
    /// are the forward and the VJP again.
    #[test]
    fn vjp_matches_finite_differences() {
        use crate::gradcheck::{Tolerance, gradcheck};
        use crate::testing::random;
        use ndarray::{ArrayD, Ix3};
        let x: ndarray::Array3<f64> = random((4, 6, 3), 21);
        for axis in 0..2 {
            let parts: [ndarray::Array3<f64>; 2] = split(&x, 2, axis);
            let r: ndarray::Array3<f64> = random(parts[0].raw_dim(), 22 + axis as u64);
            let f = |v: &[ArrayD<f64>]| {
                let [a, _]: [ndarray::Array3<f64>; 2] =
                    split(&v[0].view().into_dimensionality::<Ix3>().unwrap(), 2, axis);
                (&a * &r).sum()
            };
            let (gx, _, _) = split_vjp(&x, 2, axis, &parts, [Some(r.clone()), None], [true, false, false]);
            let gx = gx.expect("asked for");
            if let Err(e) = gradcheck(
                f,
                &[x.clone().into_dyn()],
                &[gx.clone().into_dyn()],
                Tolerance::default(),
            ) {
                panic!("split along axis {axis}: {e}");
            }
            let t: ndarray::Array3<f64> = random(x.raw_dim(), 30);
            let tangent = split_tangent(&x, 2, axis, &parts, (Some(&t), None, None)).expect("a tangent");
            assert_eq!(tangent, split::<f64, _, 2>(&t, 2, axis));
            let g = [Some(r.clone()), None];
            let g_t = [None, Some(r.clone())];
            let ((gx2, _, _), (tx, _, _)) = split_vjp_tangent(
                &x,
                2,
                axis,
                (Some(&t), None, None),
                &parts,
                None,
                g,
                Some(g_t),
                [true, false, false],
            );
            assert_eq!(gx2.expect("asked for"), gx);
            let tx = tx.expect("asked for");
            assert_eq!(
                tx.slice_axis(Axis(axis), ndarray::Slice::from(0..x.shape()[axis] / 2))
                    .sum(),
                0.0
            );
        }
    }

    /// Copies large enough to be split over the threads by rows: a
    /// permutation (strided) and a reshape (contiguous), against ndarray's.
    #[test]
    fn large_copies_split_over_threads_keep_every_element() {
        use crate::testing::random;
        let x: Array4<f64> = random((6, 40, 8, 40), 40);
        let p = permute(&x, [0, 2, 1, 3]);
        assert!(p.is_standard_layout());
        assert_eq!(p, x.view().permuted_axes([0, 2, 1, 3]));
        let r: Array2<f64> = reshape(&x, (240, 320));
        assert_eq!(r.as_slice().unwrap(), x.as_slice().unwrap());
    }

    #[test]
    fn flatten_and_reshape_keep_row_major_order() {
        let x = Array::from_shape_vec((2, 2, 3), (0..12).map(f64::from).collect()).unwrap();
        assert_eq!(
            flatten(&x),
            Array2::from_shape_vec((2, 6), (0..12).map(f64::from).collect()).unwrap()
        );
        let y: Array4<f64> = reshape(&x, (1, 3, 2, 2));
        assert_eq!(
            y.iter().copied().collect::<Vec<_>>(),
            (0..12).map(f64::from).collect::<Vec<_>>()
        );
        // A transposed view is read in its logical (row-major) order.
        let t = x.slice(s![.., .., ..;-1]);
        assert_eq!(flatten(&t).row(0).to_vec(), vec![2.0, 1.0, 0.0, 5.0, 4.0, 3.0]);
    }

    #[test]
    fn transpose_and_slice_move_the_gradient_back() {
        let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let t = transpose(&x);
        assert_eq!(t, x.t());
        assert_eq!(transpose_vjp(&x, &t, t.clone(), [true]).0.unwrap(), x);
        let y = slice(&x, s![.., 1..]);
        assert_eq!(y, array![[2.0, 3.0], [5.0, 6.0]]);
        let (g, _) = slice_vjp(&x, s![.., 1..], &y, y.clone(), [true, false]);
        assert_eq!(g.unwrap(), array![[0.0, 2.0, 3.0], [0.0, 5.0, 6.0]]);
    }

    #[test]
    #[should_panic(expected = "slice: the range 1..5 (step 1) of axis 1, of length 3, of an input of shape [2, 3]")]
    fn a_slice_out_of_range_is_an_error() {
        slice(&Array2::<f64>::zeros((2, 3)), s![.., 1..5]);
    }

    #[test]
    fn permute_moves_axes_and_narrow_cuts_one() {
        let x = Array::from_shape_vec((2, 3, 4), (0..24).map(f64::from).collect()).unwrap();
        let y = permute(&x, [2, 0, 1]);
        assert_eq!(y.shape(), &[4, 2, 3]);
        assert_eq!(y[[3, 1, 2]], x[[1, 2, 3]]);
        assert!(y.is_standard_layout());
        let (g, _) = permute_vjp(&x, [2, 0, 1], &y, y.clone(), [true, false]);
        assert_eq!(g.unwrap(), x);
        let n = narrow(&x, 2, 1, 2);
        assert_eq!(n, x.slice(s![.., .., 1..3]));
    }

    #[test]
    #[should_panic(expected = "permute: [0, 0] is not a permutation of the 2 axes of an input of shape [2, 3]")]
    fn a_repeated_axis_is_not_a_permutation() {
        permute(&Array2::<f64>::zeros((2, 3)), [0, 0]);
    }

    #[test]
    #[should_panic(expected = "narrow: entries 2..5 of axis 1 are out of range for an input of shape [2, 3]")]
    fn a_narrow_past_the_end_is_an_error() {
        narrow(&Array2::<f64>::zeros((2, 3)), 1, 2, 3);
    }

    #[test]
    fn concat_joins_and_its_gradient_splits() {
        let (a, b) = (array![[1.0, 2.0]], array![[3.0, 4.0], [5.0, 6.0]]);
        let y = concat(&a, &b, 0);
        assert_eq!(y, array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        let (ga, gb, _) = concat_vjp(&a, &b, 0, &y, y.clone() * 10.0, [true, true, false]);
        assert_eq!((ga.unwrap(), gb.unwrap()), (a * 10.0, b * 10.0));
    }

    #[test]
    #[should_panic(
        expected = "reshape: x has shape [2, 3] (6 elements), which cannot become shape [4, 2] (8 elements)"
    )]
    fn reshape_to_another_count_is_an_error() {
        let _: Array2<f64> = reshape(&Array2::<f64>::zeros((2, 3)), (4, 2));
    }

    #[test]
    #[should_panic(expected = "concat: a has shape [2, 3] but b has shape [2, 4]; they must agree on every axis but 0")]
    fn concat_of_disagreeing_shapes_is_an_error() {
        concat(&Array2::<f64>::zeros((2, 3)), &Array2::zeros((2, 4)), 0);
    }

    #[test]
    #[should_panic(expected = "concat: axis 2 is out of range for inputs of rank 2")]
    fn concat_axis_out_of_range_is_an_error() {
        concat(&Array2::<f64>::zeros((2, 3)), &Array2::zeros((2, 3)), 2);
    }
}
