//! Element-wise functions: the activations `relu`, `leaky_relu`, `sigmoid`,
//! `tanh`, and `exp`, `log`.
//!
//! Each Jacobian is diagonal, so each VJP is an element-wise product of the
//! upstream gradient with the local derivative, computed in the upstream
//! gradient's buffer. Inputs are arrays in any storage, or scalars ([`Input`]).

use num_traits::{Float as _, One, Zero};

use crate::float::Float;
use crate::value::{Input, Value, check_input};

crate::module! {
    /// `max(x, 0)`.
    pub fn relu<X: Input + ?Sized>(x: &X) -> X::Value {
        let zero = X::Elem::zero();
        x.map_to_value(|v| if v > zero { v } else { zero })
    }

    /// The gradient passes where x ≥ 0 and is zero where x < 0: at the kink,
    /// x = 0, it passes.
    backward(y, g, need) {
        check_input("relu", "input", x, &g);
        let zero = X::Elem::zero();
        // A select rather than a branch: it vectorises.
        grad x: X::Value = x.zip_into(g, |g, x| if x >= zero { g } else { zero });
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        super::tangents::unary_tangent("relu", x, x_t, y, |x, _| if x >= zero { one } else { zero })
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        grad x = super::tangents::unary_vjp_tangent("relu", x, x_t, y, g, g_t, |x, _| if x >= zero { one } else { zero }, |_, _| zero);
    }

    gradcheck {
        x: random([3, 4]);
        x: random([1, 1]);
        x: random([2, 3, 2]);
    }
}

crate::module! {
    /// `x` where x ≥ 0, `slope·x` elsewhere.
    pub fn leaky_relu<X: Input + ?Sized>(x: &X, slope: X::Elem) -> X::Value {
        let zero = X::Elem::zero();
        x.map_to_value(|v| if v >= zero { v } else { slope * v })
    }

    /// `g` where x ≥ 0, `slope·g` elsewhere. The slope is a hyper-parameter,
    /// not differentiated.
    backward(y, g, need) {
        check_input("leaky_relu", "input", x, &g);
        let zero = X::Elem::zero();
        grad x: X::Value = x.zip_into(g, |g, x| if x >= zero { g } else { slope * g });
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        super::tangents::unary_tangent("leaky_relu", x, x_t, y, |x, _| if x >= zero { one } else { slope })
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        grad x = super::tangents::unary_vjp_tangent("leaky_relu", x, x_t, y, g, g_t, |x, _| if x >= zero { one } else { slope }, |_, _| zero);
    }

    gradcheck {
        x: random([3, 5]), slope: 0.1;
        x: random([2, 2]), slope: -0.5;
    }
}

/// The logistic function of one number, computed without overflow: with
/// e = e^−|s|, 1/(1 + e) for s ≥ 0 and e/(1 + e) for s < 0 (where 1/(1 + e^−s)
/// would overflow). Both are computed and one selected, which vectorises.
pub fn sigmoid_scalar<F: Float>(s: F) -> F {
    let e = (-s.abs()).fast_exp();
    let r = F::one() / (F::one() + e);
    if s >= F::zero() { r } else { e * r }
}

crate::module! {
    /// `1/(1 + e^−x)`, stable for large |x|.
    pub fn sigmoid<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(sigmoid_scalar)
    }

    /// `g ⊙ y ⊙ (1 − y)`, from the output.
    backward(y, g, need) {
        check_input("sigmoid", "input", x, &g);
        let one = X::Elem::one();
        grad x: X::Value = g.combine_in_place(y, |g, y| g * y * (one - y));
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        super::tangents::unary_tangent("sigmoid", x, x_t, y, |_, y| y * (one - y))
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        grad x = super::tangents::unary_vjp_tangent("sigmoid", x, x_t, y, g, g_t, |_, y| y * (one - y), |_, y| y * (one - y) * (one - two * y));
    }

    gradcheck {
        x: random([3, 4]);
        x: uniform([2, 3], -30.0, 30.0);
    }
}

crate::module! {
    /// Hyperbolic tangent (vectorised in f32, see [`Float::fast_tanh`]).
    pub fn tanh<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(Float::fast_tanh)
    }

    /// `g ⊙ (1 − y²)`, from the output.
    backward(y, g, need) {
        check_input("tanh", "input", x, &g);
        let one = X::Elem::one();
        grad x: X::Value = g.combine_in_place(y, |g, y| g * (one - y * y));
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        super::tangents::unary_tangent("tanh", x, x_t, y, |_, y| one - y * y)
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        grad x = super::tangents::unary_vjp_tangent("tanh", x, x_t, y, g, g_t, |_, y| one - y * y, |_, y| -two * y * (one - y * y));
    }

    gradcheck {
        x: random([3, 4]);
        x: random([6, 2]);
    }
}

