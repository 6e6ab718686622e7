//! Second-order tools over any [`Params`] model, driven by a Hessian-vector
//! product (what `#[differentiable(.., hvp)]` generates as `NAME_hvp`):
//! the top eigenvalue of the Hessian by power iteration (the *sharpness*),
//! and the conjugate-gradient solve of (H + λI)·d = b that Newton-CG and
//! Hessian-free optimisation (Martens 2010) take their steps from.
//!
//! Neither ever forms H: each needs one H·v per iteration. Sums are in f64
//! whatever the model's float type.

use num_traits::ToPrimitive;
use rand::Rng;

use crate::float::Float;
use crate::params::Params;

/// ⟨a, b⟩ over every tensor of two models of the same shapes.
pub fn dot<P: Params>(a: &P, b: &P) -> f64 {
    let (a, b) = (a.views(), b.views());
    assert_eq!(a.len(), b.len(), "dot: the two models have different tensors");
    a.iter()
        .zip(&b)
        .map(|(a, b)| {
            assert_eq!(a.shape(), b.shape(), "dot: tensors of different shapes");
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| x.to_f64().unwrap_or(f64::NAN) * y.to_f64().unwrap_or(f64::NAN))
                .sum::<f64>()
        })
        .sum()
}

/// `y ← y + k·x`, tensor by tensor.
pub fn axpy<P: Params>(y: &mut P, k: f64, x: &P) {
    let k = P::Elem::of(k);
    y.visit_zip_mut(x, &mut |mut y, x| y.zip_mut_with(&x, |y, &x| *y += k * x));
}

/// `x ← k·x`.
pub fn scale<P: Params>(x: &mut P, k: f64) {
    let k = P::Elem::of(k);
    x.visit_mut(&mut |_, mut v| v.mapv_inplace(|e| e * k));
}

/// A model of `like`'s shapes with independent standard normal entries
/// (Box–Muller), scaled to unit norm: the start of a power iteration.
pub fn random_direction<P: Params + Clone, R: Rng + ?Sized>(like: &P, rng: &mut R) -> P {
    let mut v = like.clone();
    v.visit_mut(&mut |_, mut view| {
        view.mapv_inplace(|_| {
            let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
            P::Elem::of((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos())
        })
    });
    let norm = dot(&v, &v).sqrt();
    scale(&mut v, 1.0 / norm);
    v
}

/// The eigenvalue of largest magnitude of the Hessian and its unit
/// eigenvector, by `iterations` steps of power iteration from `start`:
/// v ← H·v / ‖H·v‖, with the Rayleigh quotient ⟨v, H·v⟩ as the estimate.
/// The estimates of every step are returned too, so a caller can see it
/// converge (it does at the rate |λ₂/λ₁|).
///
/// ```
/// use autodiff_runtime::train::curvature::top_eigenvalue;
/// use ndarray::{Array1, array};
///
/// // H = diag(3, −1, 0.5): the top eigenvalue is 3, along the first axis.
/// let h = array![3.0_f64, -1.0, 0.5];
/// let (lambda, v, _) = top_eigenvalue(Array1::from(vec![1.0, 1.0, 1.0]), 60, |v: &Array1<f64>| &h * v);
/// assert!((lambda - 3.0).abs() < 1e-12);
/// assert!((v[0].abs() - 1.0).abs() < 1e-12);
/// ```
///
/// # Panics
/// If H·v vanishes (the start is in H's null space) or is not finite.
pub fn top_eigenvalue<P: Params + Clone>(
    start: P,
    iterations: usize,
    mut hvp: impl FnMut(&P) -> P,
) -> (f64, P, Vec<f64>) {
    let mut v = start;
    let norm = dot(&v, &v).sqrt();
    scale(&mut v, 1.0 / norm);
    let (mut lambda, mut history) = (0.0, Vec::with_capacity(iterations));
    for _ in 0..iterations {
        let mut hv = hvp(&v);
        lambda = dot(&v, &hv);
        history.push(lambda);
        let norm = dot(&hv, &hv).sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            panic!("top_eigenvalue: ‖H·v‖ = {norm}: the direction is in H's null space, or H·v is not finite");
        }
        scale(&mut hv, 1.0 / norm);
        v = hv;
    }
    (lambda, v, history)
}

/// What [`conjugate_gradient`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solve {
    /// H·v products used.
    pub products: usize,
    /// ‖r‖ / ‖b‖ at the end.
    pub relative_residual: f64,
    /// It stopped because the curvature along a search direction was not
    /// positive: the step so far is returned (as in Newton-CG, which then
    /// takes the steepest-descent direction if it has no other).
    pub negative_curvature: bool,
}

