//! The loops of the element-wise modules over contiguous values. Those that
//! write a new array are compiled three times: for the build target (SSE2 on
//! a default x86-64 build), for AVX2 with FMA and for AVX-512, chosen per
//! call by the backend of [`crate::cpu`], so that one switch
//! (`AUTODIFF_GEMM`, `gemm::with_backend`) selects the instruction set of
//! every kernel and both paths can be tested and measured on one machine.
//! The functions applied are the same on both paths and the compiler does not
//! contract `a * b + c` into an FMA unasked, so the results are the same to
//! the bit (a test checks).

use ndarray::{Array, ArrayRef, ArrayViewD, Dimension, IntoDimension};

use crate::float::Float;

/// The instruction set the calling thread's kernels use: the build
/// target's, AVX2 with FMA (256-bit vectors), or AVX-512 (512-bit).
#[derive(Clone, Copy)]
enum Lanes {
    Plain,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

#[inline]
fn lanes() -> Lanes {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu::Backend;
        // `is_supported` checked the backend when it was chosen; an AVX-512
        // CPU has AVX2 and FMA too.
        match crate::cpu::backend() {
            Backend::Avx512 if Backend::Avx512.is_supported() => Lanes::Avx512,
            Backend::Avx2 | Backend::Avx512 if Backend::Avx2.is_supported() => Lanes::Avx2,
            _ => Lanes::Plain,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Lanes::Plain
    }
}

/// Declares `$avx2` and `$avx512`, the function `$plain` compiled for AVX2
/// with FMA and for AVX-512 (the same code: `$plain` is inlined into both).
macro_rules! instances {
    ($plain:ident => $avx2:ident, $avx512:ident; <$($g:ident: $b:path),*> ($($arg:ident: $ty:ty),*)) => {
        /// # Safety
        /// The CPU must have AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx2<$($g: $b),*>($($arg: $ty),*) {
            $plain($($arg),*)
        }

        /// # Safety
        /// The CPU must have AVX-512F (and so AVX2 and FMA).
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn $avx512<$($g: $b),*>($($arg: $ty),*) {
            $plain($($arg),*)
        }
    };
}

/// Calls `$plain(args)`, or its instance for `lanes`.
macro_rules! dispatch {
    ($lanes:expr, $plain:ident, $avx2:ident, $avx512:ident ($($arg:expr),*)) => {
        match $lanes {
            // SAFETY: `lanes` checked that the CPU has the instructions.
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx512 => unsafe { $avx512($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx2 => unsafe { $avx2($($arg),*) },
            Lanes::Plain => $plain($($arg),*),
        }
    };
}

/// `task(range, part)` over parts of `out` that together cover it, split over
/// the pool's threads when `out` is long enough. Each part is the elements
/// `range` of `out`; the element-wise functions give the same bits whichever
/// thread computes an element.
fn in_parts<T: Send>(out: &mut [T], task: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync) {
    in_row_parts(out, 1, task);
}

/// [`in_parts`] for `out` made of rows of `d` elements: every part holds
/// whole rows.
pub(crate) fn in_row_parts<T: Send>(out: &mut [T], d: usize, task: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync) {
    use crate::parallel::{Disjoint, over_items};
    let n = out.len();
    let out = Disjoint::new(out);
    over_items(n / d, n, &|rows| {
        let r = rows.start * d..rows.end * d;
        // SAFETY: the ranges of different parts are disjoint.
        task(r.clone(), unsafe { out.part(r) });
    });
}

/// Appends `f(x)` for each `x` of `xs` to the empty `out`, in one pass. (A
/// separate output also keeps the compiler from turning a map that leaves
/// some values unchanged, such as ReLU's, into masked stores, which are slow
/// on AMD's Zen.)
#[inline]
pub(crate) fn map_into<F: Float>(out: &mut Vec<F>, xs: &[F], f: impl Fn(F) -> F + Sync) {
    out.clear();
    out.reserve(xs.len());
    // Chosen here: a helper thread does not see the caller's forced backend.
    let lanes = lanes();
    in_parts(&mut out.spare_capacity_mut()[..xs.len()], |r, out| {
        dispatch!(lanes, map_plain, map_avx2, map_avx512(out, &xs[r], &f))
    });
    // SAFETY: the first `xs.len()` elements were just written.
    unsafe { out.set_len(xs.len()) };
}

/// Appends `f(x, y)` for each pair of `xs` and `ys` (of equal lengths) to
/// the empty `out`, in one pass.
#[inline]
pub(crate) fn zip_into<F: Float>(out: &mut Vec<F>, xs: &[F], ys: &[F], f: impl Fn(F, F) -> F + Sync) {
    assert_eq!(xs.len(), ys.len(), "zip_into: operands of equal lengths");
    out.clear();
    out.reserve(xs.len());
    let lanes = lanes();
    in_parts(&mut out.spare_capacity_mut()[..xs.len()], |r, out| {
        dispatch!(lanes, zip_plain, zip_avx2, zip_avx512(out, &xs[r.clone()], &ys[r], &f))
    });
    // SAFETY: the first `xs.len()` elements were just written.
    unsafe { out.set_len(xs.len()) };
}

#[inline(always)]
fn zip_plain<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], ys: &[F], f: impl Fn(F, F) -> F) {
    out.iter_mut().zip(xs.iter().zip(ys)).for_each(|(o, (&x, &y))| {
        o.write(f(x, y));
    });
}

