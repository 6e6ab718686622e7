//! Buffer reuse between training steps. A [`Workspace`] keeps freed array
//! buffers; inside [`Workspace::run`], every kernel of the runtime takes its
//! outputs from them, VJPs return the gradients they consume, and the code
//! `#[differentiable]` generates returns each intermediate after its last use
//! (`recycle!`). From the second step on, the step's own arrays come from the
//! workspace instead of the heap. The per-iteration stores of a function with
//! loops (the generated code's stacks) keep their buffers here too.
//!
//! Outside `run`, the same code allocates and frees as usual.
//!
//! Words used here and by the code that calls it:
//! - *take*: get a buffer for a new array from the active workspace
//!   (`take`, `take_vec`, `take_stale` keeping old values, `take_scratch` for
//!   an output about to be overwritten), or from the heap when none fits;
//! - *recycle*: give a buffer back to the workspace (`Workspace::recycle`,
//!   the [`Recycle`] trait, `recycle_array`, `recycle_vec`, and the generated
//!   code's `recycle!`), or free it outside `run`;
//! - *active workspace*: the one whose `run` is on this thread's stack.

use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use ndarray::{Array, Dimension, IntoDimension};

use crate::float::{Float, same_as};

/// At most this many free buffers per element type are kept: more than any
/// step holds (a loop keeps a few arrays per iteration), fewer than would let
/// a misuse grow without bound.
const MAX_FREE: usize = 1 << 16;

/// Free buffers of one element type, by capacity, so that the smallest one
/// that fits is found in logarithmic time however many a loop keeps. Emptied
/// capacity classes stay in the map: refilling them allocates nothing.
#[derive(Debug)]
struct FreeList<F> {
    by_capacity: BTreeMap<usize, Vec<Vec<F>>>,
    len: usize,
}

