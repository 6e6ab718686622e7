//! `dropout(x, mask, p)`: y = x ⊙ mask / p, with an explicit 0/1 mask whose ones
//! were kept with probability p ("inverted" dropout: dividing by p keeps the
//! expected activation unchanged, so nothing changes at test time, when the
//! module is simply left out). Masks come from a seeded RNG (`dropout_mask`).

use ndarray::{Array, Dimension, Zip};

use crate::float::Float;
use crate::gradient::NoGrad;
use crate::value::check_upstream;

fn check<F: Float, D: Dimension>(x: &Array<F, D>, mask: &Array<F, D>, p: F) {
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

/// `x ⊙ mask / p`.
pub fn dropout<F: Float, D: Dimension>(x: &Array<F, D>, mask: &Array<F, D>, p: F) -> Array<F, D> {
    check(x, mask, p);
    let k = F::one() / p;
    match (x.as_slice(), mask.as_slice()) {
        (Some(xs), Some(ms)) => crate::workspace::array_from_zip(x.raw_dim(), xs, ms, |x, m| x * m * k),
        _ => Zip::from(x).and(mask).map_collect(|&x, &m| x * m * k),
    }
}

/// VJP of [`dropout`]: `g ⊙ mask / p` to x; the mask and p are not differentiated.
pub fn dropout_vjp<F: Float, D: Dimension>(
    x: &Array<F, D>,
    mask: &Array<F, D>,
    p: F,
    _y: &Array<F, D>,
    g: Array<F, D>,
    need: [bool; 3],
) -> (Option<Array<F, D>>, Option<NoGrad>, Option<NoGrad>) {
    check(x, mask, p);
    check_upstream("dropout", "input", x, &g);
    let k = F::one() / p;
    let gx = need[0].then(|| {
        let mut g = g;
        Zip::from(&mut g).and(mask).for_each(|g, &m| *g = *g * m * k);
        g
    });
    (gx, None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_vjp, d2, random};
    use ndarray::arr1;

    #[test]
    fn vjp_matches_finite_differences() {
        for (shape, seed) in [((4, 3), 51), ((1, 5), 53), ((6, 1), 55)] {
            let mask = random(shape, seed).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
            assert_vjp(
                &[random(shape, seed + 1).into_dyn()],
                |v| dropout(&d2(&v[0]), &mask, 0.5),
                |v, y, g| {
                    vec![
                        dropout_vjp(&d2(&v[0]), &mask, 0.5, y, g, [true, false, false])
                            .0
                            .map(|a| a.into_dyn()),
                    ]
                },
            );
        }
    }

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
