//! `dropout(x, mask, p)`: y = x ⊙ mask / p, with an explicit 0/1 mask whose ones
//! were kept with probability p ("inverted" dropout: dividing by p keeps the
//! expected activation unchanged, so nothing changes at test time, when the
//! module is simply left out). Masks come from a seeded RNG (`dropout_mask`).

use ndarray::{Array, ArrayRef, Dimension, Zip};

use crate::float::Float;
use crate::value::check_shape;

fn check<F: Float, D: Dimension>(x: &ArrayRef<F, D>, mask: &ArrayRef<F, D>, p: F) {
    if x.shape() != mask.shape() {
        panic!(
            "dropout: x has shape {:?} but mask has shape {:?}",
            x.shape(),
            mask.shape()
        );
    }
    if !(p > F::zero() && p <= F::one()) {
        panic!("dropout: keep probability p = {p} is outside (0, 1]");
    }
}

crate::module! {
    /// `x ⊙ mask / p`.
    ///
    /// # Panics
    /// If the mask's shape is not x's, or p is outside (0, 1].
    pub fn dropout<F: Float, D: Dimension>(x: &ArrayRef<F, D>, mask: &ArrayRef<F, D>, p: F) -> Array<F, D> {
        check(x, mask, p);
        let k = F::one() / p;
        match (x.as_slice(), mask.as_slice()) {
            (Some(xs), Some(ms)) => crate::elementwise::array_from_zip(x.raw_dim(), xs, ms, |x, m| x * m * k),
            _ => Zip::from(x).and(mask).map_collect(|&x, &m| x * m * k),
        }
    }

    /// `g ⊙ mask / p` to x; the mask and p are not differentiated.
    backward(y, g, need) {
        check(x, mask, p);
        check_shape("dropout", "input", x.shape(), g.shape());
        let k = F::one() / p;
        grad x = {
            let mut g = g;
            Zip::from(&mut g).and(mask).for_each(|g, &m| *g = *g * m * k);
            g
        };
    }

    tangent linear;

    gradcheck {
        x: random([4, 3]), mask: bernoulli([4, 3], 0.5), p: 0.5;
        x: random([1, 5]), mask: bernoulli([1, 5], 0.8), p: 0.8;
        x: random([6, 1, 2]), mask: bernoulli([6, 1, 2], 0.3), p: 0.3;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn scales_kept_units_by_one_over_p() {
        let y = dropout(&arr1(&[1.0_f32, 2.0, 3.0, 4.0]), &arr1(&[1.0, 0.0, 1.0, 0.0]), 0.5);
        assert_eq!(y, arr1(&[2.0, 0.0, 6.0, 0.0]));
    }

    #[test]
    #[should_panic(expected = "dropout: x has shape [3] but mask has shape [2]")]
    fn mask_shape_mismatch() {
        dropout(&arr1(&[1.0, 2.0, 3.0]), &arr1(&[1.0, 0.0]), 0.5);
    }
}
