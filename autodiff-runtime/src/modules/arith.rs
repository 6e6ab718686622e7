//! Element-wise arithmetic with numpy broadcasting: `add`, `sub`, `mul`, `div`,
//! `neg`, `scale`. Operands are arrays of any rank or scalars. The macro turns
//! `a + b`, `a - b`, `a * b`, `a / b` and `-a` into these calls.
//!
//! Broadcasting copies an operand along new or size-1 axes; its adjoint sums the
//! gradient back over those axes ([`sum_to_shape`]), so every operand's gradient
//! has that operand's shape.
//!
//! The kernels shared by every element-wise module live here, one name each:
//! [`zip_broadcast`] (a new value from two broadcast operands),
//! [`combine_in_place`] (an upstream gradient combined in place with a
//! broadcast operand), [`share`] (the upstream gradient handed to the operands
//! that need it), [`reduce_to`] (a partial gradient summed back to an
//! operand's shape), [`copy`] and [`copy_as`] (an input copied into a
//! workspace buffer, in its shape or another). Unary modules use [`Input::map_to_value`]
//! and [`Input::zip_into`].

use ndarray::{Array, ArrayD, ArrayRef, ArrayViewD, CowArray, Dimension, Ix2};
use num_traits::One;

use crate::elementwise::{array_from_zip, copy_as};
use crate::float::Float;
use crate::value::{Broadcast, Input, Value, broadcast_dim, check_upstream, sum_to_shape};

/// `f(a, b)` element by element, broadcasting `a` and `b` to a common shape.
pub(crate) fn zip_broadcast<F: Float>(
    module: &str,
    a: ArrayViewD<'_, F>,
    b: ArrayViewD<'_, F>,
    f: impl Fn(F, F) -> F + Sync,
) -> ArrayD<F> {
    // Passes over slices only (see `crate::value`): operands in another
    // layout, or broadcast, are copied to standard layout first, except a
    // trailing block (`[b, n] + [n]`), which repeats along the larger.
    let shape = if a.shape() == b.shape() {
        a.raw_dim()
    } else {
        broadcast_dim(module, a.shape(), b.shape())
    };
    let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
    let (xs, ys) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let n = shape.size();
    if xs.len() == n && ys.len() == n {
        return array_from_zip(shape, xs, ys, f);
    }
    // A scalar operand (`scores * scale`): one pass over the other.
    if xs.len() == n && ys.len() == 1 {
        let y = ys[0];
        return crate::elementwise::array_from_map(shape, xs, |x| f(x, y));
    }
    if ys.len() == n && xs.len() == 1 {
        let x = xs[0];
        return crate::elementwise::array_from_map(shape, ys, |y| f(x, y));
    }
    if xs.len() == n && is_trailing_block(b.shape(), shape.slice()) {
        let mut buffer = crate::workspace::take(n);
        buffer.extend_from_slice(xs);
        for chunk in buffer.chunks_mut(ys.len()) {
            crate::elementwise::zip_in_place(chunk, ys, &f);
        }
        return ArrayD::from_shape_vec(shape, buffer).expect("one value per element");
    }
    let a = a
        .broadcast(shape.clone())
        .expect("broadcast shape was checked")
        .to_owned();
    let b = b
        .broadcast(shape.clone())
        .expect("broadcast shape was checked")
        .to_owned();
    array_from_zip(shape, a.as_slice().expect("owned"), b.as_slice().expect("owned"), f)
}

/// Whether an operand of shape `small`, broadcast to `shape`, repeats as one
/// block: its shape, without leading ones, ends `shape`.
fn is_trailing_block(small: &[usize], shape: &[usize]) -> bool {
    let small = &small[small.iter().take_while(|&&d| d == 1).count()..];
    !small.is_empty() && shape.ends_with(small)
}

