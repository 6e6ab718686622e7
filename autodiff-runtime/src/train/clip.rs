//! Gradient clipping by the global norm, as
//! `torch.nn.utils.clip_grad_norm_`: the whole gradient (every tensor of a
//! model's gradient together) is scaled down when its L2 norm exceeds a
//! bound, which keeps one exploding step (a recurrent network's, say) from
//! undoing training while leaving the direction unchanged.

use num_traits::ToPrimitive;

use crate::float::Float;
use crate::params::Params;

/// The L2 norm of the whole gradient: √(Σ g²) over every tensor, summed in
/// f64.
pub fn grad_norm<P: Params + ?Sized>(grad: &P) -> P::Elem {
    let mut squares = 0.0_f64;
    grad.visit_values(&mut |g| {
        squares += g.iter().map(|v| v.to_f64().unwrap_or(f64::NAN).powi(2)).sum::<f64>();
    });
    P::Elem::of(squares.sqrt())
}

/// Scales `grad` in place so that its global L2 norm is at most `max_norm`,
/// and returns the norm it had before (as PyTorch does). A norm that is not
/// finite leaves the gradient unchanged: the caller sees it in the returned
/// value and can skip the step.
///
/// ```
/// use autodiff_runtime::train::clip_grad_norm;
/// use ndarray::Array1;
///
/// let mut g = Array1::from(vec![3.0_f64, 4.0]);
/// assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
/// assert!((g[0] - 0.6).abs() < 1e-12 && (g[1] - 0.8).abs() < 1e-12);
/// ```
///
/// # Panics
/// If `max_norm` is negative or not finite.
pub fn clip_grad_norm<P: Params + ?Sized>(grad: &mut P, max_norm: P::Elem) -> P::Elem {
    let bound = max_norm.to_f64().unwrap_or(f64::NAN);
    if !(bound >= 0.0 && bound.is_finite()) {
        panic!("clip_grad_norm: max_norm must be a finite number ≥ 0, not {bound}");
    }
    let norm = grad_norm(grad);
    let n = norm.to_f64().unwrap_or(f64::NAN);
    if n.is_finite() && n > bound {
        let k = P::Elem::of(bound / n);
        grad.visit_values_mut(&mut |mut g| g.mapv_inplace(|v| v * k));
    }
    norm
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};

    use super::*;

    #[test]
    fn the_norm_spans_every_tensor_and_clipping_keeps_the_direction() {
        // Two tensors of different ranks, as a model's gradient has.
        let w = Array2::from_shape_vec((2, 2), vec![1.0_f64, -2.0, 2.0, 0.0]).unwrap();
        let b = Array1::from(vec![4.0_f64, 0.0]);
        let mut g = vec![w.into_dyn(), b.into_dyn()];
        assert_eq!(grad_norm(&g), 5.0);
        let before = g.clone();
        assert_eq!(clip_grad_norm(&mut g, 10.0), 5.0);
        assert_eq!(g, before);
        assert_eq!(clip_grad_norm(&mut g, 2.5), 5.0);
        assert!((grad_norm(&g) - 2.5).abs() < 1e-12);
        assert!((g[0][[0, 1]] + 1.0).abs() < 1e-12 && (g[1][[0]] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_non_finite_norm_leaves_the_gradient_alone() {
        let mut g = Array1::from(vec![f32::INFINITY, 1.0]);
        assert!(clip_grad_norm(&mut g, 1.0).is_infinite());
        assert_eq!(g[1], 1.0);
    }

    #[test]
    #[should_panic(expected = "clip_grad_norm: max_norm must be a finite number ≥ 0, not -1")]
    fn a_negative_bound_is_an_error() {
        clip_grad_norm(&mut Array1::from(vec![1.0_f64]), -1.0);
    }
}
