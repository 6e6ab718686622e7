//! `duplicate(x)`: (Y₁, Y₂) = (X, X), the lecture's "Y-splitter". Its adjoint
//! sums the branch gradients: dC/dX = dC/dY₁ + dC/dY₂.
//!
//! Using a value twice in a `#[differentiable]` body is an implicit duplicate;
//! this explicit module exists so a graph can name the split.

use crate::value::{Input, Value};

use super::arith::combine_in_place;

// Written by hand rather than with `module!`: its output is a pair, which the
// generated checks (made for one output) do not cover; its tests are below.

/// `(x, x)`.
pub fn duplicate<X: Input>(x: &X) -> (X::Value, X::Value) {
    (x.map_to_value(|v| v), x.map_to_value(|v| v))
}

/// VJP of [`duplicate`]: the sum of both branch gradients.
pub fn duplicate_vjp<X: Input>(
    x: &X,
    _y: &(X::Value, X::Value),
    g: (X::Value, X::Value),
    need: [bool; 1],
) -> (Option<X::Value>,) {
    let shape = x.input_view().shape().to_vec();
    if g.0.shape_of() != shape || g.1.shape_of() != shape {
        panic!(
            "duplicate: upstream gradients have shapes {:?} and {:?}, input has shape {:?}",
            g.0.shape_of(),
            g.1.shape_of(),
            shape
        );
    }
    let (g1, g2) = g;
    (need[0].then(|| {
        X::Value::from_dyn(combine_in_place(
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

    #[test]
    fn f32_agrees_with_f64_and_views_go_in() {
        let x = random((3, 4), 5);
        let g = (random((3, 4), 6), random((3, 4), 7));
        let x32 = x.mapv(|v| v as f32);
        let g32 = (g.0.mapv(|v| v as f32), g.1.mapv(|v| v as f32));
        let (a,) = duplicate_vjp(&x.view(), &duplicate(&x.view()), g, [true]);
        let (b,) = duplicate_vjp(&x32, &duplicate(&x32), g32, [true]);
        assert!(
            a.unwrap()
                .iter()
                .zip(&b.unwrap())
                .all(|(a, b)| (a - f64::from(*b)).abs() < 1e-5)
        );
    }
}