impl<F> Default for FreeList<F> {
    fn default() -> Self {
        FreeList {
            by_capacity: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<F> FreeList<F> {
    fn push(&mut self, buffer: Vec<F>) {
        if self.len < MAX_FREE && buffer.capacity() > 0 {
            self.by_capacity.entry(buffer.capacity()).or_default().push(buffer);
            self.len += 1;
        }
    }

    /// Drops buffers, the largest first, until at most `keep` are left.
    fn trim(&mut self, keep: usize) {
        while self.len > keep {
            let Some(mut entry) = self.by_capacity.last_entry() else {
                break;
            };
            if entry.get_mut().pop().is_some() {
                self.len -= 1;
            }
            if entry.get().is_empty() {
                entry.remove();
            }
        }
    }

    /// The smallest kept buffer with room for `len` elements.
    fn take(&mut self, len: usize) -> Option<Vec<F>> {
        let buffer = self.by_capacity.range_mut(len..).find_map(|(_, list)| list.pop())?;
        self.len -= 1;
        Some(buffer)
    }
}

/// Why a `Float` buffer is one of f32 or f64.
const FLOATS: &str = "`Float` is implemented for f32 and f64 only";

/// [`FreeList::push`] for f32, compiled in this crate only (see [`Workspace::keep`]).
#[inline(never)]
fn keep_f32(list: &mut FreeList<f32>, buffer: Vec<f32>) {
    list.push(buffer);
}

/// [`FreeList::push`] for f64.
#[inline(never)]
fn keep_f64(list: &mut FreeList<f64>, buffer: Vec<f64>) {
    list.push(buffer);
}

/// [`FreeList::take`] for f32, compiled in this crate only.
#[inline(never)]
fn reuse_f32(list: &mut FreeList<f32>, len: usize) -> Option<Vec<f32>> {
    list.take(len)
}

/// [`FreeList::take`] for f64.
#[inline(never)]
fn reuse_f64(list: &mut FreeList<f64>, len: usize) -> Option<Vec<f64>> {
    list.take(len)
}

/// Free buffers, by element type.
#[derive(Debug, Default)]
pub struct Workspace {
    f32: FreeList<f32>,
    f64: FreeList<f64>,
    /// Array buffers taken during the current run, and the most any run
    /// took: after a run, no more free ones are kept than that (see
    /// [`Workspace::run`]).
    takes: usize,
    most_takes: usize,
    /// Emptied `Vec` buffers of any element type (the stores of loops), by layout.
    raw: Vec<RawBuffer>,
}

/// The allocation of an emptied `Vec<T>`, kept without its type so that any
/// `Vec` of an element with the same size and alignment can reuse it (only
/// the same element size: a list of layers never takes a loop's store).
#[derive(Debug)]
struct RawBuffer {
    ptr: NonNull<u8>,
    layout: Layout,
    element: usize,
}

// SAFETY: a `RawBuffer` owns an allocation that holds no values; moving it to
// another thread moves nothing but the ownership of that memory.
unsafe impl Send for RawBuffer {}
// SAFETY: as above; a shared `RawBuffer` gives no access to its memory.
unsafe impl Sync for RawBuffer {}

impl Drop for RawBuffer {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated by the global allocator with `layout`
        // (it came from a `Vec` with that capacity) and is owned by `self`.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

impl RawBuffer {
    /// The buffer of `vec`, emptied, or `None` when it holds no allocation.
    fn from_vec<T>(mut vec: Vec<T>) -> Option<RawBuffer> {
        vec.clear();
        if std::mem::size_of::<T>() == 0 || vec.capacity() == 0 {
            return None;
        }
        let layout = Layout::array::<T>(vec.capacity()).ok()?;
        let mut vec = ManuallyDrop::new(vec);
        let ptr = NonNull::new(vec.as_mut_ptr().cast::<u8>())?;
        Some(RawBuffer {
            ptr,
            layout,
            element: std::mem::size_of::<T>(),
        })
    }

    /// Whether the buffer can serve as a `Vec` of values of `size` bytes
    /// aligned to `align`.
    fn fits(&self, size: usize, align: usize) -> bool {
        size > 0 && self.element == size && self.layout.align() == align && self.layout.size().is_multiple_of(size)
    }

    /// An empty `Vec<T>` in this buffer. The caller has checked [`fits`](Self::fits).
    fn into_vec<T>(self) -> Vec<T> {
        debug_assert!(self.fits(std::mem::size_of::<T>(), std::mem::align_of::<T>()));
        let capacity = self.layout.size() / std::mem::size_of::<T>();
        let this = ManuallyDrop::new(self);
        // SAFETY: the memory was allocated by the global allocator with
        // `this.layout`, which is `Layout::array::<T>(capacity)`: the alignment
        // is `T`'s and the size is `capacity * size_of::<T>()` (`fits`). The
        // length 0 asserts no initialised values. Ownership passes to the `Vec`
        // (`this` is not dropped).
        unsafe { Vec::from_raw_parts(this.ptr.as_ptr().cast::<T>(), 0, capacity) }
    }
}

thread_local! {
    static ACTIVE: RefCell<Option<Workspace>> = const { RefCell::new(None) };
    /// The workspace of `NAME_grad` calls made outside any [`Workspace::run`].
    static THREAD: RefCell<Workspace> = RefCell::new(Workspace::new());
}

/// Runs `f` in this thread's own workspace, unless a workspace is active
/// already (`NAME_grad_with`, or a `_grad` inside another): the plain
/// `NAME_grad` reuses its intermediates' buffers from one call to the next
/// like `_grad_with` does, and returns owned gradients. The thread keeps the
/// freed buffers of its largest step, as a caching allocator would.
pub fn with_thread_workspace<R>(f: impl FnOnce() -> R) -> R {
    if ACTIVE.with(|active| active.borrow().is_some()) {
        return f();
    }
    static MALLOC: std::sync::Once = std::sync::Once::new();
    MALLOC.call_once(keep_freed_memory);
    // Taken out for the call, so that nothing stays borrowed while `f` runs;
    // a panic in `f` loses the buffers, nothing else.
    let mut workspace = THREAD.with(|thread| std::mem::take(&mut *thread.borrow_mut()));
    let result = workspace.run(f);
    THREAD.with(|thread| *thread.borrow_mut() = workspace);
    result
}

/// Set to `0` to leave glibc's malloc settings as they are.
pub const MALLOPT_ENV: &str = "AUTODIFF_MALLOPT";

/// The plain `NAME_grad` returns new gradient arrays on every call, which a
/// training loop frees after the optimizer step. With glibc's defaults that
/// memory goes back to the kernel (blocks above the mmap threshold are
/// unmapped; the top of the heap is trimmed once more than twice the largest
/// freed block is free), and every step faults the gradients' pages in again:
/// 2.3 µs per 4 KiB page on a 2-core Zen 1 under KVM, a fifth to a third of a
/// deep MLP's step. Raising the two thresholds keeps freed memory in the
/// process for the next step, as a caching allocator would. Left alone when
/// glibc's malloc is configured already (`GLIBC_TUNABLES`, `MALLOC_*_`), or
/// when [`MALLOPT_ENV`] is `0`; without glibc, or under another global
/// allocator, this changes nothing that is used.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::c_int;
        unsafe extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        const M_TRIM_THRESHOLD: c_int = -1;
        const M_MMAP_THRESHOLD: c_int = -3;
        let configured = std::env::var(MALLOPT_ENV).is_ok_and(|v| v == "0")
            || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."))
            || [
                "MALLOC_TRIM_THRESHOLD_",
                "MALLOC_MMAP_THRESHOLD_",
                "MALLOC_TOP_PAD_",
                "MALLOC_MMAP_MAX_",
            ]
            .iter()
            .any(|name| std::env::var_os(name).is_some());
        if !configured {
            // SAFETY: mallopt only changes glibc's allocation policy; the
            // parameters are glibc's (malloc.h), the values within its limits
            // (the mmap threshold at most 32 MiB on 64-bit targets).
            unsafe {
                mallopt(M_MMAP_THRESHOLD, 32 << 20);
                mallopt(M_TRIM_THRESHOLD, 256 << 20);
            }
        }
    }
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Workspace::default()
    }

    /// Runs `f` with this workspace's buffers available to the runtime's kernels
    /// on this thread; buffers freed during `f` are kept for the next run.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a> {
            workspace: &'a mut Workspace,
            previous: Option<Workspace>,
        }
        impl Drop for Restore<'_> {
            // Also on panic: the buffers go back to their workspace.
            fn drop(&mut self) {
                let mine = ACTIVE.with(|active| active.replace(self.previous.take()));
                let mut mine = mine.unwrap_or_default();
                // Arrays that the runtime did not take (made by ndarray, or
                // by a user's module) and that come back recycled would make
                // the workspace grow by as many every step: after a run that
                // took buffers, it keeps no more free ones than the largest
                // run took, enough for the next one of any kind (a training
                // step's buffers outlive the evaluations between steps). (A
                // run that took none, say one that only recycles, is not a
                // step and keeps everything.)
                let takes = std::mem::take(&mut mine.takes);
                if takes > 0 {
                    mine.most_takes = mine.most_takes.max(takes);
                    mine.f32.trim(mine.most_takes);
                    mine.f64.trim(mine.most_takes);
                }
                *self.workspace = mine;
            }
        }
        let buffers = std::mem::take(self);
        let previous = ACTIVE.with(|active| active.replace(Some(buffers)));
        let _restore = Restore {
            workspace: self,
            previous,
        };
        f()
    }

    /// The number of free buffers kept.
    pub fn free_buffers(&self) -> usize {
        self.f32.len + self.f64.len + self.raw.len()
    }

    /// Keeps a free buffer of `F` (f32 or f64). The list's work runs in its
    /// f32 or f64 instance, compiled once in this crate: generic, it was
    /// compiled again (a thousand lines of LLVM IR) in every crate whose
    /// generated code recycles an array.
    fn keep<F: Float>(&mut self, buffer: Vec<F>) {
        match same_as::<_, Vec<f32>>(buffer) {
            Ok(buffer) => keep_f32(&mut self.f32, buffer),
            Err(buffer) => keep_f64(&mut self.f64, same_as(buffer).expect(FLOATS)),
        }
    }

    /// The smallest kept buffer of `F` with room for `len` values, as
    /// [`Workspace::keep`] through the f32 or f64 instance.
    fn reuse<F: Float>(&mut self, len: usize) -> Option<Vec<F>> {
        if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>() {
            same_as(reuse_f32(&mut self.f32, len)).expect(FLOATS)
        } else {
            same_as(reuse_f64(&mut self.f64, len)).expect(FLOATS)
        }
    }

    /// Keeps the buffers of gradients (an array, a `Params` model, a tuple of
    /// them) once the optimizer has used them, for the next step.
    pub fn recycle<G: Recycle>(&mut self, gradients: G) {
        gradients.recycle(self);
    }
}

