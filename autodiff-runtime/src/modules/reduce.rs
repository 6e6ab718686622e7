//! Reductions: to a scalar, `sum`, `mean`, and the weight-decay penalties
//! `l2` (Σw²) and `l1` (Σ|w|), each of an array of any rank and any storage,
//! or of a scalar; along one axis, `sum_axis` and `mean_axis`.

use num_traits::{Float as _, One, Zero};

use ndarray::{Array, ArrayRef, Axis, RemoveAxis};

use crate::float::Float;
use crate::value::Input;

crate::module! {
    /// Σ x.
    pub fn sum<X: Input + ?Sized>(x: &X) -> X::Elem {
        x.input_view().sum()
    }

    /// Every element gets the upstream gradient.
    backward(y, g, need) {
        grad x: X::Value = x.map_to_value(|_| g);
    }

    tangent linear;

    gradcheck {
        x: random([1, 1]);
        x: random([3, 4]);
        x: random([2, 2, 2]);
    }
}

crate::module! {
    /// The mean of all elements.
    ///
    /// # Panics
    /// If the input is empty.
    pub fn mean<X: Input + ?Sized>(x: &X) -> X::Elem {
        let view = x.input_view();
        if view.is_empty() {
            panic!("mean: empty input of shape {:?}", view.shape());
        }
        view.sum() / X::Elem::of_usize(view.len())
    }

    /// Every element gets g/n.
    backward(y, g, need) {
        let share = g / X::Elem::of_usize(x.input_view().len());
        grad x: X::Value = x.map_to_value(|_| share);
    }

    tangent linear;

    gradcheck {
        x: random([1, 1]);
        x: random([3, 4]);
    }
}

crate::module! {
    /// Σ w², the L2 penalty (coupled weight decay: add `λ·l2(w)` to the loss).
    pub fn l2<X: Input + ?Sized>(w: &X) -> X::Elem {
        w.input_view().fold(X::Elem::zero(), |s, &v| s + v * v)
    }

    /// 2g·w.
    backward(y, g, need) {
        let k = g + g;
        grad w: X::Value = w.map_to_value(|v| k * v);
    }

    /// ẏ = 2⟨w, ẇ⟩; ġ_w = 2(ġ·w + g·ẇ).
    tangent(y) {
        match w_t {
            Some(t) => {
                let (wv, tv) = (w.input_view(), t.input_view());
                let dot = wv.iter().zip(tv.iter()).fold(X::Elem::zero(), |s, (&a, &b)| s + a * b);
                dot + dot
            }
            None => X::Elem::zero(),
        }
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let two = X::Elem::one() + X::Elem::one();
        let tg = g_t.copied().unwrap_or_else(X::Elem::zero);
        let gw: X::Value = w.map_to_value(|v| two * tg * v);
        grad w: X::Value = match w_t {
            Some(t) => {
                let k = two * *g;
                crate::value::Value::combine_in_place(gw, &t.map_to_value(|v| v), |a, b| a + k * b)
            }
            None => gw,
        };
    }

    gradcheck {
        w: random([1, 1]);
        w: random([3, 4]);
    }
}

crate::module! {
    /// Σ |w|, the L1 penalty.
    pub fn l1<X: Input + ?Sized>(w: &X) -> X::Elem {
        w.input_view().fold(X::Elem::zero(), |s, &v| s + v.abs())
    }

    /// g·sign(w), with the subgradient 0 at w = 0.
    backward(y, g, need) {
        let (zero, one) = (X::Elem::zero(), X::Elem::one());
        let sign = move |v: X::Elem| {
            if v > zero {
                one
            } else if v < zero {
                -one
            } else {
                zero
            }
        };
        grad w: X::Value = w.map_to_value(|v| g * sign(v));
    }

    /// ẏ = ⟨sign(w), ẇ⟩; ġ_w = ġ·sign(w) (zero second derivative away from 0).
    tangent(y) {
        let (zero, one) = (X::Elem::zero(), X::Elem::one());
        let sign = move |v: X::Elem| if v > zero { one } else if v < zero { -one } else { zero };
        match w_t {
            Some(t) => w.input_view().iter().zip(t.input_view().iter()).fold(zero, |s, (&a, &b)| s + sign(a) * b),
            None => zero,
        }
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one) = (X::Elem::zero(), X::Elem::one());
        let sign = move |v: X::Elem| if v > zero { one } else if v < zero { -one } else { zero };
        let tg = g_t.copied().unwrap_or(zero);
        grad w: X::Value = w.map_to_value(|v| tg * sign(v));
    }

    gradcheck {
        w: random([1, 1]);
        w: random([3, 4]);
    }
}

