//! Weight initialisation and dropout masks.
//!
//! Weights should start random, neither so large nor so small that activations
//! grow or vanish layer after layer. With weights laid out `[out, in]` (as
//! `linear` takes them), fan_in is the product of all axes but the first and
//! fan_out the first axis. Tensors of rank ≤ 1 (biases) start at zero.

use ndarray::{Array, Dimension, IntoDimension};
use num_traits::Zero;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::float::Float;
use crate::params::Params;

/// An initialisation scheme for weights (rank ≥ 2 tensors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// He et al. 2015, for ReLU: N(0, 2/fan_in).
    KaimingNormal,
    /// He et al. 2015, for ReLU: U(−√(6/fan_in), √(6/fan_in)), variance 2/fan_in.
    KaimingUniform,
    /// Glorot & Bengio 2010, for tanh/sigmoid: N(0, 2/(fan_in + fan_out)).
    XavierNormal,
    /// Glorot & Bengio 2010: U(−√(6/(fan_in + fan_out)), +…), variance 2/(fan_in + fan_out).
    XavierUniform,
}

impl Init {
    /// The variance of the weights of a tensor with these fans.
    pub fn variance(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            Init::KaimingNormal | Init::KaimingUniform => 2.0 / fan_in as f64,
            Init::XavierNormal | Init::XavierUniform => 2.0 / (fan_in + fan_out) as f64,
        }
    }
}

/// Initialises every tensor of `params`: weights by `scheme`, biases to zero.
pub fn init<P: Params>(params: &mut P, scheme: Init, rng: &mut impl Rng) {
    params.visit_mut(&mut |_, mut tensor| {
        if tensor.ndim() < 2 {
            tensor.fill(P::Elem::zero());
            return;
        }
        let fan_out = tensor.shape()[0];
        let fan_in: usize = tensor.shape()[1..].iter().product();
        let variance = scheme.variance(fan_in.max(1), fan_out.max(1));
        match scheme {
            Init::KaimingNormal | Init::XavierNormal => {
                let normal = Normal::new(0.0, variance.sqrt()).expect("finite positive std");
                tensor.mapv_inplace(|_| P::Elem::of(normal.sample(rng)));
            }
            Init::KaimingUniform | Init::XavierUniform => {
                let bound = (3.0 * variance).sqrt();
                let uniform = Uniform::new_inclusive(-bound, bound).expect("finite bounds");
                tensor.mapv_inplace(|_| P::Elem::of(uniform.sample(rng)));
            }
        }
    });
}

/// A 0/1 dropout mask: each unit kept (1) with probability `keep`.
/// Pass it to `dropout(x, &mask, keep)` during training only.
pub fn dropout_mask<F: Float, Sh: IntoDimension>(shape: Sh, keep: f64, rng: &mut impl Rng) -> Array<F, Sh::Dim>
where
    Sh::Dim: Dimension,
{
    assert!(
        keep > 0.0 && keep <= 1.0,
        "dropout_mask: keep probability {keep} is outside (0, 1]"
    );
    Array::from_shape_simple_fn(shape, || {
        if rng.random::<f64>() < keep {
            F::one()
        } else {
            F::zero()
        }
    })
}

