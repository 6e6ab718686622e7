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

    /// The sum of both branch gradients.
    backward(y, g, need) {
        let shape = x.input_view().shape().to_vec();
        if g.0.shape_of() != shape || g.1.shape_of() != shape {
            panic!(
                "duplicate: upstream gradients have shapes {:?} and {:?}, input has shape {:?}",
                g.0.shape_of(),
                g.1.shape_of(),
                shape
            );
        }
        grad x: X::Value = {
            let (g1, g2) = g;
            X::Value::from_dyn(combine_in_place("duplicate", g1.into_dyn_array(), g2.view_dyn(), |a, b| a + b))
        };
    }

    gradcheck {
        x: random([4]);
        x: random([2, 3]);
    }
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
    fn views_go_in() {
        let x = random((3, 4), 5);
        let (a, b) = duplicate(&x.t());
        assert_eq!((a.shape(), b.shape()), (&[4, 3][..], &[4, 3][..]));
    }
}
