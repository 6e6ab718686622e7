//! What the tangent rules of the modules share (the rules of the `hvp`
//! functions: see `module!`): element-wise rules from a function's first and
//! second derivatives, and binary rules with broadcasting from the partials.
//!
//! For y = f(x) element-wise, the tangent is ẏ = f'(x)·ẋ, and the VJP
//! g_x = f'(x)·g has the tangent ġ_x = f'(x)·ġ + f''(x)·ẋ·g. For
//! y = f(a, b) with broadcasting, ẏ = f_a·ȧ + f_b·ḃ, and the tangent of
//! g_a = reduce(f_a·g) is reduce(f_a·ġ + g·(f_aa·ȧ + f_ab·ḃ)), as for b.
//! A missing tangent (`None`) is zero. These run in rank-erased arrays (they
//! are not on the path of `_grad`), written into workspace buffers so that a
//! steady-state `_hvp_with` allocates nothing.

use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};
use num_traits::Zero;

use super::arith::{Broadcasted, reduce_to};
use crate::float::Float;
use crate::value::{Broadcast, Input, Value};
use crate::workspace::take_scratch;

/// A workspace buffer of `shape`, every element written by the caller.
fn output<F: Float>(shape: &[usize]) -> ArrayD<F> {
    take_scratch(IxDyn(shape))
}

/// The view, or a zero of shape `[]` for a missing one.
fn or_zero<'a, F: Float>(view: Option<ArrayViewD<'a, F>>, zero: &'a [F; 1]) -> ArrayViewD<'a, F> {
    view.unwrap_or_else(|| ArrayViewD::from_shape(IxDyn(&[]), &zero[..]).expect("a scalar view"))
}

/// `view` broadcast to `shape`.
fn fit<'b, F: Float>(view: &'b ArrayViewD<'_, F>, shape: &[usize], module: &str) -> ArrayViewD<'b, F> {
    view.broadcast(IxDyn(shape)).unwrap_or_else(|| {
        panic!(
            "{module}: a tangent of shape {:?} does not fit the shape {shape:?}",
            view.shape()
        )
    })
}

/// ẏ = f'(x, y)·ẋ of an element-wise module, `d1` its derivative in terms of
/// the input and the output.
pub(crate) fn unary_tangent<X: Input + ?Sized>(
    module: &str,
    x: &X,
    tx: Option<&X>,
    y: &X::Value,
    d1: impl Fn(X::Elem, X::Elem) -> X::Elem,
) -> X::Value {
    let Some(tx) = tx else {
        return y.map_elements(|_| X::Elem::zero());
    };
    let (xv, yv) = (x.input_view(), y.view_dyn());
    let tv = tx.input_view();
    let tv = fit(&tv, xv.shape(), module);
    let mut out = output(xv.shape());
    // Contiguous values of one shape (the common case) go through plain
    // slices, which vectorise; anything else through a rank-erased Zip.
    let same = |v: &ArrayViewD<X::Elem>| v.shape() == xv.shape();
    match (out.as_slice_mut(), xv.as_slice(), yv.as_slice(), tv.as_slice()) {
        (Some(o), Some(xs), Some(ys), Some(ts)) if same(&yv) && same(&tv) => {
            for (((o, &x), &y), &t) in o.iter_mut().zip(xs).zip(ys).zip(ts) {
                *o = d1(x, y) * t;
            }
        }
        _ => Zip::from(&mut out)
            .and(&xv)
            .and(&yv)
            .and(&tv)
            .for_each(|o, &x, &y, &t| *o = d1(x, y) * t),
    }
    X::Value::from_dyn(out)
}

/// ġ_x = f'(x, y)·ġ + f''(x, y)·ẋ·g, the tangent of an element-wise VJP.
#[allow(clippy::too_many_arguments)]
pub(crate) fn unary_vjp_tangent<X: Input + ?Sized>(
    module: &str,
    x: &X,
    tx: Option<&X>,
    y: &X::Value,
    g: &X::Value,
    tg: Option<&X::Value>,
    d1: impl Fn(X::Elem, X::Elem) -> X::Elem,
    d2: impl Fn(X::Elem, X::Elem) -> X::Elem,
) -> X::Value {
    let (xv, yv, gv) = (x.input_view(), y.view_dyn(), g.view_dyn());
    let shape = xv.shape();
    // Contiguous values of one shape (the common case) go through plain
    // slices, which vectorise, with a missing tangent's terms left out.
    let slices = || -> Option<_> {
        let (xs, ys, gs) = (xv.as_slice()?, yv.as_slice()?, gv.as_slice()?);
        if yv.shape() != shape || gv.shape() != shape {
            return None;
        }
        Some((xs, ys, gs))
    };
    fn contiguous<'a, F>(t: Option<&'a ArrayViewD<'_, F>>, shape: &[usize]) -> Option<Option<&'a [F]>> {
        match t {
            None => Some(None),
            Some(t) if t.shape() == shape => t.as_slice().map(Some),
            Some(_) => None,
        }
    }
    let (txv, tgv) = (tx.map(|t| t.input_view()), tg.map(|t| t.view_dyn()));
    if let (Some((xs, ys, gs)), Some(txs), Some(tgs)) = (
        slices(),
        contiguous(txv.as_ref(), shape),
        contiguous(tgv.as_ref(), shape),
    ) {
        let mut out = output::<X::Elem>(shape);
        let o = out.as_slice_mut().expect("a new buffer is contiguous");
        let xyg = xs.iter().zip(ys).zip(gs);
        match (txs, tgs) {
            (Some(txs), Some(tgs)) => {
                for (((o, ((&x, &y), &g)), &tx), &tg) in o.iter_mut().zip(xyg).zip(txs).zip(tgs) {
                    *o = d1(x, y) * tg + d2(x, y) * tx * g;
                }
            }
            (None, Some(tgs)) => {
                for ((o, ((&x, &y), _)), &tg) in o.iter_mut().zip(xyg).zip(tgs) {
                    *o = d1(x, y) * tg;
                }
            }
            (Some(txs), None) => {
                for ((o, ((&x, &y), &g)), &tx) in o.iter_mut().zip(xyg).zip(txs) {
                    *o = d2(x, y) * tx * g;
                }
            }
            (None, None) => o.fill(X::Elem::zero()),
        }
        return X::Value::from_dyn(out);
    }
    let zero = [X::Elem::zero()];
    let (txv, tgv) = (
        or_zero(tx.map(|t| t.input_view()), &zero),
        or_zero(tg.map(|t| t.view_dyn()), &zero),
    );
    let (txv, tgv) = (fit(&txv, shape, module), fit(&tgv, shape, module));
    let mut out = output(shape);
    Zip::from(&mut out)
        .and(&xv)
        .and(&yv)
        .and(&gv)
        .and(&txv)
        .and(&tgv)
        .for_each(|o, &x, &y, &g, &tx, &tg| *o = d1(x, y) * tg + d2(x, y) * tx * g);
    X::Value::from_dyn(out)
}