/// Values whose buffers a [`Workspace`] can keep: arrays, floats (nothing to
/// keep), tuples of them, and `#[derive(Params)]` models.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tensor or a model",
    label = "a `Params` struct holds arrays, or other `#[derive(Params)]` structs",
    note = "keep other data (names, sizes) outside the model struct"
)]
pub trait Recycle {
    /// Gives every buffer to `workspace`.
    fn recycle(self, workspace: &mut Workspace);
}

impl<F: Float, D: Dimension> Recycle for Array<F, D> {
    fn recycle(self, workspace: &mut Workspace) {
        workspace.keep(self.into_raw_vec_and_offset().0);
    }
}

impl<T: Recycle> Recycle for Vec<T> {
    fn recycle(mut self, workspace: &mut Workspace) {
        for item in self.drain(..) {
            item.recycle(workspace);
        }
        if workspace.raw.len() < MAX_FREE
            && let Some(buffer) = RawBuffer::from_vec(self)
        {
            workspace.raw.push(buffer);
        }
    }
}

impl<F: Float> Recycle for F {
    fn recycle(self, _: &mut Workspace) {}
}

macro_rules! recycle_tuples {
    ($(($($t:ident),+)),+) => {$(
        impl<$($t: Recycle),+> Recycle for ($($t,)+) {
            #[allow(non_snake_case)]
            fn recycle(self, workspace: &mut Workspace) {
                let ($($t,)+) = self;
                $($t.recycle(workspace);)+
            }
        }
    )+};
}
recycle_tuples!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, G),
    (A, B, C, D, E, G, H),
    (A, B, C, D, E, G, H, I)
);

