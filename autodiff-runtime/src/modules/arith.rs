//! Element-wise arithmetic with numpy broadcasting: `add`, `sub`, `mul`, `div`,
//! `neg`, `scale`. Operands are arrays of any rank or scalars. The macro turns
//! `a + b`, `a - b`, `a * b`, `a / b` and `-a` into these calls.
//!
//! Broadcasting copies an operand along new or size-1 axes; its adjoint sums the
//! gradient back over those axes ([`sum_to_shape`]), so every operand's gradient
//! has that operand's shape.

use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};

use crate::float::Float;
use crate::gradient::NoGrad;
use crate::value::{Broadcast, Value, broadcast_shape, check_upstream, sum_to_shape};
use crate::workspace::{array_from_zip, map_dyn};

/// `f(a, b)` element by element, broadcasting `a` and `b` to a common shape.
pub(crate) fn zip_broadcast<F: Float>(
    module: &str,
    a: ArrayViewD<'_, F>,
    b: ArrayViewD<'_, F>,
    f: impl Fn(F, F) -> F,
) -> ArrayD<F> {
    if a.shape() == b.shape() {
        if let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice()) {
            return array_from_zip(IxDyn(a.shape()), xs, ys, f);
        }
        return Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y));
    }
    let shape = broadcast_shape(module, a.shape(), b.shape());
    let a = a.broadcast(shape.clone()).expect("broadcast shape was checked");
    let b = b.broadcast(shape).expect("broadcast shape was checked");
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}

/// The gradient for operand `x` from the per-element partials `g ⊙ ∂y/∂x`,
/// summed back to `x`'s shape.
fn reduce_to<X: Value>(partial: ArrayD<X::Elem>, x: &X) -> X {
    X::from_dyn(sum_to_shape(partial, x.view_dyn().shape()))
}

/// `g[i] = f(g[i], other[i])` in place, `other` broadcast to `g`'s shape.
pub(crate) fn combine_in_place<F: Float>(
    module: &str,
    mut g: ArrayD<F>,
    other: ArrayViewD<'_, F>,
    f: impl Fn(F, F) -> F,
) -> ArrayD<F> {
    let Some(other) = other.broadcast(g.raw_dim()) else {
        panic!(
            "{module}: shape {:?} does not broadcast to the gradient's shape {:?}",
            other.shape(),
            g.shape()
        );
    };
    Zip::from(&mut g).and(&other).for_each(|g, &o| *g = f(*g, o));
    g
}

/// A copy of `g` in a workspace buffer.
pub(crate) fn copy<F: Float>(g: &ArrayD<F>) -> ArrayD<F> {
    map_dyn(g.view(), |v| v)
}

/// `f(a, b)` with broadcasting; two plain scalars make a plain scalar without
/// going through an array.
fn binary<A, B>(module: &str, a: &A, b: &B, f: impl Fn(A::Elem, A::Elem) -> A::Elem) -> A::Output
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    if let (Some(x), Some(y)) = (a.as_scalar(), b.as_scalar())
        && let Some(out) = A::Output::from_scalar(f(x, y))
    {
        return out;
    }
    A::Output::from_dyn(zip_broadcast(module, a.view_dyn(), b.view_dyn(), f))
}

/// The VJP of an operation on two plain scalars, from its partial derivatives
/// `(∂y/∂a, ∂y/∂b)` at `(a, b)`; `None` when an operand is an array.
fn scalar_vjp<A, B>(
    a: &A,
    b: &B,
    g: &A::Output,
    need: [bool; 2],
    partials: impl Fn(A::Elem, A::Elem) -> (A::Elem, A::Elem),
) -> Option<(Option<A>, Option<B>)>
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    let (x, y, g) = (a.as_scalar()?, b.as_scalar()?, g.as_scalar()?);
    let (da, db) = partials(x, y);
    Some((
        need[0].then(|| A::from_scalar(g * da)).flatten(),
        need[1].then(|| B::from_scalar(g * db)).flatten(),
    ))
}

/// The upstream gradient for the operands that need it: the last one takes
/// the buffer, an earlier one gets a copy.
fn share<F: Float>(g: ArrayD<F>, need: [bool; 2]) -> (Option<ArrayD<F>>, Option<ArrayD<F>>) {
    match need {
        [true, true] => (Some(copy(&g)), Some(g)),
        [true, false] => (Some(g), None),
        [false, true] => (None, Some(g)),
        [false, false] => (None, None),
    }
}

