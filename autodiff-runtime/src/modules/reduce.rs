//! Reductions to a scalar: `sum`, `mean`, and the weight-decay penalties
//! `l2` (Σw²) and `l1` (Σ|w|). Each accepts an array of any rank or a scalar.

use num_traits::{Float as _, One, Zero};

use crate::float::Float;
use crate::value::Value;

fn filled<A: Value>(x: &A, g: A::Elem) -> A {
    x.map_elements(|_| g)
}

/// Σ x.
pub fn sum<A: Value>(x: &A) -> A::Elem {
    x.view_dyn().sum()
}

/// VJP of [`sum`]: every element gets the upstream gradient.
pub fn sum_vjp<A: Value>(x: &A, _y: &A::Elem, g: A::Elem, need: [bool; 1]) -> (Option<A>,) {
    (need[0].then(|| filled(x, g)),)
}

/// The mean of all elements.
pub fn mean<A: Value>(x: &A) -> A::Elem {
    let view = x.view_dyn();
    if view.is_empty() {
        panic!("mean: empty input of shape {:?}", view.shape());
    }
    view.sum() / A::Elem::of_usize(view.len())
}

/// VJP of [`mean`]: every element gets g/n.
pub fn mean_vjp<A: Value>(x: &A, _y: &A::Elem, g: A::Elem, need: [bool; 1]) -> (Option<A>,) {
    (need[0].then(|| filled(x, g / A::Elem::of_usize(x.view_dyn().len()))),)
}

/// Σ w², the L2 penalty (coupled weight decay: add `λ·l2(w)` to the loss).
pub fn l2<A: Value>(w: &A) -> A::Elem {
    w.view_dyn().fold(A::Elem::zero(), |s, &v| s + v * v)
}

/// VJP of [`l2`]: 2g·w.
pub fn l2_vjp<A: Value>(w: &A, _y: &A::Elem, g: A::Elem, need: [bool; 1]) -> (Option<A>,) {
    let k = g + g;
    (need[0].then(|| w.map_elements(|v| k * v)),)
}

/// Σ |w|, the L1 penalty.
pub fn l1<A: Value>(w: &A) -> A::Elem {
    w.view_dyn().fold(A::Elem::zero(), |s, &v| s + v.abs())
}

/// VJP of [`l1`]: g·sign(w), with the subgradient 0 at w = 0.
pub fn l1_vjp<A: Value>(w: &A, _y: &A::Elem, g: A::Elem, need: [bool; 1]) -> (Option<A>,) {
    let (zero, one) = (A::Elem::zero(), A::Elem::one());
    let sign = move |v: A::Elem| {
        if v > zero {
            one
        } else if v < zero {
            -one
        } else {
            zero
        }
    };
    (need[0].then(|| w.map_elements(|v| g * sign(v))),)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_vjp, d2, random};
    use ndarray::arr1;

    type Reduction = (
        fn(&ndarray::Array2<f64>) -> f64,
        fn(&ndarray::Array2<f64>, &f64, f64, [bool; 1]) -> (Option<ndarray::Array2<f64>>,),
    );

    #[test]
    fn vjps_match_finite_differences() {
        let cases: [Reduction; 4] = [(sum, sum_vjp), (mean, mean_vjp), (l2, l2_vjp), (l1, l1_vjp)];
        for (forward, vjp) in cases {
            for shape in [(1, 1), (3, 4)] {
                assert_vjp(
                    &[random(shape, 41).into_dyn()],
                    |v| forward(&d2(&v[0])),
                    |v, y, g| vec![vjp(&d2(&v[0]), y, g, [true]).0.map(|a| a.into_dyn())],
                );
            }
        }
    }

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
}