/// Checks that `axis` is an axis of `x`.
fn check_axis<F, D: ndarray::Dimension>(module: &str, x: &ArrayRef<F, D>, axis: Axis) {
    if axis.index() >= x.ndim() {
        panic!(
            "{module}: axis {} is out of range for an input of shape {:?}",
            axis.index(),
            x.shape()
        );
    }
}

/// The gradient of a reduction along `axis`: `g` (times `k`) repeated along
/// that axis, to `x`'s shape.
fn spread<F: Float, D: RemoveAxis>(x: &ArrayRef<F, D>, g: &Array<F, D::Smaller>, axis: Axis, k: F) -> Array<F, D> {
    let g = g.view().insert_axis(axis);
    let g = g.broadcast(x.raw_dim()).expect("the reduced shape broadcasts back");
    let mut out: Array<F, D> = crate::workspace::take_scratch(x.raw_dim());
    out.zip_mut_with(&g, |o, &v| *o = v * k);
    out
}

crate::module! {
    /// Σ along one axis, which disappears: as ndarray's `x.sum_axis(Axis(k))`.
    ///
    /// # Panics
    /// If the axis is out of range.
    pub fn sum_axis<F: Float, D: RemoveAxis>(x: &ArrayRef<F, D>, axis: Axis) -> Array<F, D::Smaller> {
        check_axis("sum_axis", x, axis);
        x.sum_axis(axis)
    }

    /// g repeated along the axis.
    backward(y, g, need) {
        crate::value::check_shape("sum_axis", "output", y.shape(), g.shape());
        grad x = spread(x, &g, axis, F::one());
    }

    tangent linear;

    gradcheck {
        x: random([3, 4]), axis: Axis(0);
        x: random([3, 4]), axis: Axis(1);
        x: random([2, 3, 2]), axis: Axis(1);
    }
}

crate::module! {
    /// The mean along one axis, which disappears: as ndarray's
    /// `x.mean_axis(Axis(k)).unwrap()`.
    ///
    /// # Panics
    /// If the axis is out of range or has length 0.
    pub fn mean_axis<F: Float, D: RemoveAxis>(x: &ArrayRef<F, D>, axis: Axis) -> Array<F, D::Smaller> {
        check_axis("mean_axis", x, axis);
        if x.len_of(axis) == 0 {
            panic!("mean_axis: axis {} of the input of shape {:?} is empty", axis.index(), x.shape());
        }
        x.sum_axis(axis) / F::of_usize(x.len_of(axis))
    }

    /// g/n repeated along the axis.
    backward(y, g, need) {
        crate::value::check_shape("mean_axis", "output", y.shape(), g.shape());
        grad x = spread(x, &g, axis, F::one() / F::of_usize(x.len_of(axis)));
    }

    tangent linear;

    gradcheck {
        x: random([3, 4]), axis: Axis(0);
        x: random([2, 3, 2]), axis: Axis(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn closed_forms_and_the_subgradient_at_zero() {
        let w = arr1(&[-2.0_f64, 0.0, 3.0]);
        assert_eq!(sum(&w), 1.0);
        assert_eq!(mean(&w), 1.0 / 3.0);
        assert_eq!(l2(&w), 13.0);
        assert_eq!(l1(&w), 5.0);
        assert_eq!(l1_vjp(&w, &5.0, 2.0, [true]).0.unwrap(), arr1(&[-2.0, 0.0, 2.0]));
        assert_eq!(l2_vjp(&w, &13.0, 1.0, [true]).0.unwrap(), arr1(&[-4.0, 0.0, 6.0]));
        assert_eq!(sum(&2.5_f32), 2.5);
        assert_eq!(
            mean_vjp(&arr1(&[1.0_f32, 2.0]), &1.5, 1.0, [true]).0.unwrap(),
            arr1(&[0.5, 0.5])
        );
    }

    #[test]
    fn reductions_of_views() {
        let x = ndarray::arr2(&[[1.0, -2.0], [3.0, 4.0]]);
        assert_eq!(sum(&x.column(1)), 2.0);
        assert_eq!(l1(&x.row(0)), 3.0);
        assert_eq!(sum_vjp(&x.column(0), &4.0, 2.0, [true]).0.unwrap(), arr1(&[2.0, 2.0]));
    }
}