/// An empty vector with room for `len` elements: a kept buffer (the smallest
/// that fits) inside [`Workspace::run`], a new one otherwise.
pub(crate) fn take<F: Float>(len: usize) -> Vec<F> {
    let mut buffer = take_stale(len);
    buffer.clear();
    buffer
}

/// Like [`take`], but a kept buffer keeps its old (initialised) contents.
fn take_stale<F: Float>(len: usize) -> Vec<F> {
    let reused = ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let workspace = active.as_mut()?;
        workspace.takes += 1;
        workspace.reuse(len)
    });
    reused.unwrap_or_else(|| Vec::with_capacity(len))
}

/// An empty `Vec<T>`: the largest kept buffer that fits inside
/// [`Workspace::run`], a new (unallocated) one otherwise.
#[inline]
pub(crate) fn take_vec<T>() -> Vec<T> {
    take_raw(std::mem::size_of::<T>(), std::mem::align_of::<T>()).map_or_else(Vec::new, RawBuffer::into_vec)
}

// The search is not generic: one copy in this crate, a call in generated code.
#[inline(never)]
fn take_raw(element: usize, align: usize) -> Option<RawBuffer> {
    ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let raw = &mut active.as_mut()?.raw;
        let best = raw
            .iter()
            .enumerate()
            .filter(|(_, b)| b.fits(element, align))
            .max_by_key(|(_, b)| b.layout.size())
            .map(|(i, _)| i)?;
        Some(raw.swap_remove(best))
    })
}

/// Returns a `Vec`'s buffer (its values dropped) to the active workspace, or frees it.
#[inline]
pub(crate) fn recycle_vec<T>(vec: Vec<T>) {
    if let Some(buffer) = RawBuffer::from_vec(vec) {
        recycle_raw(buffer);
    }
}

#[inline(never)]
fn recycle_raw(buffer: RawBuffer) {
    ACTIVE.with(|active| {
        if let Some(workspace) = active.borrow_mut().as_mut()
            && workspace.raw.len() < MAX_FREE
        {
            workspace.raw.push(buffer);
        }
    });
}

/// Returns an array's buffer to the active workspace, or frees it.
#[inline(never)]
pub fn recycle_array<F: Float, D: Dimension>(array: Array<F, D>) {
    let buffer = array.into_raw_vec_and_offset().0;
    match same_as::<_, Vec<f32>>(buffer) {
        Ok(buffer) => recycle_f32(buffer),
        Err(buffer) => recycle_f64(same_as(buffer).expect(FLOATS)),
    }
}

// Not generic: generated code recycles after many module calls, and each
// call site would otherwise have its own copy of the thread-local access.
#[inline(never)]
fn recycle_f32(buffer: Vec<f32>) {
    ACTIVE.with(|active| {
        if let Some(workspace) = active.borrow_mut().as_mut() {
            keep_f32(&mut workspace.f32, buffer);
        }
    });
}

#[inline(never)]
fn recycle_f64(buffer: Vec<f64>) {
    ACTIVE.with(|active| {
        if let Some(workspace) = active.borrow_mut().as_mut() {
            keep_f64(&mut workspace.f64, buffer);
        }
    });
}

/// Returns the buffers of a value (an array, a tuple of outputs) to the
/// active workspace, or frees them.
#[inline(never)]
pub(crate) fn recycle_value<T: Recycle>(value: T) {
    ACTIVE.with(|active| {
        if let Some(workspace) = active.borrow_mut().as_mut() {
            value.recycle(workspace);
        }
    });
}

