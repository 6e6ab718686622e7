//! Optimizers: SGD with momentum (optionally Nesterov), Adam and AdamW. Each
//! steps any [`Params`] model with a gradient of the same type, matching
//! tensors by visiting order; state is kept per tensor.

use ndarray::{ArrayD, Zip};

use crate::float::Float;
use crate::params::Params;

/// Updates a model from its gradient.
pub trait Optimizer<F: Float> {
    /// One update: `params` moves against `grads`.
    fn step<P: Params<Elem = F>>(&mut self, params: &mut P, grads: &P);
    /// The current learning rate.
    fn learning_rate(&self) -> f64;
    /// Sets the learning rate (for schedules).
    fn set_learning_rate(&mut self, lr: f64);
}

/// Stochastic gradient descent with momentum μ (PyTorch's form):
/// v ← μ·v + g; w ← w − lr·v, or with Nesterov w ← w − lr·(g + μ·v).
#[derive(Debug, Clone)]
pub struct Sgd<F: Float> {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ (0 for plain SGD).
    pub momentum: f64,
    /// Nesterov's look-ahead form of momentum.
    pub nesterov: bool,
    velocity: Vec<ArrayD<F>>,
}

impl<F: Float> Sgd<F> {
    /// Plain SGD: w ← w − lr·g.
    pub fn new(lr: f64) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
            velocity: Vec::new(),
        }
    }

    /// SGD with momentum μ.
    pub fn momentum(lr: f64, momentum: f64) -> Self {
        Sgd {
            momentum,
            ..Sgd::new(lr)
        }
    }

    /// SGD with Nesterov momentum μ.
    pub fn nesterov(lr: f64, momentum: f64) -> Self {
        Sgd {
            momentum,
            nesterov: true,
            ..Sgd::new(lr)
        }
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn step<P: Params<Elem = F>>(&mut self, params: &mut P, grads: &P) {
        if self.velocity.is_empty() {
            self.velocity = grads.views().iter().map(|g| ArrayD::zeros(g.raw_dim())).collect();
        }
        let (lr, mu, nesterov) = (F::of(self.lr), F::of(self.momentum), self.nesterov);
        let mut i = 0;
        params.visit_zip_mut(grads, &mut |mut w, g| {
            let v = check_slot(|i| tensor_name(grads, i), i, &w, &g, &mut self.velocity);
            Zip::from(&mut w).and(&g).and(v).for_each(|w, &g, v| {
                *v = mu * *v + g;
                let update = if nesterov { g + mu * *v } else { *v };
                *w -= lr * update;
            });
            i += 1;
        });
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
}

/// Adam (Kingma & Ba 2015), optionally with decoupled weight decay (AdamW,
/// Loshchilov & Hutter 2019): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// w ← w − lr·(m̂/(√v̂ + ε) + λ·w) with bias-corrected m̂, v̂.
#[derive(Debug, Clone)]
pub struct Adam<F: Float> {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to √v̂.
    pub eps: f64,
    /// Decoupled weight decay λ (0 for plain Adam).
    pub weight_decay: f64,
    /// Which tensors the decay applies to (all unless [`Adam::decay_where`]).
    decayed: Option<DecayFilter>,
    /// Per tensor, whether it decays: decided at the first step.
    decays: Vec<bool>,
    m: Vec<ArrayD<F>>,
    v: Vec<ArrayD<F>>,
    t: i32,
}

/// Chooses the tensors weight decay applies to, by name and shape.
#[derive(Clone)]
struct DecayFilter(std::sync::Arc<dyn Fn(&str, &[usize]) -> bool + Send + Sync>);

impl std::fmt::Debug for DecayFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecayFilter")
    }
}

impl<F: Float> Adam<F> {
    /// Adam with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decayed: None,
            decays: Vec::new(),
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// AdamW: Adam with decoupled weight decay λ, applied to the weights
    /// directly rather than through the gradient.
    pub fn adamw(lr: f64, weight_decay: f64) -> Self {
        Adam {
            weight_decay,
            ..Adam::new(lr)
        }
    }