/// The gradient for operand `x` from the per-element partials `g ⊙ ∂y/∂x`,
/// summed back to `x`'s shape.
pub(crate) fn reduce_to<X: Input + ?Sized>(partial: ArrayD<X::Elem>, x: &X) -> X::Value {
    X::Value::from_dyn(sum_to_shape(partial, x.input_view().shape()))
}

/// `g[i] = f(g[i], other[i])` in place, `other` broadcast to `g`'s shape.
pub(crate) fn combine_in_place<F: Float>(
    module: &str,
    mut g: ArrayD<F>,
    other: ArrayViewD<'_, F>,
    f: impl Fn(F, F) -> F + Sync,
) -> ArrayD<F> {
    if g.shape() == other.shape()
        && let (Some(values), Some(others)) = (g.as_slice_mut(), other.as_slice())
    {
        crate::elementwise::zip_in_place(values, others, f);
        return g;
    }
    let Some(broadcast) = other.broadcast(g.raw_dim()) else {
        panic!(
            "{module}: shape {:?} does not broadcast to the gradient's shape {:?}",
            other.shape(),
            g.shape()
        );
    };
    let mut g = crate::elementwise::standard(g);
    let values = g.as_slice_mut().expect("standard layout");
    let other = other.as_standard_layout();
    let others = other.as_slice().expect("standard layout");
    if others.len() == values.len() {
        crate::elementwise::zip_in_place(values, others, f);
    } else if let [o] = *others {
        crate::elementwise::map_in_place(values, |v| f(v, o));
    } else if is_trailing_block(other.shape(), broadcast.shape()) {
        for chunk in values.chunks_mut(others.len()) {
            crate::elementwise::zip_in_place(chunk, others, &f);
        }
    } else {
        let others = broadcast.to_owned();
        crate::elementwise::zip_in_place(values, others.as_slice().expect("owned"), f);
    }
    g
}

/// `x` `[.., n]` as the matrix of its rows `[rows, n]`: a matrix as it is,
/// a higher-rank array reshaped (copied first if not in standard layout).
pub(crate) fn rows_of<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> CowArray<'_, F, Ix2> {
    if let Ok(matrix) = x.view().into_dimensionality::<Ix2>() {
        return CowArray::from(matrix);
    }
    let inputs = x.shape().last().copied().unwrap_or(0);
    let rows = x.len() / inputs.max(1);
    x.as_standard_layout()
        .into_shape_with_order((rows, inputs))
        .expect("standard layout")
}

/// A copy of `x` in a workspace buffer, in standard layout.
pub(crate) fn copy<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> Array<F, D> {
    copy_as(x, x.raw_dim())
}

/// The arithmetic of `binary_module!`, and the gradients' combinations.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    /// `−x / y`.
    NegDiv,
}

/// `op(a, b)` broadcast ([`zip_broadcast`]) or `g = op(g, other)` in place
/// ([`combine_in_place`]).
enum Arith<'a, F> {
    New(ArrayViewD<'a, F>, ArrayViewD<'a, F>),
    InPlace(ArrayD<F>, ArrayViewD<'a, F>),
}

/// [`Arith`] run by its instance for f32 or f64, compiled in this crate as
/// the GEMM's kernels are: generic, its body would be compiled (and
/// optimised) again in every crate whose generated code adds or multiplies.
fn arith<F: Float>(module: &str, op: Op, work: Arith<'_, F>) -> ArrayD<F> {
    use crate::float::{array_as, back_as as back, view_as};
    match work {
        Arith::New(a, b) => match (view_as::<F, f32, _>(a.view()), view_as::<F, f32, _>(b.view())) {
            (Some(a32), Some(b32)) => back(arith_f32(module, op, Arith::New(a32, b32))),
            _ => {
                let (a, b) = (view_as::<F, f64, _>(a), view_as::<F, f64, _>(b));
                let (a, b) = a.zip(b).expect("`Float` is f32 or f64");
                back(arith_f64(module, op, Arith::New(a, b)))
            }
        },
        Arith::InPlace(g, other) => match array_as::<F, f32, _>(g) {
            Ok(g) => {
                let other = view_as::<F, f32, _>(other).expect("the same type as g");
                back(arith_f32(module, op, Arith::InPlace(g, other)))
            }
            Err(g) => {
                let g = array_as::<F, f64, _>(g).expect("`Float` is f32 or f64");
                let other = view_as::<F, f64, _>(other).expect("the same type as g");
                back(arith_f64(module, op, Arith::InPlace(g, other)))
            }
        },
    }
}

