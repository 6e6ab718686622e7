//! `max(a, b)`: element-wise maximum, with broadcasting.
//!
//! Y = max(X₁, X₂) is X₁ where X₁ > X₂ and X₂ elsewhere, so dY/dX₁ is 1 where
//! X₁ > X₂ and 0 elsewhere: the gradient is routed to the larger input, and a
//! tie goes to `b`.

use num_traits::{One, Zero};

use crate::value::{Broadcast, Input, check_upstream};

use super::arith::{Broadcasted, combine_in_place, reduce_to, share, zip_broadcast};

crate::module! {
    /// Element-wise `max(a, b)`.
    pub fn max<A, B>(a: &A, b: &B) -> Broadcasted<A, B>
    where
        A: Input + ?Sized,
        B: Input<Elem = A::Elem> + ?Sized,
        A::Value: Broadcast<B::Value>,
    {
        use crate::value::Value;
        Broadcasted::<A, B>::from_dyn(zip_broadcast("max", a.input_view(), b.input_view(), |x, y| {
            if x > y { x } else { y }
        }))
    }

    /// `g` goes to `a` where a > b, to `b` elsewhere.
    backward(y, g, need) {
        use crate::value::Value;
        check_upstream("max", "output", y, &g);
        let zero = A::Elem::zero();
        // a > b, broadcast to the output shape, as 1/0 factors.
        let a_wins = zip_broadcast("max", a.input_view(), b.input_view(), |x, y| {
            if x > y { A::Elem::one() } else { zero }
        });
        let (for_a, for_b) = share(g.into_dyn_array(), [need.a, need.b]);
        grad a: A::Value = {
            let g = for_a.expect("asked for");
            reduce_to(combine_in_place("max", g, a_wins.view(), |g, w| if w > zero { g } else { zero }), a)
        };
        grad b: B::Value = {
            let g = for_b.expect("asked for");
            reduce_to(combine_in_place("max", g, a_wins.view(), |g, w| if w > zero { zero } else { g }), b)
        };
        crate::workspace::recycle_array(a_wins);
    }

    /// The tangent of the larger input (of `b` at a tie); no second-order term.
    tangent(y) {
        let (zero, one) = (A::Elem::zero(), A::Elem::one());
        let first = move |x: A::Elem, z: A::Elem| if x > z { (one, zero) } else { (zero, one) };
        super::tangents::binary_tangent("max", (a, a_t), (b, b_t), y, first)
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one) = (A::Elem::zero(), A::Elem::one());
        let second = move |x: A::Elem, z: A::Elem| {
            let fa = if x > z { one } else { zero };
            [fa, one - fa, zero, zero, zero]
        };
        let (ta, tb) = super::tangents::binary_vjp_tangent("max", (a, a_t), (b, b_t), g, g_t, [need.a, need.b], second);
        grad a = ta.expect("asked for");
        grad b = tb.expect("asked for");
    }

    gradcheck {
        a: random([1, 1]), b: random([1, 1]);
        a: random([3, 4]), b: random([3, 4]);
        a: random([5, 2]), b: random([5, 2]);
        a: random([3, 4]), b: random([4]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2};

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
