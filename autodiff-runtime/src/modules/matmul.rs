//! `matmul(a, b)`: the matrix product y = a·b, of matrices or of stacks of
//! them (batched over the leading axes, as `torch.matmul`).
//!
//! Shapes: a `[.., n, k]`, b `[.., k, m]` (the same leading axes), y
//! `[.., n, m]`. With g = ∂C/∂y, per matrix of the stack:
//! ∂C/∂a = g·bᵀ (`[n, k]`), ∂C/∂b = aᵀ·g (`[k, m]`).

use ndarray::{Array, ArrayRef, ArrayView2, ArrayViewMut2, Axis, Dimension, Ix2};

use crate::float::Float;
use crate::gemm::{gemm, gemm_into};
use crate::parallel::{self, Disjoint};
use crate::workspace::take_scratch;

fn check_shapes<F, D: Dimension>(a: &ArrayRef<F, D>, b: &ArrayRef<F, D>) {
    let (sa, sb) = (a.shape(), b.shape());
    let n = sa.len();
    if n < 2 {
        panic!("matmul: a has shape {sa:?} and b has shape {sb:?}; both need two axes or more");
    }
    if sa[n - 1] != sb[n - 2] {
        panic!(
            "matmul: a has shape {sa:?} but b has shape {sb:?}; b must be [.., {}, _]",
            sa[n - 1]
        );
    }
    if sa[..n - 2] != sb[..n - 2] {
        panic!("matmul: a has shape {sa:?} but b has shape {sb:?}; their leading axes must agree");
    }
}

/// Matrix `i` (in row-major order of the leading axes) of a stack `[.., r,
/// c]`, as a view in the stack's own strides: a permuted stack (attention's
/// heads) is read where it lies, not copied.
fn matrix<F, D: Dimension>(x: &ArrayRef<F, D>, mut i: usize) -> ArrayView2<'_, F> {
    let mut view = x.view().into_dyn();
    let lead = x.ndim() - 2;
    let mut index = [0; 8];
    for axis in (0..lead).rev() {
        let len = x.shape()[axis];
        index[axis] = i % len;
        i /= len;
    }
    for &k in &index[..lead] {
        view = view.index_axis_move(Axis(0), k);
    }
    view.into_dimensionality::<Ix2>().expect("two axes left")
}

/// `c[i] = a[i]·b[i]` (with `a`, `b` transposed per matrix as asked), for
/// every matrix of the stacks, into a new stack of `shape`. The matrices are
/// split over the threads, each product whole on one.
fn batched<F: Float, D: Dimension>(
    a: &ArrayRef<F, D>,
    b: &ArrayRef<F, D>,
    transpose: (bool, bool),
    shape: D,
) -> Array<F, D> {
    let n = shape.ndim();
    let (rows, cols) = (shape[n - 2], shape[n - 1]);
    let inner = if transpose.0 {
        a.shape()[n - 2]
    } else {
        a.shape()[n - 1]
    };
    let count: usize = shape.slice()[..n - 2].iter().product();
    let mut c: Array<F, D> = take_scratch(shape);
    let size = rows * cols;
    let out = Disjoint::new(c.as_slice_mut().expect("a new array is contiguous"));
    let parts = parallel::parts(count, count * size * inner);
    parallel::run(parts, &|t| {
        for i in parallel::range(count, parts, t) {
            let (a, b) = (matrix(a, i), matrix(b, i));
            let a = if transpose.0 { a.reversed_axes() } else { a };
            let b = if transpose.1 { b.reversed_axes() } else { b };
            // SAFETY: every matrix of the output is written by one part only.
            let part = unsafe { out.part(i * size..(i + 1) * size) };
            let mut c = ArrayViewMut2::from_shape((rows, cols), part).expect("one matrix");
            gemm_into(F::one(), &a, &b, F::zero(), &mut c);
        }
    });
    c
}

/// `a·b` with either factor transposed per matrix, into `shape`: one
/// product for matrices, one per matrix for stacks.
fn product<F: Float, D: Dimension>(
    a: &ArrayRef<F, D>,
    b: &ArrayRef<F, D>,
    transpose: (bool, bool),
    shape: D,
) -> Array<F, D> {
    if let (Ok(a), Ok(b)) = (
        a.view().into_dimensionality::<Ix2>(),
        b.view().into_dimensionality::<Ix2>(),
    ) {
        let a = if transpose.0 { a.reversed_axes() } else { a };
        let b = if transpose.1 { b.reversed_axes() } else { b };
        return gemm(&a, &b).into_dimensionality::<D>().expect("the same rank");
    }
    if a.ndim() > 10 {
        panic!("matmul: stacks of up to 8 leading axes, got shape {:?}", a.shape());
    }
    batched(a, b, transpose, shape)
}