crate::module! {
    /// e^x.
    pub fn exp<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(|v| v.exp())
    }

    /// `g ⊙ y`, from the output.
    backward(y, g, need) {
        check_input("exp", "input", x, &g);
        grad x: X::Value = g.combine_in_place(y, |g, y| g * y);
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        super::tangents::unary_tangent("exp", x, x_t, y, |_, y| y)
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        grad x = super::tangents::unary_vjp_tangent("exp", x, x_t, y, g, g_t, |_, y| y, |_, y| y);
    }

    gradcheck {
        x: random([3, 4]);
    }
}

crate::module! {
    /// The natural logarithm (−∞ at 0: prefer `log_softmax` to `log(softmax(x))`).
    pub fn log<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(|v| v.ln())
    }

    /// `g / x`.
    backward(y, g, need) {
        check_input("log", "input", x, &g);
        grad x: X::Value = x.zip_into(g, |g, x| g / x);
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        super::tangents::unary_tangent("log", x, x_t, y, |x, _| one / x)
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        grad x = super::tangents::unary_vjp_tangent("log", x, x_t, y, g, g_t, |x, _| one / x, |x, _| -one / (x * x));
    }

    gradcheck {
        x: uniform([3, 4], 0.5, 3.0);
        x: uniform([1], 0.1, 1.0);
    }
}

/// Φ(x) and φ(x), the standard normal's distribution and density, from one
/// exponential: with a = x/√2, Φ = (1 + erf a)/2 and φ = e^(−a²)/√(2π).
#[inline(always)]
fn normal_cdf_pdf<F: Float>(x: F) -> (F, F) {
    let (erf, gauss) = (x * F::of(std::f64::consts::FRAC_1_SQRT_2)).erf_gauss();
    let cdf = F::of(0.5) * (F::one() + erf);
    let pdf = F::of(0.5 * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) * gauss;
    (cdf, pdf)
}

crate::module! {
    /// The Gaussian error linear unit, x·Φ(x), exact (with erf), as
    /// `F.gelu(x)` (Hendrycks and Gimpel 2016).
    pub fn gelu<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(|v| v * normal_cdf_pdf(v).0)
    }

    /// `g·(Φ(x) + x·φ(x))`.
    backward(y, g, need) {
        check_input("gelu", "input", x, &g);
        grad x: X::Value = x.zip_into_wide(g, |g, x| {
            let (cdf, pdf) = normal_cdf_pdf(x);
            g * (cdf + x * pdf)
        });
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        super::tangents::unary_tangent("gelu", x, x_t, y, |x, _| { let (cdf, pdf) = normal_cdf_pdf(x); cdf + x * pdf })
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        grad x = super::tangents::unary_vjp_tangent("gelu", x, x_t, y, g, g_t, |x, _| { let (cdf, pdf) = normal_cdf_pdf(x); cdf + x * pdf }, |x, _| normal_cdf_pdf(x).1 * (two - x * x));
    }

    gradcheck {
        x: random([3, 4]);
        x: uniform([2, 5], -8.0, 8.0);
    }
}

/// √(2/π), the tanh approximation's scale.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

