//! `duplicate(x)`: (Y₁, Y₂) = (X, X), a Y-shaped split of one value. Its adjoint
//! sums the branch gradients: dC/dX = dC/dY₁ + dC/dY₂.
//!
//! Using a value twice in a `#[differentiable]` body is an implicit duplicate;
//! this explicit module exists so a graph can name the split.

use crate::value::{Input, Value};

use super::arith::combine_in_place;

crate::module! {
    /// `(x, x)`.
    pub fn duplicate<X: Input + ?Sized>(x: &X) -> (X::Value, X::Value) {
        (x.map_to_value(|v| v), x.map_to_value(|v| v))
    }

    /// The sum of both branch gradients (a branch nothing used gives none).
    backward(y, g, need) {
        let shape = x.input_view().shape().to_vec();
        for (which, g) in [("first", &g.0), ("second", &g.1)] {
            if let Some(g) = g
                && g.shape_of() != shape
            {
                panic!(
                    "duplicate: the {which} output's upstream gradient has shape {:?}, the input has shape {:?}",
                    g.shape_of(),
                    shape
                );
            }
        }
        grad x: X::Value = match g {
            (Some(g1), Some(g2)) => {
                X::Value::from_dyn(combine_in_place("duplicate", g1.into_dyn_array(), g2.view_dyn(), |a, b| a + b))
            }
            (Some(g), None) | (None, Some(g)) => g,
            (None, None) => x.map_to_value(|_| num_traits::Zero::zero()),
        };
    }

    tangent linear;

    gradcheck {
        x: random([4]);
        x: random([2, 3]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random;
    use ndarray::Array2;

    #[test]
    fn gradients_are_summed() {
        let x = random((2, 3), 1);
        let y = duplicate(&x);
        assert_eq!(y.0, x);
        assert_eq!(y.1, x);
        let g = (random((2, 3), 2), random((2, 3), 3));
        let (gx,) = duplicate_vjp(&x, &y, (Some(g.0.clone()), Some(g.1.clone())), [true]);
        assert_eq!(gx.unwrap(), &g.0 + &g.1);
        let (gx,) = duplicate_vjp(&x, &y, (None, Some(g.1.clone())), [true]);
        assert_eq!(gx.unwrap(), g.1);
        let (gx,) = duplicate_vjp(&x, &y, (None, None), [true]);
        assert_eq!(gx.unwrap(), Array2::<f64>::zeros((2, 3)));
        assert_eq!(
            duplicate_vjp(&1.5_f32, &(1.5, 1.5), (Some(2.0), Some(3.0)), [true]).0,
            Some(5.0)
        );
    }

    #[test]
    fn views_go_in() {
        let x = random((3, 4), 5);
        let (a, b) = duplicate(&x.t());
        assert_eq!((a.shape(), b.shape()), (&[4, 3][..], &[4, 3][..]));
    }
}