crate::module! {
    /// Matrix product `a·b` of matrices `[n, k]·[k, m]`, or of stacks of them
    /// `[.., n, k]·[.., k, m]` with the same leading axes (attention's
    /// `[b, h, t, d]·[b, h, d, t]`).
    ///
    /// # Panics
    /// If the inner dimensions or the leading axes differ, naming both shapes.
    pub fn matmul<F: Float, D: Dimension>(a: &ArrayRef<F, D>, b: &ArrayRef<F, D>) -> Array<F, D> {
        check_shapes(a, b);
        let mut shape = a.raw_dim();
        let n = shape.ndim();
        shape[n - 1] = b.shape()[n - 1];
        product(a, b, (false, false), shape)
    }

    backward(y, g, need) {
        check_shapes(a, b);
        if g.shape() != y.shape() {
            panic!("matmul: upstream gradient has shape {:?}, output has shape {:?}", g.shape(), y.shape());
        }
        grad a = product(&g, b, (false, true), a.raw_dim());
        grad b = product(a, &g, (true, false), b.raw_dim());
        crate::workspace::recycle_array(g);
    }

    /// The product rule: ẏ = ȧ·b + a·ḃ; ġ_a = ġ·bᵀ + g·ḃᵀ, ġ_b = ȧᵀ·g + aᵀ·ġ.
    tangent(y) {
        let mut ty: Array<F, D> = Array::zeros(y.raw_dim());
        if let Some(ta) = a_t {
            ty += &product(ta, b, (false, false), y.raw_dim());
        }
        if let Some(tb) = b_t {
            ty += &product(a, tb, (false, false), y.raw_dim());
        }
        ty
    }

    backward_tangent(y, y_t, g, g_t, need) {
        // Only the products of the gradients asked for.
        let mut ta: Array<F, D> = Array::zeros(if need.a { a.raw_dim() } else { D::zeros(a.ndim()) });
        let mut tb: Array<F, D> = Array::zeros(if need.b { b.raw_dim() } else { D::zeros(b.ndim()) });
        if let Some(tg) = g_t {
            if need.a {
                ta += &product(tg, b, (false, true), a.raw_dim());
            }
            if need.b {
                tb += &product(a, tg, (true, false), b.raw_dim());
            }
        }
        if let (Some(b_t), true) = (b_t, need.a) {
            ta += &product(g, b_t, (false, true), a.raw_dim());
        }
        if let (Some(a_t), true) = (a_t, need.b) {
            tb += &product(a_t, g, (true, false), b.raw_dim());
        }
        grad a = ta;
        grad b = tb;
    }

    gradcheck {
        a: random([1, 1]), b: random([1, 1]);
        a: random([3, 4]), b: random([4, 2]);
        a: random([1, 5]), b: random([5, 3]);
        a: random([4, 2]), b: random([2, 6]);
        a: random([2, 3, 4]), b: random([2, 4, 2]);
        a: random([2, 2, 3, 2]), b: random([2, 2, 2, 3]);
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, Array4, s};

    use super::*;
    use crate::testing::random;

    #[test]
    #[should_panic(expected = "matmul: a has shape [2, 3] but b has shape [4, 2]")]
    fn shape_mismatch_names_module_and_shapes() {
        matmul(&random((2, 3), 1), &random((4, 2), 2));
    }

    #[test]
    #[should_panic(expected = "matmul: a has shape [2, 3, 4] but b has shape [3, 4, 2]; their leading axes must agree")]
    fn leading_axes_must_agree() {
        matmul(&random((2, 3, 4), 1), &random((3, 4, 2), 2));
    }

    #[test]
    fn a_stack_is_the_product_of_each_matrix() {
        let (a, b): (Array4<f64>, Array4<f64>) = (random((2, 3, 4, 5), 3), random((2, 3, 5, 2), 4));
        let y = matmul(&a, &b);
        let a12: ndarray::ArrayView2<f64> = a.slice(s![1, 2, .., ..]);
        let b12: ndarray::ArrayView2<f64> = b.slice(s![1, 2, .., ..]);
        let one: Array2<f64> = a12.dot(&b12);
        assert!(
            y.slice(s![1, 2, .., ..])
                .iter()
                .zip(&one)
                .all(|(x, y)| (x - y).abs() < 1e-12)
        );
        // A transposed view goes in as it is.
        let bt = b.view().permuted_axes([0, 1, 3, 2]).to_owned();
        let y2 = matmul(&a.view(), &bt.view().permuted_axes([0, 1, 3, 2]));
        assert!(y.iter().zip(&y2).all(|(x, y)| (x - y).abs() < 1e-12));
    }

    /// Attention's stacks: permuted views, enough work to split the
    /// matrices over the threads; the VJP's products too.
    #[test]
    fn permuted_stacks_split_over_threads() {
        let q: Array4<f64> = random((4, 64, 8, 32), 5);
        let k: Array4<f64> = random((4, 64, 8, 32), 6);
        let (q, k) = (
            q.view().permuted_axes([0, 2, 1, 3]),
            k.view().permuted_axes([0, 2, 3, 1]),
        );
        let y = matmul(&q, &k);
        let g: Array4<f64> = random((4, 8, 64, 64), 7);
        let (ga, gb) = matmul_vjp(&q, &k, &y, g.clone(), [true, true]);
        let (ga, gb) = (ga.expect("asked for"), gb.expect("asked for"));
        for (i, j) in [(0, 0), (1, 5), (3, 7)] {
            let qi: ndarray::ArrayView2<f64> = q.slice(s![i, j, .., ..]);
            let ki: ndarray::ArrayView2<f64> = k.slice(s![i, j, .., ..]);
            let gi: ndarray::ArrayView2<f64> = g.slice(s![i, j, .., ..]);
            let close =
                |a: ndarray::ArrayView2<f64>, b: Array2<f64>| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-11);
            assert!(close(y.slice(s![i, j, .., ..]), qi.dot(&ki)));
            assert!(close(ga.slice(s![i, j, .., ..]), gi.dot(&ki.t())));
            assert!(close(gb.slice(s![i, j, .., ..]), qi.t().dot(&gi)));
        }
    }
}