/// Solves (H + λI)·x = b by conjugate gradients from x = 0, with at most
/// `max_products` H·v products, stopping when ‖r‖ ≤ `tolerance`·‖b‖ or along
/// a direction p with pᵀ(H + λI)p ≤ 0 (H need not be positive definite:
/// damping λ > 0 makes it more often so).
///
/// ```
/// use autodiff_runtime::train::curvature::conjugate_gradient;
/// use ndarray::{Array1, array};
///
/// // H = [[4, 1], [1, 3]]: (H + 0·I)·x = (1, 2) has x = (1/11, 7/11).
/// let hvp = |v: &Array1<f64>| array![4.0 * v[0] + v[1], v[0] + 3.0 * v[1]];
/// let (x, solve) = conjugate_gradient(&array![1.0, 2.0], 0.0, 10, 1e-12, hvp);
/// assert!((x[0] - 1.0 / 11.0).abs() < 1e-12 && (x[1] - 7.0 / 11.0).abs() < 1e-12);
/// assert!(solve.products <= 2);
/// ```
pub fn conjugate_gradient<P: Params + Clone>(
    b: &P,
    damping: f64,
    max_products: usize,
    tolerance: f64,
    mut hvp: impl FnMut(&P) -> P,
) -> (P, Solve) {
    let mut x = b.clone();
    scale(&mut x, 0.0);
    let (mut r, mut p) = (b.clone(), b.clone());
    let b_norm = dot(b, b).sqrt();
    let mut rr = dot(&r, &r);
    let mut solve = Solve {
        products: 0,
        relative_residual: if b_norm > 0.0 { 1.0 } else { 0.0 },
        negative_curvature: false,
    };
    while solve.products < max_products && rr.sqrt() > tolerance * b_norm {
        let mut hp = hvp(&p);
        solve.products += 1;
        axpy(&mut hp, damping, &p);
        let curvature = dot(&p, &hp);
        if curvature <= 0.0 {
            solve.negative_curvature = true;
            break;
        }
        let alpha = rr / curvature;
        axpy(&mut x, alpha, &p);
        axpy(&mut r, -alpha, &hp);
        let next = dot(&r, &r);
        scale(&mut p, next / rr);
        axpy(&mut p, 1.0, &r);
        rr = next;
        solve.relative_residual = if b_norm > 0.0 { rr.sqrt() / b_norm } else { 0.0 };
    }
    (x, solve)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// A random symmetric matrix, and H·v by it.
    fn symmetric(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = Array2::from_shape_fn((n, n), |_| rng.random_range(-1.0..1.0));
        &m + &m.t()
    }

    #[test]
    fn power_iteration_finds_the_eigenvalue_of_largest_magnitude() {
        // A = QΛQᵀ with a known spectrum, largest |λ| = 5.
        let mut rng = StdRng::seed_from_u64(3);
        let spectrum = [5.0, -2.0, 1.5, 0.5, -0.25];
        let q = {
            // Gram–Schmidt on random columns.
            let mut q: Array2<f64> = Array2::from_shape_fn((5, 5), |_| rng.random_range(-1.0..1.0));
            for j in 0..5 {
                for k in 0..j {
                    let d = q.column(j).dot(&q.column(k));
                    let col = q.column(k).to_owned();
                    q.column_mut(j).scaled_add(-d, &col);
                }
                let n = q.column(j).dot(&q.column(j)).sqrt();
                q.column_mut(j).mapv_inplace(|v| v / n);
            }
            q
        };
        let a = q.dot(&Array2::from_diag(&Array1::from(spectrum.to_vec()))).dot(&q.t());
        let start = random_direction(&Array1::<f64>::zeros(5), &mut rng);
        let (lambda, v, history) = top_eigenvalue(start, 200, |v: &Array1<f64>| a.dot(v));
        assert!((lambda - 5.0).abs() < 1e-10, "{lambda}");
        assert!((v.dot(&q.column(0)).abs() - 1.0).abs() < 1e-8);
        assert_eq!(history.len(), 200);
    }

    #[test]
    fn conjugate_gradient_solves_a_damped_system_and_stops_at_negative_curvature() {
        let m = symmetric(6, 4);
        // mᵀm + I is positive definite; with damping 0.5 the system is (mᵀm + 1.5 I)x = b.
        let h = m.t().dot(&m) + Array2::<f64>::eye(6);
        let b = Array1::from_shape_fn(6, |i| i as f64 - 2.0);
        let (x, solve) = conjugate_gradient(&b, 0.5, 50, 1e-12, |v: &Array1<f64>| h.dot(v));
        let residual = &(h.dot(&x) + &(&x * 0.5)) - &b;
        assert!(residual.iter().all(|r| r.abs() < 1e-9), "{residual}");
        assert!(solve.products <= 7 && !solve.negative_curvature, "{solve:?}");
        // An indefinite H: CG stops where pᵀHp ≤ 0.
        let indefinite = Array2::from_diag(&Array1::from(vec![1.0, -1.0]));
        let (_, solve) = conjugate_gradient(&Array1::from(vec![1.0, 1.0]), 0.0, 10, 1e-12, |v: &Array1<f64>| {
            indefinite.dot(v)
        });
        assert!(solve.negative_curvature);
    }
}