/// ẏ = f_a·ȧ + f_b·ḃ of a binary element-wise module with broadcasting,
/// `partials(a, b)` = (f_a, f_b).
pub(crate) fn binary_tangent<A, B>(
    module: &str,
    (a, ta): (&A, Option<&A>),
    (b, tb): (&B, Option<&B>),
    y: &Broadcasted<A, B>,
    partials: impl Fn(A::Elem, A::Elem) -> (A::Elem, A::Elem),
) -> Broadcasted<A, B>
where
    A: Input + ?Sized,
    B: Input<Elem = A::Elem> + ?Sized,
    A::Value: Broadcast<B::Value>,
{
    let yv = y.view_dyn();
    let shape = yv.shape();
    let zero = [A::Elem::zero()];
    let (av, bv) = (a.input_view(), b.input_view());
    let (tav, tbv) = (
        or_zero(ta.map(|t| t.input_view()), &zero),
        or_zero(tb.map(|t| t.input_view()), &zero),
    );
    let (av, bv, tav, tbv) = (
        fit(&av, shape, module),
        fit(&bv, shape, module),
        fit(&tav, shape, module),
        fit(&tbv, shape, module),
    );
    let mut out = output(shape);
    Zip::from(&mut out)
        .and(&av)
        .and(&bv)
        .and(&tav)
        .and(&tbv)
        .for_each(|o, &a, &b, &ta, &tb| {
            let (da, db) = partials(a, b);
            *o = da * ta + db * tb
        });
    Broadcasted::<A, B>::from_dyn(out)
}

/// The first and second partials of a binary function at (a, b):
/// `[f_a, f_b, f_aa, f_ab, f_bb]`.
pub(crate) type Second<F> = [F; 5];

/// The tangents of a binary module's VJP (each reduced to its input's shape
/// as the gradient is): reduce(f_a·ġ + g·(f_aa·ȧ + f_ab·ḃ)) for a, and
/// reduce(f_b·ġ + g·(f_ab·ȧ + f_bb·ḃ)) for b.
#[allow(clippy::too_many_arguments)]
pub(crate) fn binary_vjp_tangent<A, B>(
    module: &str,
    (a, ta): (&A, Option<&A>),
    (b, tb): (&B, Option<&B>),
    g: &Broadcasted<A, B>,
    tg: Option<&Broadcasted<A, B>>,
    need: [bool; 2],
    second: impl Fn(A::Elem, A::Elem) -> Second<A::Elem>,
) -> (Option<A::Value>, Option<B::Value>)
where
    A: Input + ?Sized,
    B: Input<Elem = A::Elem> + ?Sized,
    A::Value: Broadcast<B::Value>,
{
    let gv = g.view_dyn();
    let shape = gv.shape();
    let zero = [A::Elem::zero()];
    let (av, bv) = (a.input_view(), b.input_view());
    let (tav, tbv) = (
        or_zero(ta.map(|t| t.input_view()), &zero),
        or_zero(tb.map(|t| t.input_view()), &zero),
    );
    let tgv = or_zero(tg.map(|t| t.view_dyn()), &zero);
    let (av, bv, tav, tbv) = (
        fit(&av, shape, module),
        fit(&bv, shape, module),
        fit(&tav, shape, module),
        fit(&tbv, shape, module),
    );
    let tgv = fit(&tgv, shape, module);
    let part = |which: usize| -> ArrayD<A::Elem> {
        // g's coefficient first, in the buffer the result then overwrites
        // (Zip takes at most six arrays).
        let mut out = output(shape);
        Zip::from(&mut out)
            .and(&av)
            .and(&bv)
            .and(&tav)
            .and(&tbv)
            .for_each(|o, &a, &b, &ta, &tb| {
                let [_, _, faa, fab, fbb] = second(a, b);
                *o = if which == 0 {
                    faa * ta + fab * tb
                } else {
                    fab * ta + fbb * tb
                }
            });
        Zip::from(&mut out)
            .and(&av)
            .and(&bv)
            .and(&gv)
            .and(&tgv)
            .for_each(|o, &a, &b, &g, &tg| {
                let [fa, fb, ..] = second(a, b);
                let first = if which == 0 { fa } else { fb };
                *o = first * tg + g * *o
            });
        out
    };
    (
        need[0].then(|| reduce_to(part(0), a)),
        need[1].then(|| reduce_to(part(1), b)),
    )
}