#[inline(never)]
fn arith_f32(module: &str, op: Op, work: Arith<'_, f32>) -> ArrayD<f32> {
    arith_typed(module, op, work)
}

#[inline(never)]
fn arith_f64(module: &str, op: Op, work: Arith<'_, f64>) -> ArrayD<f64> {
    arith_typed(module, op, work)
}

fn arith_typed<F: Float>(module: &str, op: Op, work: Arith<'_, F>) -> ArrayD<F> {
    match work {
        Arith::New(a, b) => match op {
            Op::Add => zip_broadcast(module, a, b, |x, y| x + y),
            Op::Sub => zip_broadcast(module, a, b, |x, y| x - y),
            Op::Mul => zip_broadcast(module, a, b, |x, y| x * y),
            Op::Div => zip_broadcast(module, a, b, |x, y| x / y),
            Op::NegDiv => zip_broadcast(module, a, b, |x, y| -x / y),
        },
        Arith::InPlace(g, other) => match op {
            Op::Add => combine_in_place(module, g, other, |x, y| x + y),
            Op::Sub => combine_in_place(module, g, other, |x, y| x - y),
            Op::Mul => combine_in_place(module, g, other, |x, y| x * y),
            Op::Div => combine_in_place(module, g, other, |x, y| x / y),
            Op::NegDiv => combine_in_place(module, g, other, |x, y| -x / y),
        },
    }
}

/// `g = op(g, other)` in place, `other` broadcast to `g`'s shape (see [`arith`]).
pub(crate) fn combine<F: Float>(module: &str, op: Op, g: ArrayD<F>, other: ArrayViewD<'_, F>) -> ArrayD<F> {
    arith(module, op, Arith::InPlace(g, other))
}

/// The result of a binary element-wise module on inputs `A` and `B`: their
/// owned values broadcast together (see [`Broadcast`]).
pub type Broadcasted<A, B> = <<A as Input>::Value as Broadcast<<B as Input>::Value>>::Output;

/// `f(a, b)` with broadcasting; two plain scalars make a plain scalar without
/// going through an array.
fn binary<A, B>(module: &str, op: Op, a: &A, b: &B, f: impl Fn(A::Elem, A::Elem) -> A::Elem + Sync) -> Broadcasted<A, B>
where
    A: Input + ?Sized,
    B: Input<Elem = A::Elem> + ?Sized,
    A::Value: Broadcast<B::Value>,
{
    if let (Some(x), Some(y)) = (a.input_scalar(), b.input_scalar())
        && let Some(out) = Broadcasted::<A, B>::from_scalar(f(x, y))
    {
        return out;
    }
    Broadcasted::<A, B>::from_dyn(arith(module, op, Arith::New(a.input_view(), b.input_view())))
}

/// The VJP of an operation on two plain scalars, from its partial derivatives
/// `(∂y/∂a, ∂y/∂b)` at `(a, b)`; `None` when an operand is an array.
fn scalar_vjp<A, B>(
    a: &A,
    b: &B,
    g: &Broadcasted<A, B>,
    need: [bool; 2],
    partials: impl Fn(A::Elem, A::Elem) -> (A::Elem, A::Elem),
) -> Option<(Option<A::Value>, Option<B::Value>)>
where
    A: Input + ?Sized,
    B: Input<Elem = A::Elem> + ?Sized,
    A::Value: Broadcast<B::Value>,
{
    let (x, y, g) = (a.input_scalar()?, b.input_scalar()?, g.as_scalar()?);
    let (da, db) = partials(x, y);
    Some((
        need[0].then(|| A::Value::from_scalar(g * da)).flatten(),
        need[1].then(|| B::Value::from_scalar(g * db)).flatten(),
    ))
}

