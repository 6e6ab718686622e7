//! Test helpers shared by the module tests: random inputs and a VJP check
//! through a random projection (as Zygote's `gradtest` does): for a module
//! y = f(x₁, …, xₙ) and a random r of y's shape, the VJP with upstream r must be
//! the gradient of the scalar L = Σ r ⊙ f(x).

use ndarray::{Array, ArrayD, Dimension, IntoDimension, Ix1};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::gradcheck::{Tolerance, gradcheck};
use crate::value::Value;

/// Uniform values in [-3, 3), from a fixed seed.
pub fn random<D: Dimension>(shape: impl IntoDimension<Dim = D>, seed: u64) -> Array<f64, D> {
    let mut rng = StdRng::seed_from_u64(seed);
    Array::from_shape_simple_fn(shape, || rng.random_range(-3.0..3.0))
}

pub fn d1(a: &ArrayD<f64>) -> Array<f64, Ix1> {
    a.clone().into_dimensionality().expect("rank 1")
}

/// Checks a module's VJP. `forward` maps the inputs to the output; `vjp` maps
/// (inputs, output, upstream gradient) to one optional gradient per input.
/// Inputs whose gradient is `None` are not checked.
pub fn assert_vjp<Y: Value<Elem = f64>>(
    inputs: &[ArrayD<f64>],
    forward: impl Fn(&[ArrayD<f64>]) -> Y,
    vjp: impl Fn(&[ArrayD<f64>], &Y, Y) -> Vec<Option<ArrayD<f64>>>,
) {
    let y = forward(inputs);
    let r = Y::from_dyn(random(y.view_dyn().raw_dim(), 0x5eed));
    let analytic = vjp(inputs, &y, r.clone());
    assert_eq!(analytic.len(), inputs.len(), "one gradient slot per input");
    let projected = |v: &[ArrayD<f64>]| (&forward(v).view_dyn() * &r.view_dyn()).sum();
    let positions: Vec<usize> = (0..inputs.len()).filter(|&i| analytic[i].is_some()).collect();
    let checked_inputs: Vec<ArrayD<f64>> = positions.iter().map(|&i| inputs[i].clone()).collect();
    let checked_grads: Vec<ArrayD<f64>> = positions.iter().filter_map(|&i| analytic[i].clone()).collect();
    // Rebuild the full argument list around the checked inputs.
    let f = |checked: &[ArrayD<f64>]| {
        let mut all = inputs.to_vec();
        for (slot, value) in positions.iter().zip(checked) {
            all[*slot] = value.clone();
        }
        projected(&all)
    };
    if let Err(e) = gradcheck(f, &checked_inputs, &checked_grads, Tolerance::default()) {
        panic!("VJP disagrees with finite differences: {e}");
    }
}
