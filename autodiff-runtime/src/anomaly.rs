//! Anomaly mode, like `torch.autograd.detect_anomaly`: the first module call
//! whose forward output, or whose VJP's gradient for one of its arguments,
//! contains NaN or infinity stops the step with a panic that names the
//! module and the source line of the call in the user's function.
//!
//! Off by default. Switch it on for the process with the environment
//! variable `AUTODIFF_DETECT_ANOMALY=1`, or from code with [`set_enabled`].
//! A generated function reads the switch once, when it is called; off, each
//! of its module calls pays a branch on that local.
//!
//! The checks the generated code calls, by hand (`tests/anomaly.rs` and
//! tutorial 12 show them through `#[differentiable]`):
//!
//! ```
//! use autodiff_runtime::anomaly::{Finite, check_forward};
//! use ndarray::array;
//!
//! let p = array![[1.0f32, 0.0]];          // softmax of logits 800 apart
//! let log_p = p.mapv(f32::ln);            // [[0, -inf]]
//! assert!(p.non_finite().is_none());
//! assert_eq!(log_p.non_finite().map(|found| found.at), Some("[0, 1]".to_string()));
//! let caught = std::panic::catch_unwind(|| check_forward(&log_p, "log", "src/main.rs:7:5"));
//! assert!(caught.is_err());
//! ```

use std::fmt::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use ndarray::{ArrayViewD, Dimension};

use crate::float::Float;
use crate::gradient::NoGrad;
use crate::params::Params;

/// The environment variable that switches anomaly mode on (`1`, `true` or `on`).
pub const ENV: &str = "AUTODIFF_DETECT_ANOMALY";

const UNREAD: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNREAD);

/// Whether anomaly mode is on: [`set_enabled`]'s last value, else the
/// environment variable [`ENV`].
#[inline]
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        OFF => false,
        ON => true,
        _ => read_env(),
    }
}

#[cold]
fn read_env() -> bool {
    let on = std::env::var(ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "on"));
    // A concurrent `set_enabled` wins over the environment.
    let _ = STATE.compare_exchange(UNREAD, if on { ON } else { OFF }, Ordering::Relaxed, Ordering::Relaxed);
    STATE.load(Ordering::Relaxed) == ON
}

/// Switches anomaly mode on or off for the whole process.
pub fn set_enabled(on: bool) {
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// The first value that is NaN or infinite, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFinite {
    /// Where: the tensor's name within a model (empty for a plain array)
    /// and the element's index.
    pub at: String,
    /// The value: NaN, +inf or −inf.
    pub value: f64,
    /// How many values are not finite in all.
    pub count: usize,
    /// How many values were checked.
    pub of: usize,
}

/// Values that can be checked for NaN and infinity: floats, arrays, models
/// (any [`Params`]), tuples of them, and the `Option`s of VJP results.
pub trait Finite {
    /// The first NaN or infinity, with the count of them.
    fn non_finite(&self) -> Option<NonFinite>;
}

/// Any model, array or list of them: every tensor, named as `Params` names them.
impl<P: Params> Finite for P {
    fn non_finite(&self) -> Option<NonFinite> {
        let mut tally = Tally::default();
        self.visit(&mut |name, view| tally.note(name, view));
        tally.found.map(|found| NonFinite {
            of: tally.total,
            ..found
        })
    }
}

/// What [`Finite::non_finite`] has found in the tensors seen so far.
#[derive(Default)]
struct Tally {
    found: Option<NonFinite>,
    total: usize,
}

impl Tally {
    fn note<F: Float>(&mut self, name: &str, view: ArrayViewD<'_, F>) {
        self.total += view.len();
        let (bad, first) = scan(name, view);
        self.add(bad, first);
    }

    // Not generic: the visiting closure of each model type stays small.
    #[inline(never)]
    fn add(&mut self, bad: usize, first: Option<(String, f64)>) {
        match &mut self.found {
            Some(f) => f.count += bad,
            None => {
                self.found = first.map(|(at, value)| NonFinite {
                    at,
                    value,
                    count: bad,
                    of: 0,
                });
            }
        }
    }
}

/// How many values of `view` are not finite and, if any, where the first
/// is and its value: by the f32 or f64 instance compiled in this crate (a
/// check follows every module call in generated code, and a generic body
/// would be compiled again in every user's crate).
fn scan<F: Float>(name: &str, view: ArrayViewD<'_, F>) -> (usize, Option<(String, f64)>) {
    match crate::float::view_as::<F, f32, _>(view.view()) {
        Some(view) => scan_f32(name, view),
        None => scan_f64(name, crate::float::view_as(view).expect("`Float` is f32 or f64")),
    }
}

#[inline(never)]
fn scan_f32(name: &str, view: ArrayViewD<'_, f32>) -> (usize, Option<(String, f64)>) {
    scan_typed(name, view)
}

#[inline(never)]
fn scan_f64(name: &str, view: ArrayViewD<'_, f64>) -> (usize, Option<(String, f64)>) {
    scan_typed(name, view)
}

