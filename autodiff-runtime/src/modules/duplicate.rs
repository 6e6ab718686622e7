//! `duplicate(x)`: (Y₁, Y₂) = (X, X), the lecture's "Y-splitter". Its adjoint
//! sums the branch gradients: dC/dX = dC/dY₁ + dC/dY₂.
//!
//! Using a value twice in a `#[differentiable]` body is an implicit duplicate;
//! this explicit module exists so a graph can name the split.

use crate::value::Value;

use super::arith::combine_in_place;

/// `(x, x)`.
pub fn duplicate<A: Value>(x: &A) -> (A, A) {
    (x.clone(), x.clone())
}

/// VJP of [`duplicate`]: the sum of both branch gradients.
pub fn duplicate_vjp<A: Value>(x: &A, _y: &(A, A), g: (A, A), need: [bool; 1]) -> (Option<A>,) {
    if !g.0.same_shape(x) || !g.1.same_shape(x) {
        panic!(
            "duplicate: upstream gradients have shapes {:?} and {:?}, input has shape {:?}",
            g.0.shape_of(),
            g.1.shape_of(),
            x.shape_of()
        );
    }
    let (g1, g2) = g;
    (need[0].then(|| {
        A::from_dyn(combine_in_place(
            "duplicate",
            g1.into_dyn_array(),
            g2.view_dyn(),
            |a, b| a + b,
        ))
    }),)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random;

    #[test]
    fn gradients_are_summed() {
        let x = random((2, 3), 1);
        let y = duplicate(&x);
        assert_eq!(y.0, x);
        assert_eq!(y.1, x);
        let g = (random((2, 3), 2), random((2, 3), 3));
        let (gx,) = duplicate_vjp(&x, &y, g.clone(), [true]);
        assert_eq!(gx.unwrap(), &g.0 + &g.1);
        assert_eq!(duplicate_vjp(&1.5_f32, &(1.5, 1.5), (2.0, 3.0), [true]).0, Some(5.0));
    }

    #[test]
    fn vjp_matches_finite_differences() {
        // Through the random projection Σ r₁⊙y₁ + r₂⊙y₂ = Σ (r₁ + r₂)⊙x.
        let x = random(4, 1).into_dyn();
        let (r1, r2) = (random(4, 2).into_dyn(), random(4, 3).into_dyn());
        let f = |v: &[ndarray::ArrayD<f64>]| {
            let (a, b) = duplicate(&v[0]);
            (&a * &r1).sum() + (&b * &r2).sum()
        };
        let (gx,) = duplicate_vjp(&x, &duplicate(&x), (r1.clone(), r2.clone()), [true]);
        crate::gradcheck::gradcheck(f, &[x], &[gx.unwrap()], Default::default()).unwrap();
    }
}
