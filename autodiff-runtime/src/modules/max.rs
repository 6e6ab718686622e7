//! `max(a, b)`: element-wise maximum, with broadcasting.
//!
//! Y = max(X₁, X₂) is X₁ where X₁ > X₂ and X₂ elsewhere, so dY/dX₁ is 1 where
//! X₁ > X₂ and 0 elsewhere: the gradient is routed to the larger input, and a
//! tie goes to `b` (the lecture's definition).

use num_traits::{One, Zero};

use crate::value::{Broadcast, Value, sum_to_shape};

use super::arith::{combine_in_place, zip_broadcast};

/// Element-wise `max(a, b)`.
pub fn max<A, B>(a: &A, b: &B) -> A::Output
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    A::Output::from_dyn(zip_broadcast("max", a.view_dyn(), b.view_dyn(), |x, y| {
        if x > y { x } else { y }
    }))
}

/// VJP of [`max`]: `g` goes to `a` where a > b, to `b` elsewhere.
pub fn max_vjp<A, B>(a: &A, b: &B, _y: &A::Output, g: A::Output, need: [bool; 2]) -> (Option<A>, Option<B>)
where
    A: Broadcast<B>,
    B: Value<Elem = A::Elem>,
{
    let zero = A::Elem::zero();
    // a > b, broadcast to the output shape, as 1/0 factors.
    let a_wins = zip_broadcast("max", a.view_dyn(), b.view_dyn(), |x, y| {
        if x > y { A::Elem::one() } else { zero }
    });
    let g = g.into_dyn_array();
    let (for_a, for_b) = match need {
        [true, true] => (Some(super::arith::copy(&g)), Some(g)),
        [true, false] => (Some(g), None),
        [false, true] => (None, Some(g)),
        [false, false] => (None, None),
    };
    let ga = for_a.map(|g| {
        let part = combine_in_place("max", g, a_wins.view(), |g, w| if w > zero { g } else { zero });
        A::from_dyn(sum_to_shape(part, a.view_dyn().shape()))
    });
    let gb = for_b.map(|g| {
        let part = combine_in_place("max", g, a_wins.view(), |g, w| if w > zero { zero } else { g });
        B::from_dyn(sum_to_shape(part, b.view_dyn().shape()))
    });
    crate::workspace::recycle_array(a_wins);
    (ga, gb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_vjp, d1, d2, random};
    use ndarray::{arr1, arr2};

    #[test]
    fn vjp_matches_finite_differences() {
        for shape in [(1, 1), (3, 4), (5, 2)] {
            assert_vjp(
                &[random(shape, 1).into_dyn(), random(shape, 2).into_dyn()],
                |v| max(&d2(&v[0]), &d2(&v[1])),
                |v, y, g| {
                    let (ga, gb) = max_vjp(&d2(&v[0]), &d2(&v[1]), y, g, [true; 2]);
                    vec![ga.map(|a| a.into_dyn()), gb.map(|a| a.into_dyn())]
                },
            );
        }
        assert_vjp(
            &[random((3, 4), 3).into_dyn(), random(4, 4).into_dyn()],
            |v| max(&d2(&v[0]), &d1(&v[1])),
            |v, y, g| {
                let (ga, gb) = max_vjp(&d2(&v[0]), &d1(&v[1]), y, g, [true; 2]);
                vec![ga.map(|a| a.into_dyn()), gb.map(|a| a.into_dyn())]
            },
        );
    }

    #[test]
    fn routes_the_gradient_to_the_larger_input_and_ties_to_b() {
        let a = arr1(&[3.0, 1.0, 2.0]);
        let b = arr1(&[1.0, 5.0, 2.0]);
        let y = max(&a, &b);
        assert_eq!(y, arr1(&[3.0, 5.0, 2.0]));
        let g = arr1(&[10.0, 20.0, 30.0]);
        let (ga, gb) = max_vjp(&a, &b, &y, g, [true; 2]);
        assert_eq!(ga.unwrap(), arr1(&[10.0, 0.0, 0.0]));
        assert_eq!(gb.unwrap(), arr1(&[0.0, 20.0, 30.0]));
    }

    #[test]
    fn f32_and_scalars() {
        assert_eq!(max(&arr2(&[[1.0_f32, -1.0]]), &0.0), arr2(&[[1.0, 0.0]]));
    }
}