/// The upstream gradient for the operands that need it: the last one takes
/// the buffer, an earlier one gets a copy.
pub(crate) fn share<F: Float>(g: ArrayD<F>, need: [bool; 2]) -> (Option<ArrayD<F>>, Option<ArrayD<F>>) {
    match need {
        [true, true] => (Some(copy_as(&g, g.raw_dim())), Some(g)),
        [true, false] => (Some(g), None),
        [false, true] => (None, Some(g)),
        [false, false] => (None, None),
    }
}

/// Declares a binary element-wise module: its forward `f(a, b)`, the scalar
/// partials `(∂y/∂a, ∂y/∂b)`, and the array gradients from the shared
/// upstream buffers `ga`, `gb`.
macro_rules! binary_module {
    (
        $(#[$doc:meta])* $name:ident, $arith:expr, $op:expr,
        $(#[$vjp_doc:meta])* partials $partials:expr,
        |$ga:ident, $gb:ident, $a:ident, $b:ident, $y:ident| a: $grad_a:expr, b: $grad_b:expr,
        second $second:expr $(,)?
    ) => {
        crate::module! {
            $(#[$doc])*
            pub fn $name<A, B>(a: &A, b: &B) -> Broadcasted<A, B>
            where
                A: Input + ?Sized,
                B: Input<Elem = A::Elem> + ?Sized,
                A::Value: Broadcast<B::Value>,
            {
                binary(stringify!($name), $arith, a, b, $op)
            }

            $(#[$vjp_doc])*
            backward(y, g, need) {
                check_upstream(stringify!($name), "output", y, &g);
                if let Some(grads) = scalar_vjp(a, b, &g, [need.a, need.b], $partials) {
                    return grads;
                }
                let (ga, gb) = share(g.into_dyn_array(), [need.a, need.b]);
                let ($a, $b, $y) = (a, b, y);
                grad a: A::Value = {
                    let $ga = ga.expect("asked for");
                    reduce_to($grad_a, a)
                };
                grad b: B::Value = {
                    let $gb = gb.expect("asked for");
                    reduce_to($grad_b, b)
                };
            }

            /// From the first and second partials `[f_a, f_b, f_aa, f_ab, f_bb]`.
            tangent(y) {
                super::tangents::binary_tangent(stringify!($name), (a, a_t), (b, b_t), y, |x, z| {
                    let [fa, fb, ..] = ($second)(x, z);
                    (fa, fb)
                })
            }

            backward_tangent(y, y_t, g, g_t, need) {
                let (ta, tb) = super::tangents::binary_vjp_tangent(
                    stringify!($name), (a, a_t), (b, b_t), g, g_t, [need.a, need.b], $second,
                );
                grad a = ta.expect("asked for");
                grad b = tb.expect("asked for");
            }

            gradcheck {
                a: random([3, 4]), b: uniform([3, 4], 0.5, 3.0);
                a: random([4, 3]), b: uniform([3], 0.5, 3.0);
                a: random([2, 1]), b: uniform([1, 5], -3.0, -0.5);
                a: random([1, 1]), b: uniform([2, 3, 2], 0.5, 3.0);
            }
        }
    };
}

binary_module! {
    /// `a + b`.
    add, Op::Add, |x, y| x + y,
    /// The upstream gradient passes to both operands.
    partials |_, _| (A::Elem::one(), A::Elem::one()),
    |ga, gb, _a, _b, _y| a: ga, b: gb,
    second |_, _| {
        let (zero, one) = (<A::Elem as num_traits::Zero>::zero(), A::Elem::one());
        [one, one, zero, zero, zero]
    },
}

binary_module! {
    /// `a - b`.
    sub, Op::Sub, |x, y| x - y,
    /// `g` to `a`, `−g` to `b`.
    partials |_, _| (A::Elem::one(), -A::Elem::one()),
    |ga, gb, _a, _b, _y| a: ga, b: gb.mapv_into(|v| -v),
    second |_, _| {
        let (zero, one) = (<A::Elem as num_traits::Zero>::zero(), A::Elem::one());
        [one, -one, zero, zero, zero]
    },
}

binary_module! {
    /// `a ⊙ b`, element-wise.
    mul, Op::Mul, |x, y| x * y,
    /// `g ⊙ b` to `a`, `g ⊙ a` to `b`.
    partials |x, y| (y, x),
    |ga, gb, a, b, _y| a: combine("mul", Op::Mul, ga, b.input_view()),
    b: combine("mul", Op::Mul, gb, a.input_view()),
    second |a: A::Elem, b: A::Elem| {
        let (zero, one) = (<A::Elem as num_traits::Zero>::zero(), A::Elem::one());
        [b, a, zero, one, zero]
    },
}

binary_module! {
    /// `a / b`, element-wise.
    div, Op::Div, |x, y| x / y,
    /// `g / b` to `a`, `−g ⊙ y / b` (= −g·a/b²) to `b`.
    partials |x, y| (A::Elem::one() / y, -(x / y) / y),
    |ga, gb, a, b, y| a: combine("div", Op::Div, ga, b.input_view()),
    b: {
        let gy = combine("div", Op::Mul, gb, y.view_dyn());
        combine("div", Op::NegDiv, gy, b.input_view())
    },
    second |a: A::Elem, b: A::Elem| {
        let (zero, one, two) = (<A::Elem as num_traits::Zero>::zero(), A::Elem::one(), A::Elem::one() + A::Elem::one());
        let r = one / b;
        [r, -a * r * r, zero, -r * r, two * a * r * r * r]
    },
}

crate::module! {
    /// `−a`.
    pub fn neg<X: Input + ?Sized>(a: &X) -> X::Value {
        a.map_to_value(|x| -x)
    }

    backward(y, g, need) {
        check_upstream("neg", "output", y, &g);
        grad a: X::Value = g.map_in_place(|v| -v);
    }

    tangent linear;

    gradcheck {
        a: random([3, 2]);
        a: random([4]);
    }
}

crate::module! {
    /// `c·x` for a constant `c` (the factor is not differentiated; use `*` for that).
    pub fn scale<X: Input + ?Sized>(x: &X, c: X::Elem) -> X::Value {
        x.map_to_value(|v| v * c)
    }

    /// `c·g` to `x`.
    backward(y, g, need) {
        check_upstream("scale", "output", y, &g);
        grad x: X::Value = g.map_in_place(|v| v * c);
    }

    tangent linear;

    gradcheck {
        x: random([3, 2]), c: 0.7;
        x: random([2, 2, 2]), c: -3.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::vjp_matches_finite_differences;
    use crate::testing::random;
    use ndarray::{Array2, arr1, arr2};

    #[test]
    fn add_passes_the_gradient_to_both_operands() {
        // Y = X₁ + X₂ ⇒ dC/dX₁ = dC/dY and dC/dX₂ = dC/dY.
        let (a, b) = (random((2, 3), 1), random((2, 3), 2));
        let y = add(&a, &b);
        let g = random((2, 3), 3);
        let (ga, gb) = add_vjp(&a, &b, &y, g.clone(), [true; 2]);
        assert_eq!(ga.unwrap(), g);
        assert_eq!(gb.unwrap(), g);
    }

    #[test]
    fn two_scalars_take_the_scalar_path_and_match_finite_differences() {
        type Op = (
            fn(&f64, &f64) -> f64,
            fn(&f64, &f64, &f64, f64, [bool; 2]) -> (Option<f64>, Option<f64>),
        );
        let ops: [Op; 4] = [(add, add_vjp), (sub, sub_vjp), (mul, mul_vjp), (div, div_vjp)];
        for (i, (forward, vjp)) in ops.into_iter().enumerate() {
            let (a, b) = (random((), 10 + i as u64)[[]], random((), 20 + i as u64)[[]] + 4.0);
            vjp_matches_finite_differences(
                "scalar operator",
                i,
                &[ndarray::arr0(a).into_dyn(), ndarray::arr0(b).into_dyn()],
                |v| forward(&v[0][[]], &v[1][[]]),
                |v, y, g, need| {
                    let (ga, gb) = vjp(&v[0][[]], &v[1][[]], y, g, [need[0], need[1]]);
                    vec![
                        ga.map(|a| ndarray::arr0(a).into_dyn()),
                        gb.map(|b| ndarray::arr0(b).into_dyn()),
                    ]
                },
            );
            // One operand only: the other slot stays empty.
            let y = forward(&a, &b);
            assert!(matches!(vjp(&a, &b, &y, 1.0, [false, true]), (None, Some(_))));
        }
        assert_eq!(neg_vjp(&2.0, &-2.0, 3.0, [true]), (Some(-3.0),));
        assert_eq!(scale_vjp(&2.0, 0.5, &1.0, 3.0, [true, false]).0, Some(1.5));
    }

    #[test]
    fn scalars_mix_with_arrays() {
        let x = arr2(&[[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(mul(&2.0, &x), arr2(&[[2.0, 4.0], [6.0, 8.0]]));
        assert_eq!(add(&x, &1.0), arr2(&[[2.0, 3.0], [4.0, 5.0]]));
        assert_eq!(sub(&3.0_f64, &1.0), 2.0);
        let y = mul(&2.0, &x);
        let (gc, gx) = mul_vjp(&2.0, &x, &y, arr2(&[[1.0, 1.0], [1.0, 1.0]]), [true; 2]);
        assert_eq!(gc, Some(10.0)); // Σ x
        assert_eq!(gx.unwrap(), arr2(&[[2.0, 2.0], [2.0, 2.0]]));
        let d1 = |v: &ndarray::ArrayD<f64>| v.clone().into_dimensionality::<ndarray::Ix1>().expect("rank 1");
        vjp_matches_finite_differences(
            "div",
            0,
            &[random((), 1).into_dyn(), random(4, 2).into_dyn()],
            |v| div(&v[0][[]], &d1(&v[1])),
            |v, y, g, need| {
                let (ga, gb) = div_vjp(&v[0][[]], &d1(&v[1]), y, g, [need[0], need[1]]);
                vec![ga.map(|a| ndarray::arr0(a).into_dyn()), gb.map(|a| a.into_dyn())]
            },
        );
    }

    #[test]
    fn scale_of_f32() {
        assert_eq!(scale(&arr1(&[1.0_f32, -2.0]), 3.0), arr1(&[3.0, -6.0]));
    }

    #[test]
    fn views_and_arrays_mix() {
        let x = arr2(&[[1.0, 2.0], [3.0, 4.0]]);
        let row = x.row(1);
        assert_eq!(add(&x, &row), arr2(&[[4.0, 6.0], [6.0, 8.0]]));
        let y = mul(&x.view(), &row);
        let (ga, gb) = mul_vjp(&x.view(), &row, &y, Array2::ones((2, 2)), [true, true]);
        assert_eq!(ga.unwrap(), arr2(&[[3.0, 4.0], [3.0, 4.0]]));
        assert_eq!(gb.unwrap(), arr1(&[4.0, 6.0]));
    }

    #[test]
    #[should_panic(expected = "add: shapes [2, 3] and [4] cannot be broadcast together")]
    fn broadcast_mismatch_names_module_and_shapes() {
        add(&random((2, 3), 1), &random(4, 2));
    }
}