crate::module! {
    /// GELU's tanh approximation, ½x(1 + tanh(√(2/π)(x + 0.044715x³))), as
    /// `F.gelu(x, approximate="tanh")` (GPT-2's).
    pub fn gelu_tanh<X: Input + ?Sized>(x: &X) -> X::Value {
        let (k, c, half) = (X::Elem::of(SQRT_2_OVER_PI), X::Elem::of(0.044_715), X::Elem::of(0.5));
        x.map_to_value(|v| half * v * (X::Elem::one() + (k * (v + c * v * v * v)).fast_tanh()))
    }

    /// `g·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²))` with t the tanh.
    backward(y, g, need) {
        check_input("gelu_tanh", "input", x, &g);
        let (k, c, half, one) = (X::Elem::of(SQRT_2_OVER_PI), X::Elem::of(0.044_715), X::Elem::of(0.5), X::Elem::one());
        let three = X::Elem::of(3.0);
        grad x: X::Value = x.zip_into_wide(g, |g, x| {
            let t = (k * (x + c * x * x * x)).fast_tanh();
            g * (half * (one + t) + half * x * (one - t * t) * k * (one + three * c * x * x))
        });
    }

    /// f'·ẋ, and the VJP's tangent f'·ġ + f''·ẋ·g.
    tangent(y) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        let (k, c, half) = (X::Elem::of(SQRT_2_OVER_PI), X::Elem::of(0.044_715), X::Elem::of(0.5));
        let three = X::Elem::of(3.0);
        // t = tanh(u), u = k(x + cx³): u' = k(1 + 3cx²), u'' = 6kcx.
        let parts = |x: X::Elem| {
            let t = (k * (x + c * x * x * x)).fast_tanh();
            (t, k * (one + three * c * x * x), two * three * k * c * x)
        };
        super::tangents::unary_tangent("gelu_tanh", x, x_t, y, |x, _| { let (t, du, _) = parts(x); half * (one + t) + half * x * (one - t * t) * du })
    }

    backward_tangent(y, y_t, g, g_t, need) {
        let (zero, one, two) = (X::Elem::zero(), X::Elem::one(), X::Elem::of(2.0));
        let (k, c, half) = (X::Elem::of(SQRT_2_OVER_PI), X::Elem::of(0.044_715), X::Elem::of(0.5));
        let three = X::Elem::of(3.0);
        // t = tanh(u), u = k(x + cx³): u' = k(1 + 3cx²), u'' = 6kcx.
        let parts = |x: X::Elem| {
            let t = (k * (x + c * x * x * x)).fast_tanh();
            (t, k * (one + three * c * x * x), two * three * k * c * x)
        };
        grad x = super::tangents::unary_vjp_tangent("gelu_tanh", x, x_t, y, g, g_t, |x, _| { let (t, du, _) = parts(x); half * (one + t) + half * x * (one - t * t) * du }, |x, _| { let (t, du, ddu) = parts(x); (one - t * t) * du + half * x * (one - t * t) * (ddu - two * t * du * du) });
    }

    gradcheck {
        x: random([3, 4]);
        x: uniform([2, 5], -8.0, 8.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2, s};

    #[test]
    fn relu_passes_the_gradient_where_x_is_at_least_zero() {
        let x = arr1(&[-1.0, 0.0, 2.0]);
        let y = relu(&x);
        assert_eq!(y, arr1(&[0.0, 0.0, 2.0]));
        let (gx,) = relu_vjp(&x, &y, arr1(&[5.0, 6.0, 7.0]), [true]);
        assert_eq!(gx.unwrap(), arr1(&[0.0, 6.0, 7.0]));
    }

    #[test]
    fn sigmoid_is_stable_for_large_inputs() {
        let x = arr1(&[-1e4_f32, -100.0, 0.0, 100.0, 1e4]);
        let y = sigmoid(&x);
        assert!(y.iter().all(|v| v.is_finite()));
        assert_eq!(y[0], 0.0);
        assert_eq!(y[2], 0.5);
        assert_eq!(y[4], 1.0);
        let (g,) = sigmoid_vjp(&x, &y, arr1(&[1.0; 5]), [true]);
        assert!(g.unwrap().iter().all(|v| v.is_finite()));
        let y64 = sigmoid(&arr1(&[-1e4_f64, 1e4]));
        assert!(y64.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn gelu_matches_known_values() {
        // x·Φ(x): Φ(1) = 0.841344746068543, Φ(−1) = 0.158655253931457.
        let y = gelu(&arr1(&[1.0_f64, -1.0, 0.0]));
        assert!((y[0] - 0.841_344_746_068_543).abs() < 1e-15);
        assert!((y[1] + 0.158_655_253_931_457).abs() < 1e-15);
        assert_eq!(y[2], 0.0);
        // The tanh approximation is within 1e-3 of the exact one.
        let x = arr1(&[-3.0_f64, -1.0, -0.5, 0.5, 1.0, 3.0]);
        let (a, b) = (gelu(&x), gelu_tanh(&x));
        assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-3));
        assert!(gelu(&arr1(&[-40.0_f32, 40.0])).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn closed_forms() {
        let x = arr1(&[0.3_f64]);
        let s = 1.0 / (1.0 + (-0.3_f64).exp());
        assert!((sigmoid_vjp(&x, &sigmoid(&x), arr1(&[1.0]), [true]).0.unwrap()[0] - s * (1.0 - s)).abs() < 1e-15);
        let t = 0.3_f64.tanh();
        assert!((tanh_vjp(&x, &tanh(&x), arr1(&[1.0]), [true]).0.unwrap()[0] - (1.0 - t * t)).abs() < 1e-15);
    }

    #[test]
    fn views_go_in_without_a_copy() {
        let x = arr2(&[[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]]);
        let column = x.slice(s![.., 1]);
        assert_eq!(relu(&column), arr1(&[2.0, 0.0]));
        let (g,) = relu_vjp(&column, &relu(&column), arr1(&[1.0, 1.0]), [true]);
        assert_eq!(g.unwrap(), arr1(&[1.0, 0.0]));
        assert_eq!(tanh(&x.view()), tanh(&x));
    }
}
