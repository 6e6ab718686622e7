//! Learning-rate schedules: the rate should fall as training goes on. A
//! schedule maps the step (or epoch) number to a learning rate: an optional
//! linear warm-up, then a decay.

use std::f64::consts::PI;

/// How the rate decays after warm-up, as a function of t (steps since warm-up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    /// base.
    Constant,
    /// base·γ^⌊t / every⌋.
    Step {
        /// Steps between drops.
        every: usize,
        /// Factor at each drop.
        gamma: f64,
    },
    /// base·γ^t.
    Exponential {
        /// Factor per step.
        gamma: f64,
    },
    /// min + (base − min)·(1 + cos(π·t/total))/2, then min after `total` steps.
    Cosine {
        /// Steps from base to min.
        total: usize,
        /// The final rate.
        min: f64,
    },
}

/// A learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// The peak rate.
    pub base: f64,
    /// Steps of linear warm-up from base/warmup to base (0 for none).
    pub warmup: usize,
    /// The decay after warm-up.
    pub decay: Decay,
}

impl Schedule {
    /// A schedule with no warm-up.
    pub fn new(base: f64, decay: Decay) -> Self {
        Schedule { base, warmup: 0, decay }
    }

    /// Adds a linear warm-up of `steps` steps.
    pub fn with_warmup(self, steps: usize) -> Self {
        Schedule { warmup: steps, ..self }
    }

    /// The learning rate at `step` (counted from 0).
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.base * (step + 1) as f64 / self.warmup as f64;
        }
        let t = step - self.warmup;
        match self.decay {
            Decay::Constant => self.base,
            Decay::Step { every, gamma } => self.base * gamma.powi((t / every.max(1)) as i32),
            Decay::Exponential { gamma } => self.base * gamma.powi(t as i32),
            Decay::Cosine { total, min } => {
                let progress = (t as f64 / total.max(1) as f64).min(1.0);
                min + (self.base - min) * 0.5 * (1.0 + (PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn values() {
        let step = Schedule::new(0.1, Decay::Step { every: 10, gamma: 0.5 });
        assert!(
            close(step.at(0), 0.1) && close(step.at(9), 0.1) && close(step.at(10), 0.05) && close(step.at(25), 0.025)
        );
        let exp = Schedule::new(1.0, Decay::Exponential { gamma: 0.9 });
        assert!(close(exp.at(0), 1.0) && close(exp.at(2), 0.81));
        let cos = Schedule::new(1.0, Decay::Cosine { total: 100, min: 0.1 });
        assert!(close(cos.at(0), 1.0) && close(cos.at(50), 0.55) && close(cos.at(100), 0.1) && close(cos.at(500), 0.1));
        let warm = Schedule::new(0.4, Decay::Cosine { total: 10, min: 0.0 }).with_warmup(4);
        let rates: Vec<f64> = (0..5).map(|s| warm.at(s)).collect();
        assert!(close(rates[0], 0.1) && close(rates[1], 0.2) && close(rates[3], 0.4) && close(rates[4], 0.4));
        assert!(close(warm.at(9), 0.2));
        assert!(close(Schedule::new(0.3, Decay::Constant).at(1000), 0.3));
    }
}