fn scan_typed<F: Float>(name: &str, view: ArrayViewD<'_, F>) -> (usize, Option<(String, f64)>) {
    // The common case, all finite, in one pass without formatting.
    let bad = view.iter().filter(|v| !v.is_finite()).count();
    if bad == 0 {
        return (0, None);
    }
    let (index, value) = view
        .indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map(|(i, v)| (format!("{:?}", i.slice()), v.to_f64_lossless()))
        .unwrap_or_default();
    let at = if name.is_empty() {
        index
    } else {
        format!("{name} at {index}")
    };
    (bad, Some((at, value)))
}

impl Finite for f32 {
    fn non_finite(&self) -> Option<NonFinite> {
        (!self.is_finite()).then(|| one(f64::from(*self)))
    }
}

impl Finite for f64 {
    fn non_finite(&self) -> Option<NonFinite> {
        (!self.is_finite()).then(|| one(*self))
    }
}

fn one(value: f64) -> NonFinite {
    NonFinite {
        at: String::new(),
        value,
        count: 1,
        of: 1,
    }
}

impl Finite for NoGrad {
    fn non_finite(&self) -> Option<NonFinite> {
        None
    }
}

impl<T: Finite> Finite for Option<T> {
    fn non_finite(&self) -> Option<NonFinite> {
        self.as_ref().and_then(Finite::non_finite)
    }
}

impl<A: Finite, B: Finite> Finite for (A, B) {
    fn non_finite(&self) -> Option<NonFinite> {
        self.0.non_finite().or_else(|| self.1.non_finite())
    }
}

impl<A: Finite, B: Finite, C: Finite> Finite for (A, B, C) {
    fn non_finite(&self) -> Option<NonFinite> {
        self.0
            .non_finite()
            .or_else(|| self.1.non_finite())
            .or_else(|| self.2.non_finite())
    }
}

/// The message of an anomaly: `what` (the forward output of `relu`, ...),
/// `location` (`src/main.rs:12:13`).
fn message(what: &str, location: &str, found: &NonFinite) -> String {
    let mut m = format!("autodiff anomaly: {what} at {location} contains {}", found.value);
    if !found.at.is_empty() {
        let _ = write!(m, " at {}", found.at);
    }
    if found.of > 1 {
        let _ = write!(m, " ({} of {} values are not finite)", found.count, found.of);
    }
    m.push_str(": the first module call of this step to produce one.");
    m
}

/// Checks a module's forward output; panics naming the module and the call's
/// location if it holds NaN or infinity. Called by generated code when
/// anomaly mode is on.
#[track_caller]
pub fn check_forward<T: Finite + ?Sized>(value: &T, module: &str, location: &str) {
    if let Some(found) = value.non_finite() {
        forward_failed(module, location, &found);
    }
}

#[track_caller]
pub(crate) fn forward_failed(module: &str, location: &str, found: &NonFinite) -> ! {
    panic!(
        "{}",
        message(&format!("the forward output of `{module}`"), location, found)
    );
}

#[track_caller]
pub(crate) fn gradient_failed(module: &str, argument: usize, location: &str, found: &NonFinite) -> ! {
    let what = format!("the gradient that `{module}_vjp` sends to argument {argument}");
    panic!("{}", message(&what, location, found));
}

/// Checks the gradient that a module's VJP sends to its argument `argument`
/// (counted from 0); panics naming the module, the argument and the call's
/// location if it holds NaN or infinity.
#[track_caller]
pub fn check_gradient<T: Finite + ?Sized>(gradient: &T, module: &str, argument: usize, location: &str) {
    if let Some(found) = gradient.non_finite() {
        gradient_failed(module, argument, location, &found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn finds_the_first_non_finite_value_and_counts_them() {
        let a = array![[1.0, f64::NAN], [f64::INFINITY, 2.0]];
        let found = a.non_finite().expect("not finite");
        assert_eq!((found.at.as_str(), found.count, found.of), ("[0, 1]", 2, 4));
        assert!(found.value.is_nan());
        assert_eq!(array![1.0f32, 2.0].non_finite(), None);
        assert_eq!(None::<NoGrad>.non_finite(), None);
        assert_eq!(
            (1.0f64, Some(array![f32::NEG_INFINITY])).non_finite().map(|f| f.value),
            Some(f64::NEG_INFINITY)
        );
    }

    #[test]
    fn the_message_names_module_location_and_value() {
        let a = array![0.0, f64::NEG_INFINITY];
        let caught = std::panic::catch_unwind(|| check_forward(&a, "log", "src/main.rs:7:5")).expect_err("panics");
        let text = caught.downcast_ref::<String>().expect("a message");
        assert!(
            text.contains("the forward output of `log` at src/main.rs:7:5 contains -inf at [1]"),
            "{text}"
        );
        let caught =
            std::panic::catch_unwind(|| check_gradient(&Some(f32::NAN), "div", 1, "lib.rs:3:9")).expect_err("panics");
        let text = caught.downcast_ref::<String>().expect("a message");
        assert!(
            text.contains("`div_vjp` sends to argument 1 at lib.rs:3:9 contains NaN"),
            "{text}"
        );
    }
}
