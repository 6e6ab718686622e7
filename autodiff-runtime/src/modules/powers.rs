//! Element-wise powers and magnitudes: `sqrt`, `pow` and `abs`, on arrays in
//! any storage and on scalars ([`Input`]), as `x.sqrt()`, `x.powf(p)`,
//! `x.powi(n)` and `x.abs()` of ndarray and of `f32`/`f64`.

use num_traits::{Float as _, One, Zero};

use crate::value::{Input, Value as _, check_input};

crate::module! {
    /// √x (NaN for x < 0, as `f64::sqrt`).
    pub fn sqrt<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(|v| v.sqrt())
    }

    /// `g / (2y)`, from the output: infinite at x = 0, where √ has a vertical
    /// tangent.
    backward(y, g, need) {
        check_input("sqrt", "input", x, &g);
        let two = X::Elem::one() + X::Elem::one();
        grad x: X::Value = g.combine_in_place(y, |g, y| g / (two * y));
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::one() + X::Elem::one());
        super::tangents::unary_tangent("sqrt", x, x_t, y, |_, y| one / (two * y))
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::one() + X::Elem::one());
        grad x = super::tangents::unary_vjp_tangent("sqrt", x, x_t, y, g, g_t, |_, y| one / (two * y), |_, y| -one / (two * two * y * y * y));
    }

    gradcheck {
        x: uniform([3, 4], 0.2, 3.0);
        x: uniform([5], 0.5, 1.5);
    }
}

crate::module! {
    /// x^p for a constant exponent `p` (NaN for x < 0 and a non-integer p, as
    /// `f64::powf`). `x.powi(n)` is `pow(x, n)`.
    pub fn pow<X: Input + ?Sized>(x: &X, p: X::Elem) -> X::Value {
        x.map_to_value(|v| v.powf(p))
    }

    /// `g·p·x^(p−1)`. The exponent is a hyper-parameter, not differentiated.
    backward(y, g, need) {
        check_input("pow", "input", x, &g);
        let q = p - X::Elem::one();
        grad x: X::Value = x.zip_into(g, |g, x| if p == X::Elem::zero() { X::Elem::zero() } else { g * p * x.powf(q) });
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one) = (X::Elem::zero(), X::Elem::one());
        super::tangents::unary_tangent("pow", x, x_t, y, |x, _| if p == zero { zero } else { p * x.powf(p - one) })
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one) = (X::Elem::zero(), X::Elem::one());
        grad x = super::tangents::unary_vjp_tangent("pow", x, x_t, y, g, g_t, |x, _| if p == zero { zero } else { p * x.powf(p - one) }, |x, _| if p == zero || p == one { zero } else { p * (p - one) * x.powf(p - one - one) });
    }

    gradcheck {
        x: uniform([3, 4], 0.2, 2.0), p: 1.5;
        x: random([2, 3]), p: 2.0;
        x: random([4]), p: 3.0;
        x: uniform([3], 0.5, 2.0), p: -0.5;
        x: random([2, 2]), p: 0.0;
    }
}

crate::module! {
    /// |x|.
    pub fn abs<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(|v| v.abs())
    }

    /// `g·sign(x)`, with the subgradient 0 at x = 0 (as `l1`).
    backward(y, g, need) {
        check_input("abs", "input", x, &g);
        let zero = X::Elem::zero();
        grad x: X::Value = x.zip_into(g, |g, x| if x > zero { g } else if x < zero { -g } else { zero });
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one) = (X::Elem::zero(), X::Elem::one());
        super::tangents::unary_tangent("abs", x, x_t, y, |x, _| if x > zero { one } else if x < zero { -one } else { zero })
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one) = (X::Elem::zero(), X::Elem::one());
        grad x = super::tangents::unary_vjp_tangent("abs", x, x_t, y, g, g_t, |x, _| if x > zero { one } else if x < zero { -one } else { zero }, |_, _| zero);
    }

    gradcheck {
        x: random([3, 4]);
        x: random([2, 2, 2]);
    }
}

/// The exponent of `x.powi(n)` as the element type `pow` takes.
pub fn exponent<F: crate::float::Float>(n: i32) -> F {
    F::of(f64::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn closed_forms_and_scalars() {
        let x = arr1(&[0.25_f64, 4.0]);
        assert_eq!(sqrt(&x), arr1(&[0.5, 2.0]));
        let (g,) = sqrt_vjp(&x, &sqrt(&x), arr1(&[1.0, 1.0]), [true]);
        assert_eq!(g.unwrap(), arr1(&[1.0, 0.25]));
        assert_eq!(pow(&3.0_f64, 2.0), 9.0);
        assert_eq!(pow_vjp(&3.0_f64, 2.0, &9.0, 1.0, [true, false]).0, Some(6.0));
        assert_eq!(abs(&-2.0_f32), 2.0);
        let (g,) = abs_vjp(
            &arr1(&[-1.0, 0.0, 2.0]),
            &arr1(&[1.0, 0.0, 2.0]),
            arr1(&[3.0, 3.0, 3.0]),
            [true],
        );
        assert_eq!(g.unwrap(), arr1(&[-3.0, 0.0, 3.0]));
        assert_eq!(exponent::<f32>(-2), -2.0);
    }
}
