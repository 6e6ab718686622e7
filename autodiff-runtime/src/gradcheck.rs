//! Finite-difference gradient checking, like `torch.autograd.gradcheck`.
//!
//! Central differences in f64: `∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε`, whose
//! truncation error is O(ε²) and round-off error O(u/ε); ε = 1e-6 balances the
//! two at about 1e-10 for values of order one.

use std::fmt;

use ndarray::{ArrayD, Dimension};

/// The step used by [`numerical_gradient`] when called through [`gradcheck`].
pub const DEFAULT_EPS: f64 = 1e-6;

/// Tolerances: an element passes when `|analytic − numeric| ≤ atol + rtol·|numeric|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { atol: 1e-7, rtol: 1e-6 }
    }
}

/// The first element at which an analytic gradient disagrees with finite differences.
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckError {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// The element's index within that input.
    pub index: Vec<usize>,
    /// The gradient under test.
    pub analytic: f64,
    /// The central-difference estimate.
    pub numeric: f64,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient of input {} at {:?}: analytic {:e}, finite differences {:e} (difference {:e})",
            self.input,
            self.index,
            self.analytic,
            self.numeric,
            (self.analytic - self.numeric).abs()
        )
    }
}

impl std::error::Error for GradcheckError {}

/// Central-difference gradient of a scalar function of several arrays, with
/// respect to each of them.
pub fn numerical_gradient(f: impl Fn(&[ArrayD<f64>]) -> f64, inputs: &[ArrayD<f64>], eps: f64) -> Vec<ArrayD<f64>> {
    let mut point: Vec<ArrayD<f64>> = inputs.to_vec();
    let mut grads = Vec::with_capacity(inputs.len());
    for i in 0..inputs.len() {
        let mut grad = ArrayD::zeros(inputs[i].raw_dim());
        for flat in 0..inputs[i].len() {
            let original = point[i].as_slice_memory_order().map(|s| s[flat]);
            let Some(original) = original else {
                point[i] = point[i].as_standard_layout().into_owned();
                return numerical_gradient(f, &point, eps);
            };
            point[i].as_slice_memory_order_mut().expect("contiguous")[flat] = original + eps;
            let plus = f(&point);
            point[i].as_slice_memory_order_mut().expect("contiguous")[flat] = original - eps;
            let minus = f(&point);
            point[i].as_slice_memory_order_mut().expect("contiguous")[flat] = original;
            grad.as_slice_memory_order_mut().expect("contiguous")[flat] = (plus - minus) / (2.0 * eps);
        }
        grads.push(grad);
    }
    grads
}

/// Checks `analytic[i]`, the claimed gradient of `f` with respect to
/// `inputs[i]`, against central differences. Returns the first disagreement.
pub fn gradcheck(
    f: impl Fn(&[ArrayD<f64>]) -> f64,
    inputs: &[ArrayD<f64>],
    analytic: &[ArrayD<f64>],
    tolerance: Tolerance,
) -> Result<(), GradcheckError> {
    assert_eq!(
        inputs.len(),
        analytic.len(),
        "gradcheck: one analytic gradient per input"
    );
    let inputs: Vec<ArrayD<f64>> = inputs.iter().map(|a| a.as_standard_layout().into_owned()).collect();
    let numeric = numerical_gradient(f, &inputs, DEFAULT_EPS);
    for (input, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
        assert_eq!(
            a.shape(),
            n.shape(),
            "gradcheck: gradient {input} has shape {:?}, its input {:?}",
            a.shape(),
            n.shape()
        );
        for ((index, &a), &n) in a.indexed_iter().zip(n.iter()) {
            // Written so that a NaN on either side fails the check.
            let within = (a - n).abs() <= tolerance.atol + tolerance.rtol * n.abs();
            if !within {
                return Err(GradcheckError {
                    input,
                    index: index.slice().to_vec(),
                    analytic: a,
                    numeric: n,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn accepts_a_correct_gradient_and_rejects_a_wrong_one() {
        // f(x) = Σ x³, ∂f/∂x = 3x².
        let f = |v: &[ArrayD<f64>]| v[0].mapv(|x| x * x * x).sum();
        let x = arr1(&[0.5, -1.5, 2.0]).into_dyn();
        let right = x.mapv(|x| 3.0 * x * x);
        assert!(
            gradcheck(
                f,
                std::slice::from_ref(&x),
                std::slice::from_ref(&right),
                Tolerance::default()
            )
            .is_ok()
        );
        let mut wrong = right;
        wrong[[1]] += 1e-4;
        let err = gradcheck(f, &[x], &[wrong], Tolerance::default()).unwrap_err();
        assert_eq!(err.index, vec![1]);
        assert!(err.to_string().contains("input 0"));
    }
}
