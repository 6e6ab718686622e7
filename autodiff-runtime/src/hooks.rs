//! Gradient hooks: code that runs inside a generated backward pass the moment
//! each parameter's gradient is final, as PyTorch's tensor hooks do, but at
//! points `#[differentiable]` chose at compile time.
//!
//! `NAME_grad` (and `NAME_grad_with`) tell the hook installed on the calling
//! thread by [`with_gradient_hook`] three things:
//!
//! * [`ready`](GradientHook::ready): a tensor of a differentiated model's
//!   field will not change again in this backward pass (the last step that
//!   adds to it has run), while the steps before it in the program are still
//!   to be differentiated. The calls come in a fixed order, the same on every
//!   call of the function, whatever its loops and branches did at run time,
//!   so that processes running the same program make the same calls.
//! * [`progress`](GradientHook::progress): after each statement of the
//!   backward pass, a chance to make progress on work started earlier.
//! * [`finish`](GradientHook::finish): each differentiated parameter's whole
//!   gradient, every tensor of it, mutably, just before `NAME_grad` returns
//!   it. Tensors that got no `ready` call (those of a parameter used whole,
//!   or in code that cannot tell earlier) are seen here first.
//!
//! Data-parallel training overlaps its all-reduce with the backward pass this
//! way (`distributed::Distributed::overlap`). Without a hook installed, each
//! call costs one thread-local read.
//!
//! ```
//! use autodiff_runtime::hooks::{Elements, ElementsMut, GradientHook, with_gradient_hook};
//!
//! /// Logs the order in which gradients become final.
//! #[derive(Default)]
//! struct Log(Vec<String>);
//!
//! impl GradientHook for Log {
//!     fn ready(&mut self, name: &str, gradient: Elements<'_>) {
//!         self.0.push(format!("{name} {:?} ready", gradient.shape()));
//!     }
//!     fn finish(&mut self, name: &str, gradient: ElementsMut<'_>) {
//!         self.0.push(format!("{name} finished, {} values", gradient.len()));
//!     }
//! }
//!
//! let mut log = Log::default();
//! let sum = with_gradient_hook(&mut log, || 1 + 1);
//! assert_eq!(sum, 2);
//! ```

use std::cell::Cell;
use std::ptr::NonNull;

pub use crate::elements::{Elements, ElementsMut};
use crate::gradient::Gradient;

/// What runs inside a generated backward pass; see the [module](self) docs.
pub trait GradientHook {
    /// The gradient of the tensor `name` (`"model.w1"`, `"model.layers.2.b"`)
    /// is final. When no step reached the tensor, its gradient is zero and
    /// `gradient` a view of one zero with all strides 0.
    fn ready(&mut self, name: &str, gradient: Elements<'_>);

    /// Called after each statement of the backward pass.
    fn progress(&mut self) {}

    /// Every tensor of a differentiated parameter's gradient (`name` as in
    /// [`ready`](GradientHook::ready)), just before the gradient is returned;
    /// the hook may change the values.
    fn finish(&mut self, name: &str, gradient: ElementsMut<'_>);
}

thread_local! {
    // The installed hook, with its lifetime erased: `with_gradient_hook`
    // removes it before the borrow it came from ends.
    static HOOK: Cell<Option<NonNull<dyn GradientHook>>> = const { Cell::new(None) };
}

/// Runs `f` with `hook` receiving the events of every `NAME_grad` that `f`
/// calls on this thread, and returns what `f` returns. Hooks nest: the
/// previous one is back when this returns, or unwinds.
pub fn with_gradient_hook<R>(hook: &mut dyn GradientHook, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<NonNull<dyn GradientHook>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            HOOK.with(|h| h.set(self.0));
        }
    }
    let pointer: NonNull<dyn GradientHook + '_> = NonNull::from(hook);
    // SAFETY: only the lifetime bound of the trait object changes (the
    // layout is the same). The pointer is removed from the thread-local by
    // `Restore` before `hook`'s borrow ends, on return and on unwinding, so
    // it is never used after the hook it points to.
    let erased: NonNull<dyn GradientHook + 'static> = unsafe { std::mem::transmute(pointer) };
    let _restore = Restore(HOOK.with(|h| h.replace(Some(erased))));
    f()
}