/// `a + b`.
pub fn add<A, B>(a: &A, b: &B) -> A::Output
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    binary("add", a, b, |x, y| x + y)
}

/// VJP of [`add`]: the upstream gradient passes to both operands.
pub fn add_vjp<A, B>(a: &A, b: &B, y: &A::Output, g: A::Output, need: [bool; 2]) -> (Option<A>, Option<B>)
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    check_upstream("add", "output", y, &g);
    let one = <A::Elem as num_traits::One>::one();
    if let Some(grads) = scalar_vjp(a, b, &g, need, |_, _| (one, one)) {
        return grads;
    }
    let (ga, gb) = share(g.into_dyn_array(), need);
    (ga.map(|g| reduce_to(g, a)), gb.map(|g| reduce_to(g, b)))
}

/// `a - b`.
pub fn sub<A, B>(a: &A, b: &B) -> A::Output
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    binary("sub", a, b, |x, y| x - y)
}

/// VJP of [`sub`]: `g` to `a`, `−g` to `b`.
pub fn sub_vjp<A, B>(a: &A, b: &B, y: &A::Output, g: A::Output, need: [bool; 2]) -> (Option<A>, Option<B>)
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    check_upstream("sub", "output", y, &g);
    let one = <A::Elem as num_traits::One>::one();
    if let Some(grads) = scalar_vjp(a, b, &g, need, |_, _| (one, -one)) {
        return grads;
    }
    let (ga, gb) = share(g.into_dyn_array(), need);
    (
        ga.map(|g| reduce_to(g, a)),
        gb.map(|g| reduce_to(g.mapv_into(|v| -v), b)),
    )
}

/// `a ⊙ b`, element-wise.
pub fn mul<A, B>(a: &A, b: &B) -> A::Output
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    binary("mul", a, b, |x, y| x * y)
}

/// VJP of [`mul`]: `g ⊙ b` to `a`, `g ⊙ a` to `b`.
pub fn mul_vjp<A, B>(a: &A, b: &B, y: &A::Output, g: A::Output, need: [bool; 2]) -> (Option<A>, Option<B>)
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    check_upstream("mul", "output", y, &g);
    if let Some(grads) = scalar_vjp(a, b, &g, need, |x, y| (y, x)) {
        return grads;
    }
    let (ga, gb) = share(g.into_dyn_array(), need);
    let ga = ga.map(|g| reduce_to(combine_in_place("mul", g, b.view_dyn(), |g, b| g * b), a));
    let gb = gb.map(|g| reduce_to(combine_in_place("mul", g, a.view_dyn(), |g, a| g * a), b));
    (ga, gb)
}

/// `a / b`, element-wise.
pub fn div<A, B>(a: &A, b: &B) -> A::Output
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    binary("div", a, b, |x, y| x / y)
}

/// VJP of [`div`]: `g / b` to `a`, `−g ⊙ y / b` (= −g·a/b²) to `b`.
pub fn div_vjp<A, B>(a: &A, b: &B, y: &A::Output, g: A::Output, need: [bool; 2]) -> (Option<A>, Option<B>)
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    check_upstream("div", "output", y, &g);
    let one = <A::Elem as num_traits::One>::one();
    if let Some(grads) = scalar_vjp(a, b, &g, need, |x, y| (one / y, -(x / y) / y)) {
        return grads;
    }
    let (ga, gb) = share(g.into_dyn_array(), need);
    let ga = ga.map(|g| reduce_to(combine_in_place("div", g, b.view_dyn(), |g, b| g / b), a));
    let gb = gb.map(|g| {
        let gy = combine_in_place("div", g, y.view_dyn(), |g, y| g * y);
        reduce_to(combine_in_place("div", gy, b.view_dyn(), |gy, b| -gy / b), b)
    });
    (ga, gb)
}

/// `−a`.
pub fn neg<A: Value>(a: &A) -> A {
    a.map_elements(|x| -x)
}

/// VJP of [`neg`].
pub fn neg_vjp<A: Value>(_a: &A, y: &A, g: A, need: [bool; 1]) -> (Option<A>,) {
    check_upstream("neg", "output", y, &g);
    (need[0].then(|| g.map_in_place(|v| -v)),)
}

/// `c·x` for a constant `c` (the factor is not differentiated; use `*` for that).
pub fn scale<A: Value>(x: &A, c: A::Elem) -> A {
    x.map_elements(|v| v * c)
}

