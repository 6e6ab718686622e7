//! The checks of anomaly mode after each module call, and the report of
//! each finished gradient to the installed gradient hook.

use crate::gradient::Gradient;
use std::panic::Location;

/// A value for an anomaly check. When anomaly mode is on ([`anomaly_enabled`]),
/// generated code calls `(&Probe(&value)).check_forward("module")` after each
/// module call: values that implement [`Finite`](crate::anomaly::Finite) are
/// checked ([`AnomalyCheck`]); any other type, such as a
/// user's own gradient type, falls through to the no-op [`AnomalySkip`]
/// (method resolution tries `Probe` before `&Probe`). The location in the
/// message is the call's, through `#[track_caller]`.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

fn here(location: &Location<'_>) -> String {
    format!("{}:{}:{}", location.file(), location.line(), location.column())
}

/// The checks of anomaly mode, for values that can be checked.
pub trait AnomalyCheck {
    /// See [`crate::anomaly::check_forward`].
    #[track_caller]
    fn check_forward(&self, module: &str);
    /// See [`crate::anomaly::check_gradient`].
    #[track_caller]
    fn check_gradient(&self, module: &str, argument: usize);
}

impl<T: crate::anomaly::Finite + ?Sized> AnomalyCheck for Probe<'_, T> {
    #[inline]
    #[track_caller]
    fn check_forward(&self, module: &str) {
        forward_checked(self.0, module, Location::caller());
    }
    #[inline]
    #[track_caller]
    fn check_gradient(&self, module: &str, argument: usize) {
        gradient_checked(self.0, module, argument, Location::caller());
    }
}

/// Whether anomaly mode is on: generated code reads it once per call and
/// runs its checks only then.
#[inline]
pub fn anomaly_enabled() -> bool {
    crate::anomaly::enabled()
}

// Out of line: at a module call, only the test of the generated code's flag;
// and only the scan is generic.
#[inline(never)]
#[track_caller]
fn forward_checked<T: crate::anomaly::Finite + ?Sized>(value: &T, module: &str, location: &Location<'_>) {
    if let Some(found) = value.non_finite() {
        forward_report(module, location, &found);
    }
}

#[inline(never)]
#[track_caller]
fn gradient_checked<T: crate::anomaly::Finite + ?Sized>(
    value: &T,
    module: &str,
    argument: usize,
    location: &Location<'_>,
) {
    if let Some(found) = value.non_finite() {
        gradient_report(module, argument, location, &found);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn forward_report(module: &str, location: &Location<'_>, found: &crate::anomaly::NonFinite) -> ! {
    crate::anomaly::forward_failed(module, &here(location), found)
}

#[cold]
#[inline(never)]
#[track_caller]
fn gradient_report(module: &str, argument: usize, location: &Location<'_>, found: &crate::anomaly::NonFinite) -> ! {
    crate::anomaly::gradient_failed(module, argument, &here(location), found)
}

/// The fallback of [`AnomalyCheck`]: nothing to check.
pub trait AnomalySkip {
    /// Does nothing.
    fn check_forward(&self, module: &str);
    /// Does nothing.
    fn check_gradient(&self, module: &str, argument: usize);
}

impl<T: ?Sized> AnomalySkip for &Probe<'_, T> {
    #[inline]
    fn check_forward(&self, _: &str) {}
    #[inline]
    fn check_gradient(&self, _: &str, _: usize) {}
}

/// A parameter's whole gradient, after the installed [hook](crate::hooks)
/// has seen each of its tensors (`finish`), with its name.
#[doc(hidden)]
#[macro_export]
macro_rules! __autodiff_finished {
    ($name:expr, $value:expr) => {{
        #[allow(unused_imports)]
        use $crate::private::{HookFinish as _, HookSkip as _};
        let mut gradient = $value;
        (&mut $crate::private::HookProbe(&mut gradient)).finish($name);
        gradient
    }};
}
pub use crate::__autodiff_finished as finished;

/// Wraps a parameter's whole gradient for [`HookFinish`]: gradient types
/// report each tensor to the installed [hook](crate::hooks); any other type
/// falls through to the no-op [`HookSkip`] (its error is the assembly's).
pub struct HookProbe<'a, G>(pub &'a mut G);

/// `finish` of the installed hook, for gradient types.
pub trait HookFinish {
    /// See [`crate::hooks::GradientHook::finish`].
    fn finish(&mut self, name: &str);
}

impl<G: Gradient> HookFinish for HookProbe<'_, G> {
    #[inline]
    fn finish(&mut self, name: &str) {
        crate::hooks::finish(name, self.0);
    }
}

/// The fallback of [`HookFinish`]: nothing to report.
pub trait HookSkip {
    /// Does nothing.
    fn finish(&mut self, name: &str);
}

impl<G> HookSkip for &mut HookProbe<'_, G> {
    #[inline]
    fn finish(&mut self, _: &str) {}
}