/// [`dropout_mask`] into `mask`, reusing its buffer: once `mask` has been this
/// large, a new mask allocates nothing. Draws the same values from `rng` as
/// [`dropout_mask`].
pub fn dropout_mask_into<F: Float, D: Dimension, Sh: IntoDimension<Dim = D>>(
    mask: &mut Array<F, D>,
    shape: Sh,
    keep: f64,
    rng: &mut impl Rng,
) {
    assert!(
        keep > 0.0 && keep <= 1.0,
        "dropout_mask_into: keep probability {keep} is outside (0, 1]"
    );
    let dim = shape.into_dimension();
    let len = dim.size();
    crate::workspace::refill(mask, dim, |buffer| {
        buffer.extend((0..len).map(|_| {
            if rng.random::<f64>() < keep {
                F::one()
            } else {
                F::zero()
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    struct Layer {
        w: Array2<f64>,
        b: Array1<f64>,
    }

    impl Params for Layer {
        type Elem = f64;
        fn visit_prefixed<'a>(&'a self, _: &str, f: &mut dyn FnMut(&str, ndarray::ArrayViewD<'a, f64>)) {
            f("w", self.w.view().into_dyn());
            f("b", self.b.view().into_dyn());
        }
        fn visit_prefixed_mut(&mut self, _: &str, f: &mut dyn FnMut(&str, ndarray::ArrayViewMutD<'_, f64>)) {
            f("w", self.w.view_mut().into_dyn());
            f("b", self.b.view_mut().into_dyn());
        }
    }

    fn sample_variance(a: &Array2<f64>) -> f64 {
        let mean = a.mean().unwrap();
        a.mapv(|v| (v - mean) * (v - mean)).mean().unwrap()
    }

    #[test]
    fn each_scheme_has_its_variance() {
        let (fan_out, fan_in) = (300, 200);
        for scheme in [
            Init::KaimingNormal,
            Init::KaimingUniform,
            Init::XavierNormal,
            Init::XavierUniform,
        ] {
            let mut layer = Layer {
                w: Array2::zeros((fan_out, fan_in)),
                b: Array1::ones(fan_out),
            };
            init(&mut layer, scheme, &mut StdRng::seed_from_u64(7));
            let expected = scheme.variance(fan_in, fan_out);
            let measured = sample_variance(&layer.w);
            // 60,000 samples: the relative standard error of a variance is about 0.6%.
            assert!(
                (measured / expected - 1.0).abs() < 0.03,
                "{scheme:?}: {measured} vs {expected}"
            );
            assert!(layer.w.mean().unwrap().abs() < 0.01 * expected.sqrt() * 10.0);
            assert!(layer.b.iter().all(|&b| b == 0.0), "biases start at zero");
        }
        assert_eq!(Init::KaimingNormal.variance(50, 10), 2.0 / 50.0);
        assert_eq!(Init::XavierUniform.variance(50, 10), 2.0 / 60.0);
    }

    #[test]
    fn uniform_schemes_stay_within_their_bound() {
        let mut layer = Layer {
            w: Array2::zeros((64, 32)),
            b: Array1::zeros(64),
        };
        init(&mut layer, Init::KaimingUniform, &mut StdRng::seed_from_u64(1));
        let bound = (6.0_f64 / 32.0).sqrt();
        assert!(layer.w.iter().all(|v| v.abs() <= bound));
    }

    #[test]
    fn same_seed_same_weights() {
        let make = || {
            let mut layer = Layer {
                w: Array2::zeros((4, 3)),
                b: Array1::zeros(4),
            };
            init(&mut layer, Init::KaimingNormal, &mut StdRng::seed_from_u64(42));
            layer.w
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn dropout_masks_keep_the_right_fraction() {
        let mask: Array2<f32> = dropout_mask((200, 100), 0.8, &mut StdRng::seed_from_u64(3));
        assert!(mask.iter().all(|&m| m == 0.0 || m == 1.0));
        let kept = mask.sum() / mask.len() as f32;
        assert!((kept - 0.8).abs() < 0.01, "{kept}");
    }

    #[test]
    fn a_mask_into_a_buffer_is_the_same_mask() {
        let (mut fresh, mut reused) = (StdRng::seed_from_u64(4), StdRng::seed_from_u64(4));
        let mut mask = Array2::<f64>::zeros((0, 0));
        for shape in [(30, 20), (7, 20), (30, 20)] {
            dropout_mask_into(&mut mask, shape, 0.7, &mut reused);
            assert_eq!(mask, dropout_mask::<f64, _>(shape, 0.7, &mut fresh));
        }
    }
}