instances!(zip_plain => zip_avx2, zip_avx512; <F: Float, G: Fn(F, F) -> F>
    (out: &mut [std::mem::MaybeUninit<F>], xs: &[F], ys: &[F], f: G));

#[inline(always)]
fn map_plain<F: Float>(out: &mut [std::mem::MaybeUninit<F>], xs: &[F], f: impl Fn(F) -> F) {
    out.iter_mut().zip(xs).for_each(|(o, &x)| {
        o.write(f(x));
    });
}

#[inline(always)]
fn update_plain<F: Float>(values: &mut [F], other: &[F], f: impl Fn(F, F) -> F) {
    values.iter_mut().zip(other).for_each(|(v, &o)| *v = f(*v, o));
}

/// `v = f(v, o)` for each value and the matching value of `other` (of the
/// same length), on the build target's instructions only: compiled for AVX2,
/// an update that leaves some values unchanged (ReLU's VJP) becomes masked
/// stores, which made it slower on Zen than the plain loop.
#[inline]
pub(crate) fn zip_in_place<F: Float>(values: &mut [F], other: &[F], f: impl Fn(F, F) -> F + Sync) {
    debug_assert_eq!(values.len(), other.len());
    in_parts(values, |r, values| update_plain(values, &other[r], &f));
}

/// `v = f(v)` for each value, on the build target's instructions (see
/// [`zip_in_place`]).
#[inline]
pub(crate) fn map_in_place<F: Float>(values: &mut [F], f: impl Fn(F) -> F + Sync) {
    in_parts(values, |_, values| values.iter_mut().for_each(|v| *v = f(*v)));
}

/// [`zip_in_place`] for an `f` that computes every value anew from costly
/// functions (GELU's VJP: erf and an exponential per element), which
/// vectorises fully on AVX2.
#[inline]
pub(crate) fn zip_in_place_wide<F: Float>(values: &mut [F], other: &[F], f: impl Fn(F, F) -> F + Sync) {
    debug_assert_eq!(values.len(), other.len());
    let lanes = lanes();
    in_parts(values, |r, values| {
        dispatch!(lanes, update_plain, update_avx2, update_avx512(values, &other[r], &f))
    });
}

instances!(update_plain => update_avx2, update_avx512; <F: Float, G: Fn(F, F) -> F>
    (values: &mut [F], other: &[F], f: G));
instances!(map_plain => map_avx2, map_avx512; <F: Float, G: Fn(F) -> F>
    (out: &mut [std::mem::MaybeUninit<F>], xs: &[F], f: G));

/// Rows handed to the functions of [`rows_zip_in_place`] at a time.
pub(crate) const ROWS: usize = 4;

/// `f(rows, other_rows)` for every [`ROWS`] rows of `d` values of `values`
/// and the matching rows of `other` (of the same length; the last call may
/// get fewer rows), rows split over the pool's threads when there are
/// enough values, each part compiled for the CPU's widest vectors (see
/// [`lanes`]). Several rows a call, so that `f` can run each of its passes
/// over all of them: short rows (attention's) are chains of dependent steps
/// (a maximum, then exponentials, then their sum), which the processor
/// overlaps only across rows it sees together.
pub(crate) fn rows_zip_in_place<F: Float>(values: &mut [F], other: &[F], d: usize, f: impl Fn(&mut [F], &[F]) + Sync) {
    debug_assert_eq!(values.len(), other.len());
    if d == 0 {
        return;
    }
    let lanes = lanes();
    in_row_parts(values, d, |r, part| {
        dispatch!(
            lanes,
            rows_zip_plain,
            rows_zip_avx2,
            rows_zip_avx512(part, &other[r], d, &f)
        )
    });
}