/// VJP of [`scale`]: `c·g` to `x`.
pub fn scale_vjp<A: Value>(_x: &A, c: A::Elem, y: &A, g: A, need: [bool; 2]) -> (Option<A>, Option<NoGrad>) {
    check_upstream("scale", "output", y, &g);
    (need[0].then(|| g.map_in_place(|v| v * c)), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_vjp, d1, d2, random};
    use ndarray::{Array1, Array2, arr1, arr2};

    type Vjp2 = fn(
        &Array2<f64>,
        &Array1<f64>,
        &Array2<f64>,
        Array2<f64>,
        [bool; 2],
    ) -> (Option<Array2<f64>>, Option<Array1<f64>>);
    type Fwd2 = fn(&Array2<f64>, &Array1<f64>) -> Array2<f64>;

    #[test]
    fn broadcast_row_vector_gradients_sum_over_the_batch() {
        let cases: [(Fwd2, Vjp2); 4] = [(add, add_vjp), (sub, sub_vjp), (mul, mul_vjp), (div, div_vjp)];
        for (forward, vjp) in cases {
            for (rows, cols) in [(1, 1), (4, 3), (2, 5)] {
                let b = random(cols, 2).mapv(|v| v + 4.0 * v.signum()); // away from 0 for div
                assert_vjp(
                    &[random((rows, cols), 1).into_dyn(), b.into_dyn()],
                    |v| forward(&d2(&v[0]), &d1(&v[1])),
                    |v, y, g| {
                        let (ga, gb) = vjp(&d2(&v[0]), &d1(&v[1]), y, g, [true; 2]);
                        vec![ga.map(|a| a.into_dyn()), gb.map(|a| a.into_dyn())]
                    },
                );
            }
        }
    }

    #[test]
    fn same_shape_and_column_broadcast() {
        assert_vjp(
            &[random((3, 4), 1).into_dyn(), random((3, 1), 2).into_dyn()],
            |v| mul(&d2(&v[0]), &d2(&v[1])),
            |v, y, g| {
                let (ga, gb) = mul_vjp(&d2(&v[0]), &d2(&v[1]), y, g, [true; 2]);
                vec![ga.map(|a| a.into_dyn()), gb.map(|a| a.into_dyn())]
            },
        );
        assert_vjp(
            &[random((2, 3), 3).into_dyn(), random((2, 3), 4).into_dyn()],
            |v| sub(&d2(&v[0]), &d2(&v[1])),
            |v, y, g| {
                let (ga, gb) = sub_vjp(&d2(&v[0]), &d2(&v[1]), y, g, [true; 2]);
                vec![ga.map(|a| a.into_dyn()), gb.map(|a| a.into_dyn())]
            },
        );
    }

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
            assert_vjp(
                &[ndarray::arr0(a).into_dyn(), ndarray::arr0(b).into_dyn()],
                |v| forward(&v[0][[]], &v[1][[]]),
                |v, y, g| {
                    let (ga, gb) = vjp(&v[0][[]], &v[1][[]], y, g, [true; 2]);
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
        assert_vjp(
            &[random((), 1).into_dyn(), random(4, 2).into_dyn()],
            |v| div(&v[0][[]], &d1(&v[1])),
            |v, y, g| {
                let (ga, gb) = div_vjp(&v[0][[]], &d1(&v[1]), y, g, [true; 2]);
                vec![ga.map(|a| ndarray::arr0(a).into_dyn()), gb.map(|a| a.into_dyn())]
            },
        );
    }

    #[test]
    fn neg_and_scale() {
        let x = random((3, 2), 1);
        assert_vjp(
            &[x.clone().into_dyn()],
            |v| neg(&d2(&v[0])),
            |v, y, g| vec![neg_vjp(&d2(&v[0]), y, g, [true]).0.map(|a| a.into_dyn())],
        );
        assert_vjp(
            &[x.into_dyn()],
            |v| scale(&d2(&v[0]), 0.7),
            |v, y, g| vec![scale_vjp(&d2(&v[0]), 0.7, y, g, [true, false]).0.map(|a| a.into_dyn())],
        );
        assert_eq!(scale(&arr1(&[1.0_f32, -2.0]), 3.0), arr1(&[3.0, -6.0]));
    }

    #[test]
    #[should_panic(expected = "add: shapes [2, 3] and [4] cannot be broadcast together")]
    fn broadcast_mismatch_names_module_and_shapes() {
        add(&random((2, 3), 1), &random(4, 2));
    }
}