/// A new array for an output that will be overwritten completely (the
/// product of a GEMM with β = 0): a kept buffer's old values are left in place
/// rather than zeroed first; new memory is zeroed.
pub(crate) fn take_scratch<F: Float, Sh: IntoDimension>(shape: Sh) -> Array<F, Sh::Dim> {
    let dim = shape.into_dimension();
    let len = dim.size();
    let mut buffer = take_stale(len);
    if buffer.len() >= len {
        buffer.truncate(len);
    } else {
        buffer.resize(len, F::zero());
    }
    Array::from_shape_vec(dim, buffer).expect("sized")
}

/// A new array of zeros.
pub(crate) fn zeros<F: Float, Sh: IntoDimension>(shape: Sh) -> Array<F, Sh::Dim> {
    let dim = shape.into_dimension();
    let mut buffer = take(dim.size());
    buffer.resize(dim.size(), F::zero());
    Array::from_shape_vec(dim, buffer).expect("sized")
}

/// Refills `array` with a new shape and `fill`'s values (which must push
/// exactly the shape's number of elements, in standard order), keeping its
/// buffer: nothing is allocated unless the array has never been this large.
pub(crate) fn refill<F: Float, D: Dimension, Sh: IntoDimension<Dim = D>>(
    array: &mut Array<F, D>,
    shape: Sh,
    fill: impl FnOnce(&mut Vec<F>),
) {
    let dim = shape.into_dimension();
    // A placeholder with no elements (one, for rank 0) while the buffer is out.
    let placeholder = Array::zeros(D::zeros(dim.ndim()));
    let (mut buffer, _) = std::mem::replace(array, placeholder).into_raw_vec_and_offset();
    buffer.clear();
    fill(&mut buffer);
    *array = Array::from_shape_vec(dim, buffer).expect("one value per element");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_recycled_without_being_taken_do_not_pile_up() {
        // Each step takes one buffer and gets back two: the one it took and
        // an array ndarray made. Without the trim the list grows by one a step.
        let mut ws = Workspace::new();
        for _ in 0..20 {
            ws.run(|| {
                let a: Array<f32, _> = zeros(100);
                recycle_array(a);
                recycle_array(Array::<f32, _>::zeros(100));
            });
        }
        assert_eq!(ws.free_buffers(), 1);
    }

    #[test]
    fn buffers_are_reused_inside_run_only() {
        let mut ws = Workspace::new();
        ws.run(|| {
            let a: Array<f32, _> = zeros((100, 10));
            recycle_array(a);
        });
        assert_eq!(ws.free_buffers(), 1);
        let address = ws
            .f32
            .by_capacity
            .values()
            .flatten()
            .next()
            .expect("one buffer")
            .as_ptr();
        let reused = ws.run(|| {
            let mut buffer = take::<f32>(1000);
            buffer.extend((0..1000).map(|i| i as f32));
            let b = Array::from_shape_vec((10, 100), buffer).expect("1000 values");
            assert_eq!(b[[9, 99]], 999.0);
            b.as_ptr()
        });
        assert_eq!(reused, address, "the kept buffer was used");
        assert_eq!(ws.free_buffers(), 0);
        // Outside `run`, nothing is kept.
        recycle_array(Array::<f64, _>::zeros(3));
        assert_eq!(ws.free_buffers(), 0);
    }

    #[test]
    fn vec_buffers_are_reused_by_layout() {
        let mut ws = Workspace::new();
        let first = ws.run(|| {
            let mut v: Vec<&str> = take_vec();
            v.extend(["a", "b", "c"]);
            let address = v.as_ptr() as usize;
            recycle_vec(v);
            address
        });
        assert_eq!(ws.free_buffers(), 1);
        // Another element type of the same size and alignment reuses it.
        let second = ws.run(|| {
            let v: Vec<&[u8]> = take_vec();
            assert!(v.is_empty() && v.capacity() >= 3);
            v.as_ptr() as usize
        });
        assert_eq!(first, second);
        // One of another alignment does not.
        ws.run(|| recycle_vec(vec![1u64, 2]));
        let v: Vec<u8> = ws.run(take_vec);
        assert_eq!(v.capacity(), 0);
    }

    #[test]
    fn a_panic_inside_run_returns_the_buffers() {
        let mut ws = Workspace::new();
        ws.recycle(Array::<f64, _>::zeros(8));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ws.run(|| panic!("boom"))));
        assert!(result.is_err());
        assert_eq!(ws.free_buffers(), 1);
    }
}
