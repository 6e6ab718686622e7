//! Element-wise functions: the activations `relu`, `leaky_relu`, `sigmoid`,
//! `tanh`, and `exp`, `log`.
//!
//! Each Jacobian is diagonal, so each VJP is an element-wise product of the
//! upstream gradient with the local derivative.

use num_traits::{Float as _, One, Zero};

use crate::float::Float;
use crate::gradient::NoGrad;
use crate::value::{Value, check_upstream};

/// `g[i] = f(g[i], v[i])` in place, for a value `v` of `g`'s shape (checked by
/// the caller): every element-wise VJP reuses the upstream gradient's buffer.
fn in_place<A: Value>(g: A, v: &A, f: impl Fn(A::Elem, A::Elem) -> A::Elem) -> A {
    g.combine_in_place(v, f)
}

/// `max(x, 0)`.
pub fn relu<A: Value>(x: &A) -> A {
    let zero = A::Elem::zero();
    x.map_elements(|v| if v > zero { v } else { zero })
}

/// VJP of [`relu`]: the gradient passes where x ≥ 0 and is zero where x < 0
/// (the kink at 0 passes it, as the lecture defines ReLU's derivative).
pub fn relu_vjp<A: Value>(x: &A, _y: &A, g: A, need: [bool; 1]) -> (Option<A>,) {
    check_upstream("relu", "input", x, &g);
    let zero = A::Elem::zero();
    // A select rather than a branch: it vectorises.
    (need[0].then(|| in_place(g, x, |g, x| if x >= zero { g } else { zero })),)
}

/// `x` where x ≥ 0, `slope·x` elsewhere.
pub fn leaky_relu<A: Value>(x: &A, slope: A::Elem) -> A {
    let zero = A::Elem::zero();
    x.map_elements(|v| if v >= zero { v } else { slope * v })
}

/// VJP of [`leaky_relu`]: `g` where x ≥ 0, `slope·g` elsewhere. The slope is a
/// hyper-parameter, not differentiated.
pub fn leaky_relu_vjp<A: Value>(x: &A, slope: A::Elem, _y: &A, g: A, need: [bool; 2]) -> (Option<A>, Option<NoGrad>) {
    check_upstream("leaky_relu", "input", x, &g);
    let zero = A::Elem::zero();
    (
        need[0].then(|| in_place(g, x, |g, x| if x >= zero { g } else { slope * g })),
        None,
    )
}

/// The logistic function of one number, computed without overflow: with
/// e = e^−|s|, 1/(1 + e) for s ≥ 0 and e/(1 + e) for s < 0 (where 1/(1 + e^−s)
/// would overflow). Both are computed and one selected, which vectorises.
pub fn sigmoid_scalar<F: Float>(s: F) -> F {
    let e = (-s.abs()).fast_exp();
    let r = F::one() / (F::one() + e);
    if s >= F::zero() { r } else { e * r }
}

/// `1/(1 + e^−x)`, stable for large |x|.
pub fn sigmoid<A: Value>(x: &A) -> A {
    x.map_elements(sigmoid_scalar)
}

/// VJP of [`sigmoid`]: `g ⊙ y ⊙ (1 − y)`, from the output.
pub fn sigmoid_vjp<A: Value>(x: &A, y: &A, g: A, need: [bool; 1]) -> (Option<A>,) {
    check_upstream("sigmoid", "input", x, &g);
    let one = A::Elem::one();
    (need[0].then(|| in_place(g, y, |g, y| g * y * (one - y))),)
}

/// Hyperbolic tangent (vectorised in f32, see [`Float::fast_tanh`]).
pub fn tanh<A: Value>(x: &A) -> A {
    x.map_elements(Float::fast_tanh)
}

/// VJP of [`tanh`]: `g ⊙ (1 − y²)`, from the output.
pub fn tanh_vjp<A: Value>(x: &A, y: &A, g: A, need: [bool; 1]) -> (Option<A>,) {
    check_upstream("tanh", "input", x, &g);
    let one = A::Elem::one();
    (need[0].then(|| in_place(g, y, |g, y| g * (one - y * y))),)
}

/// e^x.
pub fn exp<A: Value>(x: &A) -> A {
    x.map_elements(|v| v.exp())
}

/// VJP of [`exp`]: `g ⊙ y`, from the output.
pub fn exp_vjp<A: Value>(x: &A, y: &A, g: A, need: [bool; 1]) -> (Option<A>,) {
    check_upstream("exp", "input", x, &g);
    (need[0].then(|| in_place(g, y, |g, y| g * y)),)
}

/// The natural logarithm (−∞ at 0: prefer `log_softmax` to `log(softmax(x))`).
pub fn log<A: Value>(x: &A) -> A {
    x.map_elements(|v| v.ln())
}

/// VJP of [`log`]: `g / x`.
pub fn log_vjp<A: Value>(x: &A, _y: &A, g: A, need: [bool; 1]) -> (Option<A>,) {
    check_upstream("log", "input", x, &g);
    (need[0].then(|| in_place(g, x, |g, x| g / x)),)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_vjp, d2, random};
    use ndarray::{Array2, arr1};

    type Unary = (
        fn(&Array2<f64>) -> Array2<f64>,
        fn(&Array2<f64>, &Array2<f64>, Array2<f64>, [bool; 1]) -> (Option<Array2<f64>>,),
    );

    #[test]
    fn vjps_match_finite_differences() {
        let cases: [Unary; 4] = [
            (relu, relu_vjp),
            (sigmoid, sigmoid_vjp),
            (tanh, tanh_vjp),
            (exp, exp_vjp),
        ];
        for (forward, vjp) in cases {
            for shape in [(1, 1), (3, 4), (6, 2)] {
                assert_vjp(
                    &[random(shape, 11).into_dyn()],
                    |v| forward(&d2(&v[0])),
                    |v, y, g| vec![vjp(&d2(&v[0]), y, g, [true]).0.map(|a| a.into_dyn())],
                );
            }
        }
        // log on positive inputs.
        assert_vjp(
            &[random((3, 4), 13).mapv(|v| v.abs() + 0.5).into_dyn()],
            |v| log(&d2(&v[0])),
            |v, y, g| vec![log_vjp(&d2(&v[0]), y, g, [true]).0.map(|a| a.into_dyn())],
        );
        assert_vjp(
            &[random((3, 5), 12).into_dyn()],
            |v| leaky_relu(&d2(&v[0]), 0.1),
            |v, y, g| {
                vec![
                    leaky_relu_vjp(&d2(&v[0]), 0.1, y, g, [true, false])
                        .0
                        .map(|a| a.into_dyn()),
                ]
            },
        );
    }

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
    fn closed_forms() {
        let x = arr1(&[0.3_f64]);
        let s = 1.0 / (1.0 + (-0.3_f64).exp());
        assert!((sigmoid_vjp(&x, &sigmoid(&x), arr1(&[1.0]), [true]).0.unwrap()[0] - s * (1.0 - s)).abs() < 1e-15);
        let t = 0.3_f64.tanh();
        assert!((tanh_vjp(&x, &tanh(&x), arr1(&[1.0]), [true]).0.unwrap()[0] - (1.0 - t * t)).abs() < 1e-15);
    }
}