#[inline(always)]
fn rows_zip_plain<F: Float>(values: &mut [F], other: &[F], d: usize, f: &impl Fn(&mut [F], &[F])) {
    // `(*f)`: the closure's own call, which its `#[inline(always)]` inlines
    // (a call through the reference goes through a shim that is not).
    for (v, o) in values.chunks_mut(d * ROWS).zip(other.chunks(d * ROWS)) {
        (*f)(v, o);
    }
}

instances!(rows_zip_plain => rows_zip_avx2, rows_zip_avx512; <F: Float, G: Fn(&mut [F], &[F])>
    (values: &mut [F], other: &[F], d: usize, f: &G));

/// `f()` compiled for the CPU's widest vectors (see [`lanes`]), for an `f`
/// marked `#[inline(always)]`: inlined into each instance, its loops take the
/// instance's instructions (a closure is otherwise compiled for the build
/// target alone).
#[inline]
pub(crate) fn on_widest<R>(f: impl FnOnce() -> R) -> R {
    match lanes() {
        // SAFETY: `lanes` checked that the CPU has the instructions.
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx512 => unsafe { call_avx512(f) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx2 => unsafe { call_avx2(f) },
        Lanes::Plain => f(),
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn call_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// # Safety
/// The CPU must have AVX-512F (and so AVX2 and FMA).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn call_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Σ f(xᵢ) over a slice in eight interleaved partial sums: a chain of
/// dependent additions would take one add's latency per element, the lanes
/// vectorise. The order of the additions depends on the length only.
#[inline(always)]
pub(crate) fn lane_sum<F: Float>(xs: &[F], f: impl Fn(F) -> F) -> F {
    lane_sum_zip(xs, xs, |x, _| f(x))
}

/// Σ f(xᵢ, yᵢ) over two slices of the same length, as [`lane_sum`]. The
/// slices go by arrays of eight (`as_chunks`), whose length the compiler
/// knows: indexing chunks of unknown length kept a bounds check per lane,
/// and the loop scalar.
#[inline(always)]
pub(crate) fn lane_sum_zip<F: Float>(xs: &[F], ys: &[F], f: impl Fn(F, F) -> F) -> F {
    debug_assert_eq!(xs.len(), ys.len());
    let mut lanes = [F::zero(); 8];
    let ((xc, xr), (yc, yr)) = (xs.as_chunks::<8>(), ys.as_chunks::<8>());
    for (x, y) in xc.iter().zip(yc) {
        for i in 0..8 {
            lanes[i] += f(x[i], y[i]);
        }
    }
    let mut sum = fold_lanes(lanes);
    for (&x, &y) in xr.iter().zip(yr) {
        sum += f(x, y);
    }
    sum
}

/// The sum of eight lanes, pairwise. The lanes pass through `black_box`:
/// seeing this sum's pairs, the compiler otherwise kept the loops' lanes two
/// to a register and shuffled them on every step, instead of one vector.
#[inline(always)]
pub(crate) fn fold_lanes<F: Float>(lanes: [F; 8]) -> F {
    let l = std::hint::black_box(lanes);
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

/// The largest value of a non-empty slice (−∞ for an empty one), in eight
/// interleaved lanes like [`lane_sum`]; NaN is passed over as `max` does.
#[inline(always)]
pub(crate) fn lane_max<F: Float>(xs: &[F]) -> F {
    let mut lanes = [F::neg_infinity(); 8];
    let (chunks, rest) = xs.as_chunks::<8>();
    for chunk in chunks {
        for i in 0..8 {
            lanes[i] = if chunk[i] > lanes[i] { chunk[i] } else { lanes[i] };
        }
    }
    let mut m = std::hint::black_box(lanes)
        .iter()
        .fold(F::neg_infinity(), |m, &v| m.max(v));
    for &v in rest {
        m = m.max(v);
    }
    m
}

/// Copies `src` into `dst` (of the same length) by moves of eight values,
/// the last overlapping the one before, and by two overlapping moves of four
/// or two below eight: no call. For the short runs of a convolution's
/// columns (10 or 28 values), `memcpy`'s call and its dispatch on the length
/// cost more than the copy, and the loop around it spilled its state.
#[inline(always)]
pub(crate) fn copy_short<F: Copy>(src: &[F], dst: &mut [F]) {
    let n = dst.len();
    let src = &src[..n];
    if n >= 8 {
        let ((to, _), (from, _)) = (dst.as_chunks_mut::<8>(), src.as_chunks::<8>());
        for (to, from) in to.iter_mut().zip(from) {
            *to = *from;
        }
        if !n.is_multiple_of(8) {
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else if n >= 2 {
        dst[..2].copy_from_slice(&src[..2]);
        dst[n - 2..].copy_from_slice(&src[n - 2..]);
    } else if n == 1 {
        dst[0] = src[0];
    }
}

/// `dst += src` (the same length) by eight values at a time, then at most
/// one step each of four, two and one: no call, no vector loop set up for a
/// run of ten, and no scalar tail of seven.
#[inline(always)]
pub(crate) fn add_short<F: Float>(src: &[F], dst: &mut [F]) {
    #[inline(always)]
    fn add<F: Float, const N: usize>(to: &mut [F], from: &[F]) {
        let (to, from) = (&mut to[..N], &from[..N]);
        for i in 0..N {
            to[i] += from[i];
        }
    }
    let n = dst.len();
    let src = &src[..n];
    let (to, from) = (dst.as_chunks_mut::<8>().0, src.as_chunks::<8>().0);
    for (to, from) in to.iter_mut().zip(from) {
        add::<F, 8>(to, from);
    }
    let mut at = n - n % 8;
    if n % 8 >= 4 {
        add::<F, 4>(&mut dst[at..], &src[at..]);
        at += 4;
    }
    if n % 4 >= 2 {
        add::<F, 2>(&mut dst[at..], &src[at..]);
        at += 2;
    }
    if n % 2 == 1 {
        add::<F, 1>(&mut dst[at..], &src[at..]);
    }
}

/// The array in standard layout: itself when it is, else a copy (the
/// original recycled).
pub(crate) fn standard<F: Float, D: Dimension>(array: Array<F, D>) -> Array<F, D> {
    if array.is_standard_layout() {
        return array;
    }
    let copy = copy_as(&array, array.raw_dim());
    crate::workspace::recycle_array(array);
    copy
}

/// `f` of each value of `xs`, as a new array of `shape` (with `xs.len()`
/// elements), written in one pass that vectorises (filling a `Vec` from a
/// mapped iterator does not).
pub(crate) fn array_from_map<F: Float, Sh: IntoDimension>(
    shape: Sh,
    xs: &[F],
    f: impl Fn(F) -> F + Sync,
) -> Array<F, Sh::Dim> {
    let mut buffer = crate::workspace::take(xs.len());
    map_into(&mut buffer, xs, f);
    Array::from_shape_vec(shape, buffer).expect("one value per element")
}

/// `f(x, y)` of the values of `xs` and `ys` (of equal lengths) pairwise, as a
/// new array of `shape`; one pass like [`array_from_map`].
pub(crate) fn array_from_zip<F: Float, Sh: IntoDimension>(
    shape: Sh,
    xs: &[F],
    ys: &[F],
    f: impl Fn(F, F) -> F + Sync,
) -> Array<F, Sh::Dim> {
    let mut buffer = crate::workspace::take(xs.len());
    zip_into(&mut buffer, xs, ys, f);
    Array::from_shape_vec(shape, buffer).expect("one value per element")
}

/// The elements of `x` in row-major order, into a new workspace array of
/// `shape` (the caller has checked the count), by the f32 or f64 instance
/// compiled in this crate: only the conversions are generic, so a user's
/// crate does not compile the copy again for each rank.
pub(crate) fn copy_as<F: Float, D: Dimension, E: Dimension>(x: &ArrayRef<F, D>, shape: E) -> Array<F, E> {
    use crate::float::{same_as, view_as};
    let x = x.view().into_dyn();
    let values: Vec<F> = match view_as::<F, f32, _>(x.view()) {
        Some(x) => same_as(copy_values_f32(x)).expect("F is f32"),
        None => same_as(copy_values_f64(view_as::<F, f64, _>(x).expect("`Float` is f32 or f64"))).expect("F is f64"),
    };
    Array::from_shape_vec(shape, values).expect("the caller checked the count")
}

#[inline(never)]
fn copy_values_f32(x: ArrayViewD<'_, f32>) -> Vec<f32> {
    copy_values(&x)
}

#[inline(never)]
fn copy_values_f64(x: ArrayViewD<'_, f64>) -> Vec<f64> {
    copy_values(&x)
}

/// The elements of `x` in row-major order, into a workspace buffer. A large
/// copy is split over the threads by rows of the first axis. The copy writes
/// into the buffer's spare capacity: a buffer is not zero-filled first only
/// to be overwritten.
fn copy_values<F: Float>(x: &ArrayViewD<'_, F>) -> Vec<F> {
    use crate::parallel::{Disjoint, over_items};
    let n = x.len();
    let mut buffer = crate::workspace::take::<F>(n);
    let out = Disjoint::new(&mut buffer.spare_capacity_mut()[..n]);
    match x.as_slice() {
        _ if n == 0 => {}
        Some(values) => over_items(n, n, &|r| {
            // SAFETY: the ranges of different parts are disjoint.
            let part = unsafe { out.part(r.clone()) };
            // SAFETY: `part` and `values[r]` hold `r.len()` values each, in
            // different buffers.
            unsafe { std::ptr::copy_nonoverlapping(values[r].as_ptr(), part.as_mut_ptr().cast::<F>(), part.len()) };
        }),
        None => {
            // A strided view (a permutation, a slice): by rows of the first
            // axis over the threads, run by run along the last axis.
            let rows = x.shape()[0];
            over_items(rows, n, &|r| {
                let (shape, strides) = (x.shape(), x.strides());
                // SAFETY: the rows of different parts are disjoint.
                let part = unsafe { out.part(r.start * (n / rows)..r.end * (n / rows)) };
                // SAFETY: rows `r` of `x` start there and have its strides;
                // `part` has room for exactly their values.
                unsafe {
                    copy_strided(
                        part,
                        x.as_ptr().offset(r.start as isize * strides[0]),
                        r.len(),
                        shape,
                        strides,
                    )
                };
            });
        }
    }
    // SAFETY: the parts together wrote all `n` values.
    unsafe { buffer.set_len(n) };
    buffer
}

/// The values of the strided block at `base` (`shape`, but `rows` long on
/// the first axis; `strides` in values) in row-major order into `out` (of
/// their count), run by run along the last axis (see [`for_each_run`]); a
/// run of unit stride is an inline copy compiled for the widest vectors.
///
/// # Safety
/// Every position of the block is a valid value.
unsafe fn copy_strided<F: Copy>(
    out: &mut [std::mem::MaybeUninit<F>],
    base: *const F,
    rows: usize,
    shape: &[usize],
    strides: &[isize],
) {
    use std::mem::MaybeUninit;
    let (inner, step) = (
        if shape.len() == 1 { rows } else { shape[shape.len() - 1] },
        strides[strides.len() - 1],
    );
    on_widest(
        #[inline(always)]
        || {
            for_each_run(rows, shape, strides, |offset, i| {
                let run = &mut out[i * inner..(i + 1) * inner];
                // SAFETY: the run's start is a position of the block (the
                // caller's promise), as is each of its `inner` values.
                let src = unsafe { base.offset(offset) };
                if step == 1 {
                    // SAFETY: as above; a value is a valid `MaybeUninit`.
                    let values = unsafe { std::slice::from_raw_parts(src.cast::<MaybeUninit<F>>(), inner) };
                    copy_short(values, run);
                } else {
                    for (j, o) in run.iter_mut().enumerate() {
                        // SAFETY: as above.
                        o.write(unsafe { *src.offset(j as isize * step) });
                    }
                }
            })
        },
    );
}

/// `dst` (in any layout) takes `values`, its count of them in row-major
/// order: the inverse of [`copy_as`], by the f32 or f64 instance compiled in
/// this crate.
pub(crate) fn assign_from<F: Float, D: Dimension>(mut dst: ndarray::ArrayViewMut<'_, F, D>, values: &[F]) {
    assert_eq!(
        dst.len(),
        values.len(),
        "internal error: assigning values of another count"
    );
    if let Some(dst) = dst.as_slice_mut() {
        dst.copy_from_slice(values);
        return;
    }
    let base = dst.as_mut_ptr();
    let (shape, strides) = (dst.shape(), dst.strides());
    // SAFETY: `base`, `shape` and `strides` describe `dst`, a block of valid
    // values borrowed mutably, and `values` holds its count of them; `F` is
    // the type the instance takes (`Float` is f32 or f64).
    unsafe {
        if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>() {
            scatter_f32(values.as_ptr().cast(), base.cast(), shape, strides);
        } else {
            scatter_f64(values.as_ptr().cast(), base.cast(), shape, strides);
        }
    }
}

/// # Safety
/// As for [`scatter`].
#[inline(never)]
unsafe fn scatter_f32(values: *const f32, base: *mut f32, shape: &[usize], strides: &[isize]) {
    // SAFETY: forwarded from the caller.
    unsafe { scatter(values, base, shape, strides) }
}

/// # Safety
/// As for [`scatter`].
#[inline(never)]
unsafe fn scatter_f64(values: *const f64, base: *mut f64, shape: &[usize], strides: &[isize]) {
    // SAFETY: forwarded from the caller.
    unsafe { scatter(values, base, shape, strides) }
}

/// Writes the values at `values` in row-major order into the strided block
/// at `base`, run by run.
///
/// # Safety
/// Every position of the block is a value that may be written; `values`
/// holds the block's count of values, in other memory.
unsafe fn scatter<F: Copy>(values: *const F, base: *mut F, shape: &[usize], strides: &[isize]) {
    if shape.is_empty() || shape.contains(&0) {
        return;
    }
    let (inner, step) = (shape[shape.len() - 1], strides[strides.len() - 1]);
    on_widest(
        #[inline(always)]
        || {
            for_each_run(shape[0], shape, strides, |offset, i| {
                // SAFETY: run `i` of `values` holds `inner` values; its place
                // in the block starts at `offset` (the caller's promises).
                let (src, dst) = unsafe {
                    (
                        std::slice::from_raw_parts(values.add(i * inner), inner),
                        base.offset(offset),
                    )
                };
                if step == 1 {
                    // SAFETY: as above, `inner` values of unit stride.
                    copy_short(src, unsafe { std::slice::from_raw_parts_mut(dst, inner) });
                } else {
                    for (j, &v) in src.iter().enumerate() {
                        // SAFETY: as above.
                        unsafe { *dst.offset(j as isize * step) = v };
                    }
                }
            })
        },
    );
}

/// Calls `f(offset, i)` for each run `i` along the last axis of the strided
/// block `shape` (but `rows` long on the first axis, `strides` in values),
/// in row-major order, with the offset of its first value. Runs come in
/// planes along the second-last axis; an odometer steps the axes before it,
/// on the stack up to sixteen of them. (ndarray's iteration over a rank
/// known only at run time was four times slower.)
#[inline(always)]
fn for_each_run(rows: usize, shape: &[usize], strides: &[isize], mut f: impl FnMut(isize, usize)) {
    let rank = shape.len();
    let len = |axis: usize| if axis == 0 { rows } else { shape[axis] };
    if rank == 0 || (0..rank).any(|axis| len(axis) == 0) {
        return;
    }
    let (lines, across) = if rank >= 2 {
        (len(rank - 2), strides[rank - 2])
    } else {
        (1, 0)
    };
    let outer = rank.saturating_sub(2);
    let planes: usize = (0..outer).map(len).product();
    let (mut kept, mut heap) = ([0usize; 16], Vec::new());
    let index: &mut [usize] = if outer <= kept.len() {
        &mut kept[..outer]
    } else {
        heap.resize(outer, 0);
        &mut heap
    };
    let mut offset = 0isize;
    for plane in 0..planes {
        for k in 0..lines {
            f(offset + k as isize * across, plane * lines + k);
        }
        for axis in (0..outer).rev() {
            index[axis] += 1;
            offset += strides[axis];
            if index[axis] < len(axis) {
                break;
            }
            offset -= strides[axis] * len(axis) as isize;
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Backend, with_backend};

    /// `copy_as` gives ndarray's row-major order for contiguous, permuted,
    /// sliced (with steps, reversed, empty) and indexed views of ranks 0 to
    /// 5 and of a rank past the odometer's sixteen axes kept on the stack,
    /// in f32 and f64, on every instruction set.
    #[test]
    fn copy_as_keeps_row_major_order() {
        fn check<F: Float>(view: ndarray::ArrayViewD<'_, F>) {
            let want: Vec<F> = view.iter().copied().collect();
            for backend in Backend::supported() {
                let got = with_backend(backend, || copy_as(&view, ndarray::IxDyn(&[want.len()])));
                assert_eq!(
                    got.iter().copied().collect::<Vec<_>>(),
                    want,
                    "shape {:?}, strides {:?}, on {backend}",
                    view.shape(),
                    view.strides()
                );
            }
        }
        fn cases<F: Float>() {
            let x = crate::testing::random((101, 40, 33), 3).mapv(F::of);
            let y = crate::testing::random((3, 5, 7, 2, 9), 4).mapv(F::of);
            let mut reversed = x.view();
            reversed.invert_axis(ndarray::Axis(1));
            let deep = crate::testing::random(
                ndarray::IxDyn(&[1, 2, 1, 1, 3, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1, 3]),
                5,
            )
            .mapv(F::of);
            let views = [
                x.view().into_dyn(),
                x.view().permuted_axes([2, 0, 1]).into_dyn(),
                x.view().permuted_axes([1, 0, 2]).into_dyn(),
                x.slice(ndarray::s![.., 3..30;2, ..]).into_dyn(),
                x.slice(ndarray::s![..;-3, .., 1..;4]).into_dyn(),
                reversed.into_dyn(),
                x.slice(ndarray::s![0..0, .., ..]).into_dyn(),
                x.slice(ndarray::s![.., 0..0, ..]).into_dyn(),
                x.slice(ndarray::s![7, 8, 9]).into_dyn(),
                x.slice(ndarray::s![7, 1..;3, 9]).into_dyn(),
                x.slice(ndarray::s![.., 2, ..]).into_dyn(),
                y.view().permuted_axes([4, 2, 0, 3, 1]).into_dyn(),
                y.slice(ndarray::s![.., 1..4, ..;-2, .., 3..]).into_dyn(),
                y.view().reversed_axes().into_dyn(),
                deep.view(),
                deep.view().reversed_axes(),
            ];
            for view in views {
                check(view);
            }
        }
        cases::<f32>();
        cases::<f64>();
    }

    /// `assign_from` writes values in row-major order into every place of a
    /// strided view (permuted, sliced with steps, reversed, indexed, empty, of
    /// ranks 1 to 5 and past sixteen axes) and nowhere else, in f32 and f64,
    /// on every instruction set.
    #[test]
    fn assign_from_fills_a_view_in_row_major_order() {
        use ndarray::{ArrayD, ArrayViewMutD, Axis, IxDyn, SliceInfoElem, s};
        /// A view: the array's axes permuted, then one reversed, then sliced.
        struct Case {
            shape: Vec<usize>,
            axes: Option<Vec<usize>>,
            reverse: Option<usize>,
            slice: Vec<SliceInfoElem>,
        }
        fn place<'a, F: Float>(a: &'a mut ArrayD<F>, case: &Case) -> ArrayViewMutD<'a, F> {
            let mut view = a.view_mut();
            if let Some(axes) = &case.axes {
                view = view.permuted_axes(axes.clone());
            }
            if let Some(axis) = case.reverse {
                view.invert_axis(Axis(axis));
            }
            let info: ndarray::SliceInfo<&[SliceInfoElem], IxDyn, IxDyn> = case.slice[..].try_into().expect("the rank");
            view.slice_move(info)
        }
        fn check<F: Float>(case: &Case) {
            let original = ArrayD::from_shape_fn(IxDyn(&case.shape), |i| {
                F::of(1000.0 + i.as_array_view().iter().fold(0.0, |a, &k| a * 64.0 + k as f64))
            });
            for backend in Backend::supported() {
                let mut target = original.clone();
                let n = place(&mut target, case).len();
                let values: Vec<F> = (0..n).map(|i| F::of(-1.0 - i as f64)).collect();
                with_backend(backend, || assign_from(place(&mut target, case), &values));
                let got: Vec<F> = place(&mut target, case).iter().copied().collect();
                assert_eq!(got, values, "shape {:?}, on {backend}", case.shape);
                let kept = target.iter().zip(&original).filter(|&(t, o)| t == o).count();
                assert_eq!(
                    kept,
                    original.len() - n,
                    "shape {:?}, on {backend}: written outside the view",
                    case.shape
                );
            }
        }
        let all = |rank: usize| vec![SliceInfoElem::from(..); rank];
        let deep = vec![1, 2, 1, 1, 3, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1, 3];
        let cases = [
            Case {
                shape: vec![9, 40, 33],
                axes: None,
                reverse: None,
                slice: all(3),
            },
            Case {
                shape: vec![9, 40, 33],
                axes: Some(vec![2, 0, 1]),
                reverse: None,
                slice: all(3),
            },
            Case {
                shape: vec![9, 40, 33],
                axes: None,
                reverse: Some(1),
                slice: s![.., 3..30;2, ..].as_ref().to_vec(),
            },
            Case {
                shape: vec![9, 40, 33],
                axes: None,
                reverse: None,
                slice: s![..;-3, .., 1..;4].as_ref().to_vec(),
            },
            Case {
                shape: vec![9, 40, 33],
                axes: None,
                reverse: None,
                slice: s![0..0, .., ..].as_ref().to_vec(),
            },
            Case {
                shape: vec![9, 40, 33],
                axes: None,
                reverse: None,
                slice: s![7, 1..;3, 9].as_ref().to_vec(),
            },
            Case {
                shape: vec![9, 40, 33],
                axes: None,
                reverse: None,
                slice: s![.., 2, ..].as_ref().to_vec(),
            },
            Case {
                shape: vec![20],
                axes: None,
                reverse: None,
                slice: s![1..;3].as_ref().to_vec(),
            },
            Case {
                shape: vec![3, 5, 7, 2, 9],
                axes: Some(vec![4, 2, 0, 3, 1]),
                reverse: Some(0),
                slice: all(5),
            },
            Case {
                shape: vec![3, 5, 7, 2, 9],
                axes: None,
                reverse: None,
                slice: s![.., 1..4, ..;-2, .., 3..].as_ref().to_vec(),
            },
            Case {
                shape: deep.clone(),
                axes: Some((0..deep.len()).rev().collect()),
                reverse: None,
                slice: all(deep.len()),
            },
        ];
        for case in &cases {
            check::<f32>(case);
            check::<f64>(case);
        }
    }

    /// Every path the CPU runs gives the bits of the portable one.
    fn same_on_every_path<F: Float>(values: &[F]) {
        let other: Vec<F> = values.iter().rev().copied().collect();
        let run = |backend| {
            with_backend(backend, || {
                let mut tanh = Vec::new();
                map_into(&mut tanh, values, F::fast_tanh);
                let mut exp = Vec::new();
                map_into(&mut exp, values, F::fast_exp);
                let combine = |a: F, b: F| a * b + (F::one() - a) * b.max(F::zero());
                let mut fused = values.to_vec();
                zip_in_place(&mut fused, &other, combine);
                let mut zipped = Vec::new();
                zip_into(&mut zipped, values, &other, combine);
                assert_eq!(zipped, fused);
                let mut wide = values.to_vec();
                zip_in_place_wide(&mut wide, &other, combine);
                assert_eq!(wide, fused);
                (tanh, exp, fused)
            })
        };
        let portable = run(Backend::Portable);
        for backend in Backend::supported() {
            let got = run(backend);
            let bits = |v: &[F]| v.iter().map(|x| x.to_f64_lossless().to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got.0), bits(&portable.0), "tanh on {backend}");
            assert_eq!(bits(&got.1), bits(&portable.1), "exp on {backend}");
            assert_eq!(bits(&got.2), bits(&portable.2), "zip on {backend}");
        }
    }

    #[test]
    fn every_path_gives_the_same_bits() {
        // Lengths that are not multiples of any vector width, and values
        // across the ranges the functions treat differently.
        // 70,000: split over the pool's threads.
        for n in [1, 7, 33, 1000, 70_000] {
            let f64s: Vec<f64> = (0..n).map(|i| (i as f64 * 0.731).sin() * 12.0 - 1.0).collect();
            let f32s: Vec<f32> = f64s.iter().map(|&v| v as f32).collect();
            same_on_every_path(&f32s);
            same_on_every_path(&f64s);
        }
    }

    /// The short copies and sums give what the plain loops give, at every
    /// length around their move widths, inside a longer buffer whose other
    /// values they must leave alone.
    #[test]
    fn short_copies_and_sums_touch_their_run_alone() {
        for n in 0..40 {
            let src: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
            let mut dst = vec![-1.0; n + 2];
            copy_short(&src, &mut dst[1..n + 1]);
            assert_eq!(dst[0], -1.0, "length {n}");
            assert_eq!(dst[n + 1], -1.0, "length {n}");
            assert_eq!(&dst[1..n + 1], &src[..], "length {n}");
            add_short(&src, &mut dst[1..n + 1]);
            assert!(dst[1..n + 1].iter().zip(&src).all(|(d, s)| *d == 2.0 * s), "length {n}");
            assert_eq!((dst[0], dst[n + 1]), (-1.0, -1.0), "length {n}");
        }
    }
}