    /// Decays only the tensors for which `filter(name, shape)` holds, as
    /// PyTorch's parameter groups do: GPT recipes decay the matrices and
    /// leave biases, norms' scales and shifts alone,
    /// `Adam::adamw(1e-3, 0.1).decay_where(|_, shape| shape.len() >= 2)`.
    /// Decided once, at the first step, from the gradient's names and shapes.
    pub fn decay_where(mut self, filter: impl Fn(&str, &[usize]) -> bool + Send + Sync + 'static) -> Self {
        self.decayed = Some(DecayFilter(std::sync::Arc::new(filter)));
        self
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step<P: Params<Elem = F>>(&mut self, params: &mut P, grads: &P) {
        if self.m.is_empty() {
            self.m = grads.views().iter().map(|g| ArrayD::zeros(g.raw_dim())).collect();
            self.v = self.m.clone();
            self.decays = match &self.decayed {
                Some(filter) => grads
                    .shapes()
                    .iter()
                    .map(|(name, shape)| (filter.0)(name, shape))
                    .collect(),
                None => vec![true; self.m.len()],
            };
        }
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        let (lr, eps) = (F::of(self.lr), F::of(self.eps));
        let decays = &self.decays;
        let decay_of = |i: usize| {
            if decays.get(i).copied().unwrap_or(true) {
                F::of(self.lr * self.weight_decay)
            } else {
                F::zero()
            }
        };
        let (b1, b2, c1, c2) = (F::of(b1), F::of(b2), F::of(c1), F::of(c2));
        let one = F::one();
        let mut i = 0;
        let v_all = &mut self.v;
        params.visit_zip_mut(grads, &mut |mut w, g| {
            let decay = decay_of(i);
            let m = check_slot(|i| tensor_name(grads, i), i, &w, &g, &mut self.m);
            let v = &mut v_all[i];
            Zip::from(&mut w).and(&g).and(m).and(v).for_each(|w, &g, m, v| {
                *m = b1 * *m + (one - b1) * g;
                *v = b2 * *v + (one - b2) * g * g;
                let (m_hat, v_hat) = (*m / c1, *v / c2);
                *w -= decay * *w + lr * m_hat / (v_hat.sqrt() + eps);
            });
            i += 1;
        });
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
}

/// The name of tensor `i` (visiting order) of a model.
fn tensor_name<P: Params>(model: &P, i: usize) -> String {
    let mut names = model.shapes().into_iter().map(|(name, _)| name);
    names.nth(i).unwrap_or_else(|| format!("tensor {i}"))
}

/// The state of tensor `i`, checked against the parameter's and the
/// gradient's shapes. Names are built only for the error message.
fn check_slot<'a, F: Float>(
    name: impl Fn(usize) -> String,
    i: usize,
    w: &ndarray::ArrayViewMutD<'_, F>,
    g: &ndarray::ArrayViewD<'_, F>,
    state: &'a mut [ArrayD<F>],
) -> &'a mut ArrayD<F> {
    let Some(s) = state.get_mut(i) else {
        panic!(
            "optimizer: the model has more tensors than when the optimizer first stepped (at `{}`)",
            name(i)
        );
    };
    if g.shape() != w.shape() || s.shape() != w.shape() {
        panic!(
            "optimizer: `{}` has shape {:?} but its gradient has shape {:?} and its state {:?}",
            name(i),
            w.shape(),
            g.shape(),
            s.shape()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, arr1};

    // A one-tensor model: the closed forms below are per element.
    fn w(values: &[f64]) -> Array1<f64> {
        arr1(values)
    }

    #[test]
    fn plain_sgd() {
        let mut p = w(&[1.0, -2.0]);
        let mut opt = Sgd::new(0.1);
        opt.step(&mut p, &w(&[0.5, -1.0]));
        assert_eq!(p, w(&[0.95, -1.9]));
    }

    #[test]
    fn momentum_first_steps() {
        // v₁ = g₁, w₁ = w₀ − lr·g₁; v₂ = μ·g₁ + g₂, w₂ = w₁ − lr·v₂.
        let mut p = w(&[1.0]);
        let mut opt = Sgd::momentum(0.1, 0.9);
        opt.step(&mut p, &w(&[1.0]));
        assert!((p[0] - 0.9).abs() < 1e-15);
        opt.step(&mut p, &w(&[1.0]));
        assert!((p[0] - (0.9 - 0.1 * 1.9)).abs() < 1e-15);
    }

    #[test]
    fn nesterov_first_steps() {
        // v₁ = g, w₁ = w₀ − lr·(g + μ·v₁) = 1 − 0.1·1.9.
        let mut p = w(&[1.0]);
        let mut opt = Sgd::nesterov(0.1, 0.9);
        opt.step(&mut p, &w(&[1.0]));
        assert!((p[0] - 0.81).abs() < 1e-15);
        // v₂ = 0.9·1 + 1 = 1.9, update = g + μ·v₂ = 1 + 1.71 = 2.71.
        opt.step(&mut p, &w(&[1.0]));
        assert!((p[0] - (0.81 - 0.271)).abs() < 1e-15);
    }

    #[test]
    fn adam_first_steps() {
        // Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε) ≈ lr·sign(g).
        let mut p = w(&[1.0, 1.0]);
        let mut opt = Adam::new(0.01);
        opt.step(&mut p, &w(&[0.5, -4.0]));
        let expected = |g: f64| 1.0 - 0.01 * g / (g.abs() + 1e-8);
        assert!((p[0] - expected(0.5)).abs() < 1e-15);
        assert!((p[1] - expected(-4.0)).abs() < 1e-15);
        // Step 2 with g₂: m = 0.9·0.1·g₁·… computed by hand.
        let (g1, g2) = (0.5, 1.5);
        let m = 0.9 * (0.1 * g1) + 0.1 * g2;
        let v = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2;
        let (m_hat, v_hat) = (m / (1.0 - 0.81), v / (1.0 - 0.999 * 0.999));
        let before = p[0];
        opt.step(&mut p, &w(&[g2, 0.0]));
        assert!((p[0] - (before - 0.01 * m_hat / (v_hat.sqrt() + 1e-8))).abs() < 1e-15);
    }

    #[test]
    fn adamw_decays_weights_directly() {
        // With a zero gradient Adam does nothing, AdamW still shrinks w by lr·λ·w.
        let mut p = w(&[2.0]);
        Adam::adamw(0.1, 0.5).step(&mut p, &w(&[0.0]));
        assert!((p[0] - (2.0 - 0.1 * 0.5 * 2.0)).abs() < 1e-15);
        let mut q = w(&[2.0]);
        Adam::new(0.1).step(&mut q, &w(&[0.0]));
        assert_eq!(q[0], 2.0);
    }

    #[test]
    fn decay_applies_only_where_asked() {
        // A matrix and a vector with zero gradients: only the matrix decays.
        let mut p = vec![
            ndarray::Array2::from_elem((2, 2), 2.0_f64).into_dyn(),
            ndarray::Array1::from_elem(2, 2.0).into_dyn(),
        ];
        let zero = vec![
            ndarray::ArrayD::zeros(p[0].raw_dim()),
            ndarray::ArrayD::zeros(p[1].raw_dim()),
        ];
        let mut opt = Adam::adamw(0.1, 0.5).decay_where(|_, shape| shape.len() >= 2);
        opt.step(&mut p, &zero);
        assert!(p[0].iter().all(|&v| (v - (2.0 - 0.1 * 0.5 * 2.0)).abs() < 1e-15));
        assert!(p[1].iter().all(|&v| v == 2.0));
    }

    #[test]
    #[should_panic(expected = "has shape [2] but its gradient has shape [3]")]
    fn mismatched_gradient_is_named() {
        Sgd::new(0.1).step(&mut w(&[1.0, 2.0]), &w(&[1.0, 2.0, 3.0]));
    }
}