/// Calls `event` with the installed hook, if any. The hook is taken out of
/// the thread-local for the call, so a `NAME_grad` that the hook itself runs
/// does not reach it again.
#[inline]
fn with_hook(event: impl FnOnce(&mut dyn GradientHook)) {
    let Some(mut hook) = HOOK.with(|h| h.take()) else {
        return;
    };
    struct PutBack(NonNull<dyn GradientHook>);
    impl Drop for PutBack {
        fn drop(&mut self) {
            HOOK.with(|h| h.set(Some(self.0)));
        }
    }
    let _put_back = PutBack(hook);
    // SAFETY: the pointer came from a `&mut dyn GradientHook` that
    // `with_gradient_hook` holds for as long as it is installed (see there),
    // and while it is taken out here no other reference to it is made.
    event(unsafe { hook.as_mut() });
}

/// Whether a hook is installed (the generated code skips preparing an event
/// otherwise).
#[doc(hidden)]
#[inline]
pub fn hooked() -> bool {
    HOOK.with(|h| {
        let hook = h.get();
        hook.is_some()
    })
}

/// `ready` for each tensor of a field's gradient, or of zeros shaped like
/// the parameter `like` when the gradient is zero.
#[doc(hidden)]
#[inline]
pub fn ready<G: Gradient>(name: &str, gradient: &Option<G>, like: &G) {
    with_hook(|hook| match gradient {
        Some(g) => g.visit_elements(name, &mut |n, e| hook.ready(n, e)),
        None => like.visit_elements(name, &mut |n, e| e.zeros(|z| hook.ready(n, z))),
    });
}

/// `ready` for each tensor of a parameter's whole gradient, or of zeros of
/// the gradient type of `parameter` (a view's is an owned array).
#[doc(hidden)]
#[inline]
pub fn ready_whole<G: Gradient, P: crate::gradient::GradientOf<G> + ?Sized>(
    name: &str,
    gradient: &Option<G>,
    parameter: &P,
) {
    with_hook(|hook| match gradient {
        Some(g) => g.visit_elements(name, &mut |n, e| hook.ready(n, e)),
        None => parameter
            .zeros_for()
            .visit_elements(name, &mut |n, e| e.zeros(|z| hook.ready(n, z))),
    });
}

/// `ready` for a list's gradient accumulated in place (the layers a loop
/// visited), after zero-filling the layers the loop did not reach.
#[doc(hidden)]
#[inline]
pub fn ready_in_place<G: Gradient>(name: &str, gradient: &mut G, like: &G) {
    if !hooked() {
        return;
    }
    gradient.fill_like(like);
    with_hook(|hook| gradient.visit_elements(name, &mut |n, e| hook.ready(n, e)));
}

/// `ready` for layer `index` of a list's gradient accumulated in place, once
/// a loop's backward half has finished with it (zero-filled if the loop did
/// not reach it).
#[doc(hidden)]
#[inline]
pub fn ready_layer<G: Gradient>(name: &str, index: usize, gradient: &mut G, like: &G) {
    // The name is built only when a hook will read it.
    if hooked() {
        ready_in_place(&crate::params::join_name(name, &index.to_string()), gradient, like);
    }
}

/// `progress`, between statements of the backward pass.
#[doc(hidden)]
#[inline(never)]
pub fn progress() {
    with_hook(|hook| hook.progress());
}

/// `finish` for each tensor of a parameter's whole gradient.
#[inline(never)]
pub(crate) fn finish<G: Gradient>(name: &str, gradient: &mut G) {
    with_hook(|hook| gradient.visit_elements_mut(name, &mut |n, e| hook.finish(n, e)));
}
