//! The runtime's matrix product: `C ← α·A·B + β·C` on strided views, blocked
//! and packed in the manner of BLIS/GotoBLAS, with the packing memory kept per
//! thread and a pool of helper threads that lives for the whole process.
//!
//! Why our own: the well-kept crates (matrixmultiply, gemm) allocate their
//! packing buffers on every product and take no scratch memory, so a training
//! step built on them could never run allocation-free. This one allocates only
//! the first time a thread meets a larger product than before; a steady-state
//! step allocates nothing. Speed is measured against both crates in
//! `benches/gemm.rs`.
//!
//! Loop nest (one thread's share of C):
//!
//! ```text
//! for each NC-wide block of columns:
//!   for each KC-deep slice of k:       pack B[kc × nc] into NR-wide panels
//!     for each MC-tall block of rows:  pack A[mc × kc] into MR-tall panels
//!       for each panel of B̄, each panel of Ā:  micro-kernel on one MR × NR tile
//! ```

mod caches;
mod kernel;

use ndarray::{Array2, ArrayRef1, ArrayRef2};

pub use crate::cpu::{Backend, backend, with_backend};
use crate::float::Float;
pub use crate::parallel::threads;
pub use caches::Caches;
use kernel::{Panel, Scalar, Tile};

/// `a·b` into a new array.
pub(crate) fn gemm<F: Float>(a: &ArrayRef2<F>, b: &ArrayRef2<F>) -> Array2<F> {
    let (m, n) = (a.nrows(), b.ncols());
    // β = 0 writes every element of C without reading it, so the product goes
    // straight into the buffer's capacity: new memory is touched once, by the
    // product, instead of being zero-filled first.
    let mut buffer = crate::workspace::take::<F>(m * n);
    let c = StridedMut {
        ptr: buffer.as_mut_ptr(),
        rs: n as isize,
        cs: 1,
    };
    // SAFETY: `buffer` has capacity for the m×n row-major C, which the
    // product writes completely (β = 0) before the length is set.
    unsafe {
        product(F::one(), a, b, F::zero(), None, c, (m, n));
        buffer.set_len(m * n);
    }
    Array2::from_shape_vec((m, n), buffer).expect("m×n values")
}

/// `c ← α·a·b + β·c` on any 2-D views (transposed and strided ones too); with
/// β = 0, `c`'s old values are not read. This is the product every module of
/// the runtime uses: a custom module should call it too, so that its products
/// are counted by [`crate::stats::gemm_calls`] and allocate nothing.
///
/// ```
/// use ndarray::array;
/// let (a, b) = (array![[1.0, 2.0], [3.0, 4.0]], array![[5.0], [6.0]]);
/// let mut c = array![[1.0], [1.0]];
/// autodiff_runtime::gemm::gemm_into(2.0, &a, &b, 1.0, &mut c);
/// assert_eq!(c, array![[35.0], [79.0]]);
/// ```
///
/// # Panics
/// If the shapes do not chain, with a message naming them.
pub fn gemm_into<F: Float>(alpha: F, a: &ArrayRef2<F>, b: &ArrayRef2<F>, beta: F, c: &mut ArrayRef2<F>) {
    let dim = c.dim();
    let (rs, cs) = (c.strides()[0], c.strides()[1]);
    let c = StridedMut {
        ptr: c.as_mut_ptr(),
        rs,
        cs,
    };
    // SAFETY: `c` comes from a live ndarray view of shape `dim`, borrowed
    // mutably, so it aliases neither input.
    unsafe { product(alpha, a, b, beta, None, c, dim) };
}

/// `a·b + bias` into a new array, the bias added to every row: the product
/// of a linear layer. Each thread writes the bias into a tile of C just
/// before its kernel adds onto it, so that the bias costs no pass over C of
/// its own.
///
/// # Panics
/// If the shapes do not chain, or the bias is not one value per column.
pub(crate) fn gemm_bias<F: Float>(a: &ArrayRef2<F>, b: &ArrayRef2<F>, bias: &ArrayRef1<F>) -> Array2<F> {
    let (m, n) = (a.nrows(), b.ncols());
    assert_eq!(bias.len(), n, "gemm: a bias of {} values for {n} columns", bias.len());
    let mut buffer = crate::workspace::take::<F>(m * n);
    let c = StridedMut {
        ptr: buffer.as_mut_ptr(),
        rs: n as isize,
        cs: 1,
    };
    // The bias as an m×n matrix whose rows are all the same row.
    let bias = Strided {
        ptr: bias.as_ptr(),
        rs: 0,
        cs: bias.strides()[0],
    };
    // SAFETY: `buffer` has capacity for the m×n row-major C, which the
    // product writes completely (the bias, then onto it) before the length
    // is set; the bias view reads its n values.
    unsafe {
        product(F::one(), a, b, F::zero(), Some(bias), c, (m, n));
        buffer.set_len(m * n);
    }
    Array2::from_shape_vec((m, n), buffer).expect("m×n values")
}

/// Counts the product, checks that the shapes chain, and computes it.
///
/// # Safety
/// `c` addresses a valid `dim` matrix that overlaps neither input; with β ≠ 0
/// and no bias its values are initialised; a bias addresses a valid `dim`
/// matrix.
unsafe fn product<F: Float>(
    alpha: F,
    a: &ArrayRef2<F>,
    b: &ArrayRef2<F>,
    beta: F,
    bias: Option<Strided<F>>,
    c: StridedMut<F>,
    dim: (usize, usize),
) {
    crate::stats::count_gemm();
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert!(
        b.nrows() == k && dim == (m, n),
        "gemm: shapes {:?}·{:?} into {:?}",
        a.shape(),
        b.shape(),
        [dim.0, dim.1]
    );
    let view = |ptr, strides: &[isize]| Strided {
        ptr,
        rs: strides[0],
        cs: strides[1],
    };
    let (a, b) = (view(a.as_ptr(), a.strides()), view(b.as_ptr(), b.strides()));
    // SAFETY: the pointers and strides of A and B come from live ndarray
    // views of the checked shapes; C is valid per the caller.
    unsafe { gemm_raw((m, k, n), alpha, a, b, beta, bias, c) };
}

/// A strided matrix: element `(i, j)` is at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<F> {
    ptr: *const F,
    rs: isize,
    cs: isize,
}

/// A mutable strided matrix.
#[derive(Clone, Copy)]
pub(crate) struct StridedMut<F> {
    ptr: *mut F,
    rs: isize,
    cs: isize,
}

impl<F> Strided<F> {
    /// The same matrix seen as elements of type `T` (the same type as `F`).
    fn cast<T>(self) -> Strided<T> {
        Strided {
            ptr: self.ptr.cast(),
            rs: self.rs,
            cs: self.cs,
        }
    }
}

impl<F> StridedMut<F> {
    /// The same matrix seen as elements of type `T` (the same type as `F`).
    fn cast<T>(self) -> StridedMut<T> {
        StridedMut {
            ptr: self.ptr.cast(),
            rs: self.rs,
            cs: self.cs,
        }
    }
}

// SAFETY: the views are handed to pool threads only for the duration of one
// product, and the threads only read A and B.
unsafe impl<F: Sync> Send for Strided<F> {}
// SAFETY: as for `Send`: shared reads of A and B during one product.
unsafe impl<F: Sync> Sync for Strided<F> {}
// SAFETY: the view of C is handed to pool threads only for the duration of
// one product, and the threads write disjoint blocks of C.
unsafe impl<F: Send> Send for StridedMut<F> {}
// SAFETY: as for `Send`: each thread writes its own blocks of C.
unsafe impl<F: Send> Sync for StridedMut<F> {}

impl<F> Strided<F> {
    fn at(self, i: usize, j: usize) -> *const F {
        self.ptr.wrapping_offset(i as isize * self.rs + j as isize * self.cs)
    }
}

impl<F> StridedMut<F> {
    fn at(self, i: usize, j: usize) -> *mut F {
        self.ptr.wrapping_offset(i as isize * self.rs + j as isize * self.cs)
    }
}

/// Products below this many multiply-adds run on one thread: waking a helper
/// costs more than it saves. On a 2-core Zen 1, products of 2¹⁸ to 2²⁰ (an
/// output layer's X·Wᵀ at batch 128) take half the time on two threads, and
/// an RNN step, whose products are separated by element-wise work, is no
/// slower for it.
const PARALLEL_WORK: usize = 1 << 18;

/// `C[m×n] ← α·A[m×k]·B[k×n] + β·C` for f32 or f64; β = 0 means C is not
/// read. With a `bias` (an `m×n` view, usually of one row repeated), `C ←
/// α·A·B + bias` instead, and C is not read.
///
/// # Safety
/// The views address valid `m×k`, `k×n` and `m×n` matrices (the bias too),
/// and C overlaps neither input nor the bias.
unsafe fn gemm_raw<F: Float>(
    dims: (usize, usize, usize),
    alpha: F,
    a: Strided<F>,
    b: Strided<F>,
    beta: F,
    bias: Option<Strided<F>>,
    c: StridedMut<F>,
) {
    use std::any::Any;
    // `Float` is implemented for f32 and f64 only: each has its own kernels.
    let scalars = |x: &F| (x as &dyn Any).downcast_ref::<f32>().copied();
    if let (Some(alpha), Some(beta)) = (scalars(&alpha), scalars(&beta)) {
        // SAFETY: `F` is f32, so the views address f32 values; the caller
        // upholds the rest of the contract, which is `gemm_typed`'s.
        return unsafe { gemm_f32(dims, alpha, a.cast(), b.cast(), beta, bias.map(Strided::cast), c.cast()) };
    }
    let scalars = |x: &F| (x as &dyn Any).downcast_ref::<f64>().copied();
    if let (Some(alpha), Some(beta)) = (scalars(&alpha), scalars(&beta)) {
        // SAFETY: as above, for f64.
        return unsafe { gemm_f64(dims, alpha, a.cast(), b.cast(), beta, bias.map(Strided::cast), c.cast()) };
    }
    unreachable!("`Float` is implemented for f32 and f64 only")
}

// The kernels of each element type, compiled once in this crate: a generic
// caller in a user's crate instantiates only the dispatch above, not the
// whole product (which would make every rebuild of that crate optimise it).

/// [`gemm_typed`] for f32.
///
/// # Safety
/// As for [`gemm_raw`].
#[inline(never)]
unsafe fn gemm_f32(
    dims: (usize, usize, usize),
    alpha: f32,
    a: Strided<f32>,
    b: Strided<f32>,
    beta: f32,
    bias: Option<Strided<f32>>,
    c: StridedMut<f32>,
) {
    // SAFETY: forwarded from the caller.
    unsafe { gemm_typed(dims, alpha, a, b, beta, bias, c) }
}

/// [`gemm_typed`] for f64.
///
/// # Safety
/// As for [`gemm_raw`].
#[inline(never)]
unsafe fn gemm_f64(
    dims: (usize, usize, usize),
    alpha: f64,
    a: Strided<f64>,
    b: Strided<f64>,
    beta: f64,
    bias: Option<Strided<f64>>,
    c: StridedMut<f64>,
) {
    // SAFETY: forwarded from the caller.
    unsafe { gemm_typed(dims, alpha, a, b, beta, bias, c) }
}

/// [`gemm_raw`] on the kernels of one element type.
///
/// # Safety
/// As for [`gemm_raw`].
pub(crate) unsafe fn gemm_typed<F: Scalar>(
    (m, k, n): (usize, usize, usize),
    alpha: F,
    a: Strided<F>,
    b: Strided<F>,
    beta: F,
    bias: Option<Strided<F>>,
    c: StridedMut<F>,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == F::zero() {
        // SAFETY: C (and the bias) are valid, per the caller.
        unsafe {
            match bias {
                Some(bias) => fill(m, n, bias, c),
                None => scale(m, n, beta, c),
            }
        };
        return;
    }
    let Some(kernels) = F::kernels(backend()) else {
        // The bias first, then added onto.
        let beta = match bias {
            // SAFETY: C and the bias are valid, per the caller.
            Some(bias) => unsafe {
                fill(m, n, bias, c);
                F::one()
            },
            None => beta,
        };
        // SAFETY: forwarded from the caller.
        unsafe {
            F::matrixmultiply(
                (m, k, n),
                alpha,
                (a.ptr, a.rs, a.cs),
                (b.ptr, b.rs, b.cs),
                beta,
                (c.ptr, c.rs, c.cs),
            )
        };
        return;
    };
    // A narrow output (many rows, few columns: X·Wᵀ into 10 classes) is
    // computed transposed, Cᵀ = Bᵀ·Aᵀ, where that pads the tiles much less:
    // 128 × 10 takes 132 × 16 slots of 6 × 16 tiles, its transpose 12 × 128.
    let (kernel, kernel_t) = (
        kernel::Kernel::choose(kernels, m, n),
        kernel::Kernel::choose(kernels, n, m),
    );
    // Computed transposed, a row-major C has its rows across the tiles'
    // columns, and every tile goes through `edge`, a copy of a few cycles an
    // element: worth it only where the product's depth pays for it (a 150 ×
    // 100 output of depth 16, a convolution's input gradient, ran 4% of a
    // LeNet-5 step slower transposed).
    let copy = if c.rs == 1 { 0 } else { EDGE_COST * m * n };
    if (kernel_t.padded(n, m) * k + copy) * 100 < kernel.padded(m, n) * k * 85 {
        let t = |x: Strided<F>| Strided {
            rs: x.cs,
            cs: x.rs,
            ..x
        };
        let c_t = StridedMut {
            rs: c.cs,
            cs: c.rs,
            ..c
        };
        let bias_t = bias.map(t);
        // SAFETY: the same matrices, read through their transposes.
        return unsafe { oriented(kernel_t, (n, k, m), alpha, t(b), t(a), beta, bias_t, c_t) };
    }
    // SAFETY: forwarded from the caller.
    unsafe { oriented(kernel, (m, k, n), alpha, a, b, beta, bias, c) }
}

/// The cost of copying one value of a tile out of `edge` into C (see
/// [`run_tile`]), in units of [`kernel::Kernel::padded`] times the depth:
/// the kernel's multiply-adds per output value.
const EDGE_COST: usize = 16;

/// The product with its orientation and kernel chosen: threads, blocks.
///
/// # Safety
/// As for [`gemm_raw`].
#[allow(clippy::too_many_arguments)]
unsafe fn oriented<F: Scalar>(
    kernel: &kernel::Kernel<F>,
    (m, k, n): (usize, usize, usize),
    alpha: F,
    a: Strided<F>,
    b: Strided<F>,
    beta: F,
    bias: Option<Strided<F>>,
    c: StridedMut<F>,
) {
    let threads = if m * n * k >= PARALLEL_WORK {
        crate::parallel::pool::available()
    } else {
        1
    };
    if threads <= 1 {
        // SAFETY: forwarded from the caller.
        unsafe { serial(kernel, (m, k, n), alpha, a, b, beta, bias, c) };
        return;
    }
    // Split C into one block per thread, in whole tiles, along the side whose
    // split makes the largest thread's work least: its block's multiply-adds
    // and its packing. Each thread packs its own panels, so the operand along
    // the other side is packed whole by every thread, and packing (a
    // transpose, for most layouts) costs about as much per value as
    // `pack_cost` multiply-adds. Without it, a linear layer's input gradient
    // G·W (768 × 384 by 384 × 128) split by columns, both threads transposed
    // all of G, and it took 1.5× as long as split by rows.
    let largest = |len: usize, unit: usize| (len.div_ceil(unit).div_ceil(threads) * unit).min(len);
    let (rows_block, cols_block) = (largest(m, kernel.mr), largest(n, kernel.nr));
    let pack = pack_cost(kernel);
    let (by_rows, by_cols) = (
        (rows_block * n + pack * (rows_block + n)) * k,
        (cols_block * m + pack * (cols_block + m)) * k,
    );
    let split_rows = by_rows < by_cols || (by_rows == by_cols && m >= n);
    let (len, unit) = if split_rows { (m, kernel.mr) } else { (n, kernel.nr) };
    let tiles = len.div_ceil(unit);
    let share = |t: usize| (tiles * t / threads * unit).min(len);
    crate::parallel::pool::run(threads, &|t| {
        let (start, end) = (share(t), share(t + 1));
        if start == end {
            return;
        }
        // This thread's rows (or columns) of A (or B), C and the bias.
        let bias = bias.map(|bias| Strided {
            ptr: if split_rows {
                bias.at(start, 0)
            } else {
                bias.at(0, start)
            },
            ..bias
        });
        let (dims, a, b, c) = if split_rows {
            let a = Strided {
                ptr: a.at(start, 0),
                ..a
            };
            (
                (end - start, k, n),
                a,
                b,
                StridedMut {
                    ptr: c.at(start, 0),
                    ..c
                },
            )
        } else {
            let b = Strided {
                ptr: b.at(0, start),
                ..b
            };
            (
                (m, k, end - start),
                a,
                b,
                StridedMut {
                    ptr: c.at(0, start),
                    ..c
                },
            )
        };
        // SAFETY: each thread writes its own block of C.
        unsafe { serial(kernel, dims, alpha, a, b, beta, bias, c) };
    });
}

/// The cost of packing one value of A or B, in multiply-adds: a transposed
/// value takes about a quarter of a cycle to pack, in which the kernel runs
/// a quarter of its vector lanes' multiply-adds (two FMA units of `nr / 2`
/// lanes each): 8 for f32 on AVX-512. On the GPT's products 6 and 8 chose
/// alike and 0 was 10% slower; on AVX2 the choice made no measurable
/// difference.
fn pack_cost<F: Scalar>(kernel: &kernel::Kernel<F>) -> usize {
    (kernel.nr / 4).max(1)
}

/// `C ← β·C` (β = 0 writes zeros without reading).
///
/// # Safety
/// `c` addresses a valid `m×n` matrix.
unsafe fn scale<F: Scalar>(m: usize, n: usize, beta: F, c: StridedMut<F>) {
    for i in 0..m {
        for j in 0..n {
            // SAFETY: (i, j) is inside C.
            unsafe {
                let c = c.at(i, j);
                *c = if beta == F::zero() { F::zero() } else { beta * *c };
            }
        }
    }
}

/// `C ← bias`, both `m×n`.
///
/// # Safety
/// `c` and `bias` address valid `m×n` matrices that do not overlap.
#[inline]
unsafe fn fill<F: Scalar>(m: usize, n: usize, bias: Strided<F>, c: StridedMut<F>) {
    for i in 0..m {
        // SAFETY: forwarded from the caller.
        unsafe { fill_row(n, bias.at(i, 0), bias.cs, c.at(i, 0), c.cs) };
    }
}

/// `n` values from `src` (`step` apart) to `dst` (`across` apart): a copy
/// where both are contiguous, the same value where the source repeats one.
///
/// # Safety
/// Both address `n` valid values, which do not overlap.
#[inline]
unsafe fn fill_row<F: Scalar>(n: usize, src: *const F, step: isize, dst: *mut F, across: isize) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match (step, across) {
            (1, 1) => std::ptr::copy_nonoverlapping(src, dst, n),
            (0, 1) => std::slice::from_raw_parts_mut(dst, n).fill(*src),
            _ => (0..n).for_each(|j| *dst.offset(j as isize * across) = *src.offset(j as isize * step)),
        }
    }
}

/// The product on the calling thread.
///
/// # Safety
/// As for [`gemm_raw`], and `kernel` runs on this CPU.
#[allow(clippy::too_many_arguments)]
unsafe fn serial<F: Scalar>(
    kernel: &kernel::Kernel<F>,
    (m, k, n): (usize, usize, usize),
    alpha: F,
    a: Strided<F>,
    b: Strided<F>,
    beta: F,
    bias: Option<Strided<F>>,
    c: StridedMut<F>,
) {
    let (mr, nr, blocks) = (kernel.mr, kernel.nr, kernel.blocks);
    let kc_max = blocks.kc.min(k);
    let mc_max = blocks.mc.min(m.next_multiple_of(mr));
    let nc_max = blocks.nc.min(n.next_multiple_of(nr));
    // Small products read whole panels in place where the layout already
    // fits (A column-major, B row-major): for them packing costs as much as
    // the arithmetic. Large ones pack, for the caches.
    let small = m * n * k < PARALLEL_WORK;
    let (a_in_place, b_in_place) = (small && a.rs == 1, small && b.cs == 1);
    // Room for whole panels even if a block size were not a multiple of a tile.
    let (a_len, b_len) = (
        mc_max.next_multiple_of(mr) * kc_max,
        kc_max * nc_max.next_multiple_of(nr),
    );
    F::with_scratch(a_len + b_len + mr * nr, |scratch| {
        let (packed_a, rest) = scratch.split_at_mut(a_len);
        let (packed_b, edge) = rest.split_at_mut(b_len);
        for jc in (0..n).step_by(nc_max) {
            let nc = nc_max.min(n - jc);
            for pc in (0..k).step_by(kc_max) {
                let kc = kc_max.min(k - pc);
                // Later slices of k add onto what the first one wrote; the
                // first adds onto the bias, written tile by tile below.
                let bias = bias.filter(|_| pc == 0);
                let beta = if pc == 0 && bias.is_none() { beta } else { F::one() };
                let b_packed_from = if b_in_place { nc - nc % nr } else { 0 };
                // SAFETY: rows pc.. pc + kc and columns jc.. jc + nc are
                // inside B, per the caller; `packed_b` holds nc padded to nr by kc.
                unsafe { pack(nc, b_packed_from, kc, b.at(pc, jc), b.cs, b.rs, nr, packed_b) };
                for ic in (0..m).step_by(mc_max) {
                    let mc = mc_max.min(m - ic);
                    let a_packed_from = if a_in_place { mc - mc % mr } else { 0 };
                    // SAFETY: rows ic.. ic + mc and columns pc.. pc + kc
                    // are inside A; `packed_a` holds mc padded to mr by kc.
                    unsafe { pack(mc, a_packed_from, kc, a.at(ic, pc), a.rs, a.cs, mr, packed_a) };
                    for jr in (0..nc).step_by(nr) {
                        let panel_b = if jr < b_packed_from {
                            Panel {
                                ptr: b.at(pc, jc + jr),
                                step: b.rs,
                            }
                        } else {
                            Panel {
                                ptr: packed_b[jr * kc..].as_ptr(),
                                step: nr as isize,
                            }
                        };
                        for ir in (0..mc).step_by(mr) {
                            let panel_a = if ir < a_packed_from {
                                Panel {
                                    ptr: a.at(ic + ir, pc),
                                    step: a.cs,
                                }
                            } else {
                                Panel {
                                    ptr: packed_a[ir * kc..].as_ptr(),
                                    step: mr as isize,
                                }
                            };
                            let tile = Tile {
                                ptr: c.at(ic + ir, jc + jr),
                                rs: c.rs,
                                rows: mr.min(mc - ir),
                                cols: nr.min(nc - jr),
                                alpha,
                                beta,
                            };
                            if let Some(bias) = bias {
                                // Written just before the kernel reads it, while
                                // the tile is in the L1 cache anyway.
                                let (row, col) = (ic + ir, jc + jr);
                                let bias = Strided {
                                    ptr: bias.at(row, col),
                                    ..bias
                                };
                                let tile_c = StridedMut {
                                    ptr: c.at(row, col),
                                    ..c
                                };
                                // SAFETY: the tile lies inside C and the bias.
                                unsafe { fill(tile.rows, tile.cols, bias, tile_c) };
                            }
                            // SAFETY: the panels hold kc steps and the tile is inside C.
                            unsafe { run_tile(kernel, kc, panel_a, panel_b, tile, c.cs, edge) };
                        }
                    }
                }
            }
        }
    });
}

/// One tile of C through the kernel. The kernel writes rows with contiguous
/// columns; a C with another column stride goes through `edge` (one tile).
///
/// # Safety
/// The panels hold `kc` steps and `tile` (with column stride `cs`) is inside C.
unsafe fn run_tile<F: Scalar>(
    kernel: &kernel::Kernel<F>,
    kc: usize,
    a: Panel<F>,
    b: Panel<F>,
    tile: Tile<F>,
    cs: isize,
    edge: &mut [F],
) {
    // A last tile of fewer rows runs on a kernel of fewer rows, if one fits.
    let run = kernel.rows_for(tile.rows).1;
    if cs == 1 {
        // SAFETY: forwarded from the caller.
        unsafe { run(kc, a, b, tile) };
        return;
    }
    let nr = kernel.nr;
    let in_edge = Tile {
        ptr: edge.as_mut_ptr(),
        rs: nr as isize,
        beta: F::zero(),
        ..tile
    };
    // SAFETY: `edge` holds a whole tile.
    unsafe { run(kc, a, b, in_edge) };
    let c = StridedMut {
        ptr: tile.ptr,
        rs: tile.rs,
        cs,
    };
    for i in 0..tile.rows {
        for j in 0..tile.cols {
            // SAFETY: (i, j) is inside the tile, which is inside C.
            let c = unsafe { &mut *c.at(i, j) };
            let v = edge[i * nr + j];
            *c = if tile.beta == F::zero() { v } else { v + tile.beta * *c };
        }
    }
}

/// Packs `kc` steps of a matrix into panels `width` wide: value `t` of step
/// `p` in panel `q` is `src[p·step + (q·width + t)·across]`, stored at
/// `out[q·width·kc + p·width + t]`, with `len` values across in all and the
/// last panel padded with zeros. Panels before `from` (a multiple of `width`)
/// are left alone: the kernel reads those in place. For A the steps are its
/// columns (`width` = MR rows across), for B its rows (`width` = NR columns
/// across). The loops
/// follow whichever stride is contiguous, so transposed views pack as fast as
/// plain ones.
///
/// # Safety
/// `src[p·step + i·across]` is a valid value for every step `p < kc` and
/// every `i < len`, and `out` holds at least `len` rounded up to `width`,
/// times `kc`, values.
#[allow(clippy::too_many_arguments)]
unsafe fn pack<F: Scalar>(
    len: usize,
    from: usize,
    kc: usize,
    src: *const F,
    across: isize,
    step: isize,
    width: usize,
    out: &mut [F],
) {
    let panels = (0..len).step_by(width).zip(out.chunks_exact_mut(width * kc));
    for (start, out) in panels.skip(from / width) {
        let valid = width.min(len - start);
        let src = src.wrapping_offset(start as isize * across);
        if across == 1 {
            // A whole panel's lines are copied at a width known to the
            // compiler (vector moves, not a `memcpy` call per line of 6 or
            // 16 values, which cost as much as the copy).
            let whole = valid == width;
            // SAFETY: `kc` lines of `width` contiguous values lie inside the
            // matrix, `step` apart; `out` holds them.
            if whole && unsafe { copy_lines(width, kc, src, step, out.as_mut_ptr()) } {
                continue;
            }
            for (p, out) in out.chunks_exact_mut(width).enumerate() {
                // SAFETY: `valid` contiguous values of step p lie inside the matrix.
                let row = unsafe { std::slice::from_raw_parts(src.wrapping_offset(p as isize * step), valid) };
                out[..valid].copy_from_slice(row);
                out[valid..].fill(F::zero());
            }
        } else {
            // A transpose. Where the source lines run contiguously along k,
            // it goes block by block through SIMD shuffles, up to BLOCK lines
            // at a time (a panel of 6 takes one block of 6 lines), and writes
            // the zeros of a partial panel as it goes.
            let out_ptr = out.as_mut_ptr();
            if let (1, true, Some(transpose)) = (step, valid == width, F::panel_transposer()) {
                // SAFETY: all `width` lines of `kc` steps lie inside the
                // matrix (`valid == width`); `out` holds the panel.
                unsafe { transpose(src, across, kc, out_ptr, width) };
                for p in kc - kc % F::BLOCK..kc {
                    for t in 0..width {
                        // SAFETY: (p, start + t) is inside the matrix.
                        unsafe { *out_ptr.add(p * width + t) = *src.offset(t as isize * across + p as isize) };
                    }
                }
                continue;
            }
            if let (1, Some(transpose)) = (step, F::transposer()) {
                let block = F::BLOCK;
                let mut t = 0;
                while t < width {
                    let (lines, stored) = (valid.saturating_sub(t).min(block), block.min(width - t));
                    let mut p = 0;
                    while p + block <= kc {
                        // SAFETY: lines start + t.. start + t + lines and steps
                        // p.. p + block are inside the matrix; the `stored`
                        // values of each step's image are inside this panel.
                        unsafe {
                            let src = src.wrapping_offset(t as isize * across + p as isize);
                            transpose(src, across, lines, out_ptr.add(p * width + t), width, stored);
                        }
                        p += block;
                    }
                    for p in p..kc {
                        for dt in 0..stored {
                            // SAFETY: (p, start + t + dt) is inside the matrix
                            // for dt < lines; the image is inside this panel.
                            unsafe {
                                *out_ptr.add(p * width + t + dt) = if dt < lines {
                                    *src.offset((t + dt) as isize * across + p as isize)
                                } else {
                                    F::zero()
                                }
                            };
                        }
                    }
                    t += stored;
                }
                continue;
            }
            for t in 0..valid {
                let src = src.wrapping_offset(t as isize * across);
                for p in 0..kc {
                    // SAFETY: (p, start + t) lies inside the matrix and
                    // p·width + t inside this panel.
                    unsafe { *out_ptr.add(p * width + t) = *src.offset(p as isize * step) };
                }
            }
            if valid < width {
                out.chunks_exact_mut(width).for_each(|out| out[valid..].fill(F::zero()));
            }
        }
    }
}

/// Copies `lines` lines of `width` values, `step` apart from `src`, one after
/// another to `out`, for the panel widths of the kernels; false (nothing
/// copied) for another width.
///
/// # Safety
/// The lines lie inside one matrix and `out` holds `lines · width` values.
unsafe fn copy_lines<F: Copy>(width: usize, lines: usize, src: *const F, step: isize, out: *mut F) -> bool {
    /// # Safety
    /// As for `copy_lines`, with `W` the width.
    #[inline(always)]
    unsafe fn copy<F: Copy, const W: usize>(lines: usize, src: *const F, step: isize, out: *mut F) {
        for p in 0..lines {
            // SAFETY: line p lies inside the matrix and its image inside `out`.
            unsafe {
                out.add(p * W)
                    .cast::<[F; W]>()
                    .write_unaligned(src.offset(p as isize * step).cast::<[F; W]>().read_unaligned())
            };
        }
    }
    /// The same loop compiled for AVX-512 (a line of 32 f32 is two moves
    /// instead of the baseline target's eight).
    ///
    /// # Safety
    /// As for `copy`, and the CPU has AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn copy_avx512<F: Copy, const W: usize>(lines: usize, src: *const F, step: isize, out: *mut F) {
        // SAFETY: forwarded from the caller.
        unsafe { copy::<F, W>(lines, src, step, out) }
    }
    /// The same loop compiled for AVX.
    ///
    /// # Safety
    /// As for `copy`, and the CPU has AVX.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn copy_avx<F: Copy, const W: usize>(lines: usize, src: *const F, step: isize, out: *mut F) {
        // SAFETY: forwarded from the caller.
        unsafe { copy::<F, W>(lines, src, step, out) }
    }
    /// The loop for the instruction set of the calling thread's backend (so
    /// that a forced backend packs as it computes).
    ///
    /// # Safety
    /// As for `copy`.
    unsafe fn widest<F: Copy, const W: usize>(lines: usize, src: *const F, step: isize, out: *mut F) {
        match crate::cpu::backend() {
            // SAFETY: a backend is only chosen on a CPU that runs it.
            #[cfg(target_arch = "x86_64")]
            crate::cpu::Backend::Avx512 => unsafe { copy_avx512::<F, W>(lines, src, step, out) },
            // SAFETY: as above (AVX2 implies AVX).
            #[cfg(target_arch = "x86_64")]
            crate::cpu::Backend::Avx2 => unsafe { copy_avx::<F, W>(lines, src, step, out) },
            // SAFETY: forwarded from the caller.
            _ => unsafe { copy::<F, W>(lines, src, step, out) },
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        match width {
            4 => widest::<F, 4>(lines, src, step, out),
            6 => widest::<F, 6>(lines, src, step, out),
            8 => widest::<F, 8>(lines, src, step, out),
            12 => widest::<F, 12>(lines, src, step, out),
            14 => widest::<F, 14>(lines, src, step, out),
            16 => widest::<F, 16>(lines, src, step, out),
            32 => widest::<F, 32>(lines, src, step, out),
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayView2, ShapeBuilder, s};

    use super::*;
    use crate::testing::random;

    /// The product by definition, accumulated in f64.
    fn naive(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).map(|p| a[[i, p]] * b[[p, j]]).sum()
        })
    }

    fn product<F: Float>(alpha: F, a: ArrayView2<F>, b: ArrayView2<F>, beta: F, c: &mut Array2<F>) {
        let view = |x: &ArrayView2<F>| Strided {
            ptr: x.as_ptr(),
            rs: x.strides()[0],
            cs: x.strides()[1],
        };
        let (rs, cs) = (c.strides()[0], c.strides()[1]);
        let out = StridedMut {
            ptr: c.as_mut_ptr(),
            rs,
            cs,
        };
        // SAFETY: live views of matching shapes; c is a separate array.
        unsafe {
            gemm_raw(
                (a.nrows(), a.ncols(), b.ncols()),
                alpha,
                view(&a),
                view(&b),
                beta,
                None,
                out,
            )
        };
    }

    fn assert_close(got: &Array2<f64>, want: &Array2<f64>, tol: f64, what: &str) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: {g} vs {w}");
        }
    }

    /// Shapes around the tile and block edges (MR = 6 or 12, NR = 8/16/32,
    /// KC = 256, MC = 126), last tiles of every height from 1 to 5 rows (on
    /// the kernels of fewer rows), and ones large enough for the helper threads.
    const SHAPES: [(usize, usize, usize); 12] = [
        (1, 1, 1),
        (9, 31, 40),
        (64, 70, 10),
        (5, 3, 7),
        (6, 8, 16),
        (7, 9, 17),
        (13, 300, 33),
        (97, 257, 50),
        (64, 512, 512),
        (200, 40, 130),
        (128, 784, 10),
        (300, 128, 300),
    ];

    /// Runs `f` once on each backend this CPU supports, naming it.
    fn on_every_backend(f: impl Fn(&str)) {
        for backend in Backend::supported() {
            with_backend(backend, || f(backend.name()));
        }
    }

    #[test]
    fn matches_the_definition_in_f64_and_f32() {
        for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
            let (a, b, c0) = (
                random((m, k), seed as u64),
                random((k, n), 100 + seed as u64),
                random((m, n), 7),
            );
            let ab = naive(a.view(), b.view());
            let single = |x: &Array2<f64>| x.mapv(|v| v as f32);
            let (a32, b32) = (single(&a), single(&b));
            on_every_backend(|backend| {
                for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)] {
                    let want = alpha * &ab + beta * &c0;
                    let mut c = c0.clone();
                    product(alpha, a.view(), b.view(), beta, &mut c);
                    let what = format!("{backend}: {m}×{k}×{n} α={alpha} β={beta}");
                    assert_close(&c, &want, 1e-12, &format!("f64 {what}"));

                    let mut c = single(&c0);
                    product(alpha as f32, a32.view(), b32.view(), beta as f32, &mut c);
                    assert_close(
                        &c.mapv(f64::from),
                        &want,
                        1e-4 * (k as f64).sqrt(),
                        &format!("f32 {what}"),
                    );
                }
            });
        }
    }

    /// `gemm_bias`: the product plus the bias in every row, on every backend,
    /// in both orientations (a narrow output is computed transposed), on the
    /// helper threads, with a strided bias, for transposed operands, and into
    /// a buffer that held NaN (C is not read).
    #[test]
    fn a_bias_is_added_to_every_row_and_c_is_not_read() {
        let shapes = SHAPES.iter().chain(&[(40, 0, 9), (0, 5, 3)]);
        for (seed, &(m, k, n)) in shapes.enumerate() {
            let seed = seed as u64;
            let (a, b) = (random((m, k), seed), random((k, n), 100 + seed));
            // The bias: the second column of an n × 2 matrix (stride 2).
            let holder = random((n, 2), 200 + seed);
            let bias = holder.column(1);
            let want = naive(a.view(), b.view()) + bias;
            let single = |x: &Array2<f64>| x.mapv(|v| v as f32);
            let (a32, b32, holder32) = (single(&a), single(&b), single(&holder));
            // Operands read through transposed views of their transposes.
            let (at, bt) = (a.t().to_owned(), b.t().to_owned());
            on_every_backend(|backend| {
                let what = format!("{backend}: {m}×{k}×{n}");
                let mut workspace = crate::workspace::Workspace::new();
                let c = workspace.run(|| {
                    crate::workspace::recycle_array(Array2::from_elem((m, n), f64::NAN));
                    gemm_bias(&a, &b, &bias)
                });
                assert_close(&c, &want, 1e-12, &format!("f64 {what}"));
                let c = gemm_bias(&at.t(), &bt.t(), &bias);
                assert_close(&c, &want, 1e-12, &format!("f64 transposed operands {what}"));
                let c = gemm_bias(&a32, &b32, &holder32.column(1));
                assert_close(
                    &c.mapv(f64::from),
                    &want,
                    1e-4 * (k as f64 + 1.0).sqrt(),
                    &format!("f32 {what}"),
                );
            });
        }
    }

    #[test]
    #[should_panic(expected = "gemm: a bias of 3 values for 4 columns")]
    fn a_bias_of_the_wrong_length_is_named() {
        let _ = gemm_bias(
            &Array2::<f64>::zeros((2, 5)),
            &Array2::zeros((5, 4)),
            &ndarray::Array1::zeros(3),
        );
    }

    #[test]
    fn beta_zero_ignores_what_c_held() {
        on_every_backend(|backend| {
            let (a, b) = (random((9, 5), 1), random((5, 20), 2));
            let mut c = Array2::from_elem((9, 20), f64::NAN);
            product(1.0, a.view(), b.view(), 0.0, &mut c);
            assert_close(
                &c,
                &naive(a.view(), b.view()),
                1e-12,
                &format!("{backend}: β = 0 over NaN"),
            );
        });
    }

    #[test]
    fn reads_transposed_and_strided_views_and_writes_column_major() {
        for &(m, k, n) in &SHAPES[..8] {
            let a_t = random((k, m), 3);
            let b_wide = random((k, 2 * n), 4);
            let (a, b) = (a_t.t(), b_wide.slice(s![.., ..;2]));
            let want = naive(a, b);
            // The forward product of a layer, X·Wᵀ: both packs transpose.
            let (x, w) = (random((m, k), 5), random((n, k), 6));
            let want_xw = naive(x.view(), w.t());
            on_every_backend(|backend| {
                let mut c = Array2::zeros((m, n).f());
                product(1.0, a, b, 0.0, &mut c);
                assert_close(&c, &want, 1e-12, &format!("{backend}: strided {m}×{k}×{n}"));
                let mut c = Array2::zeros((m, n));
                product(1.0, x.view(), w.t(), 0.0, &mut c);
                assert_close(&c, &want_xw, 1e-12, &format!("{backend}: X·Wᵀ {m}×{k}×{n}"));
                let mut c = Array2::zeros((m, n));
                let (x32, w32) = (x.mapv(|v| v as f32), w.mapv(|v| v as f32));
                product(1.0, x32.view(), w32.t(), 0.0, &mut c);
                let tol = 1e-4 * (k as f64).sqrt();
                assert_close(
                    &c.mapv(f64::from),
                    &want_xw,
                    tol,
                    &format!("{backend}: f32 X·Wᵀ {m}×{k}×{n}"),
                );
            });
        }
    }

    #[test]
    fn the_backend_is_forced_by_the_environment_or_per_thread() {
        // CI runs this crate's tests once per backend with AUTODIFF_GEMM set.
        let process = match std::env::var("AUTODIFF_GEMM") {
            Ok(name) => name.parse().unwrap(),
            Err(_) => Backend::best(),
        };
        assert_eq!(backend(), process);
        for forced in Backend::supported() {
            let inner = with_backend(forced, || {
                assert_eq!(backend(), forced);
                with_backend(Backend::Portable, backend)
            });
            assert_eq!(inner, Backend::Portable);
        }
        assert_eq!(backend(), process, "restored after with_backend");
        let restored = std::panic::catch_unwind(|| with_backend(Backend::Portable, || panic!("inside")));
        assert!(restored.is_err());
        assert_eq!(backend(), process, "restored after a panic");
    }

    #[test]
    fn backend_names_round_trip_and_unknown_ones_are_named() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>(), Ok(b));
        }
        let err = "sse".parse::<Backend>().unwrap_err();
        assert!(err.contains("\"sse\"") && err.contains("avx2, portable"), "{err}");
        assert!(Backend::best().is_supported() && Backend::Portable.is_supported());
    }

    #[test]
    fn empty_depth_scales_c() {
        let (a, b) = (Array2::<f64>::zeros((3, 0)), Array2::<f64>::zeros((0, 4)));
        let mut c = Array2::from_elem((3, 4), 2.0);
        product(1.0, a.view(), b.view(), 0.5, &mut c);
        assert!(c.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn every_kernel_this_cpu_runs_matches_the_definition() {
        fn check<F: Scalar>(tol: f64) {
            let k = 37;
            let kernels = Backend::ALL.into_iter().filter_map(F::kernels).flatten();
            let runs = kernels.flat_map(|k| {
                let fewer = k.fewer_rows.iter().map(|&(rows, run)| (rows, k.nr, run));
                fewer.chain([(k.mr, k.nr, k.run)]).collect::<Vec<_>>()
            });
            for (mr, nr, run) in runs {
                // Panels read in place: each step's values sit 3 apart from
                // the next step's (packed panels have no gap).
                let (a_wide, b_wide, c0) = (random((k, mr + 3), 5), random((k, nr + 3), 6), random((mr, nr), 7));
                let (a, b) = (a_wide.slice(s![.., ..mr]), b_wide.slice(s![.., ..nr]));
                let cast = |x: &Array2<f64>| x.mapv(F::of);
                let (a_cast, b_cast) = (cast(&a_wide), cast(&b_wide));
                let panel = |x: &Array2<F>| Panel {
                    ptr: x.as_ptr(),
                    step: x.ncols() as isize,
                };
                // Whole tiles, and partial ones (fewer rows, fewer columns).
                for (rows, cols, beta) in [(mr, nr, 0.0), (mr, nr, 0.5), (mr - 1, nr - 3, 0.5), (1, 1, 0.0)] {
                    let mut c = cast(&c0);
                    let tile = Tile {
                        ptr: c.as_mut_ptr(),
                        rs: nr as isize,
                        rows,
                        cols,
                        alpha: F::of(1.5),
                        beta: F::of(beta),
                    };
                    // SAFETY: panels of k steps and a block inside c.
                    unsafe { run(k, panel(&a_cast), panel(&b_cast), tile) };
                    let mut want = c0.clone();
                    let full = 1.5 * naive(a.t(), b) + beta * &c0;
                    want.slice_mut(s![..rows, ..cols])
                        .assign(&full.slice(s![..rows, ..cols]));
                    let got = c.mapv(|v| v.to_f64_lossless());
                    assert_close(
                        &got,
                        &want,
                        tol,
                        &format!("{mr} × {nr} kernel, {rows} × {cols}, β = {beta}"),
                    );
                }
            }
        }
        check::<f64>(1e-12);
        check::<f32>(1e-4);
    }

    #[test]
    fn every_panel_width_is_copied_in_vector_moves() {
        // A kernel whose MR or NR `copy_lines` does not know would still be
        // right, through the slow per-line copy; this keeps it fast.
        fn widths<F: Scalar>() -> Vec<usize> {
            let kernels = Backend::ALL.into_iter().filter_map(F::kernels).flatten();
            kernels.flat_map(|k| [k.mr, k.nr]).collect()
        }
        let src: Vec<f64> = (0..3 * 40).map(f64::from).collect();
        for width in widths::<f32>().into_iter().chain(widths::<f64>()) {
            let mut out = vec![0.0; 3 * width];
            // SAFETY: three lines of `width` ≤ 40 values, 40 apart, inside `src`.
            let copied = unsafe { copy_lines(width, 3, src.as_ptr(), 40, out.as_mut_ptr()) };
            assert!(copied, "panel width {width}");
            let want: Vec<f64> = (0..3)
                .flat_map(|p| (0..width).map(move |t| (p * 40 + t) as f64))
                .collect();
            assert_eq!(out, want, "panel width {width}");
        }
    }

    #[test]
    fn threads_do_not_change_the_result() {
        // Large enough for the pool; odd sizes so the split is uneven, split
        // by rows (131 × 257) and by columns (64 × 512).
        for (m, k, n) in [(131, 300, 257), (64, 300, 512)] {
            let (a, b) = (
                random((m, k), 11).mapv(|v| v as f32),
                random((k, n), 12).mapv(|v| v as f32),
            );
            let view = |x: &Array2<f32>| Strided {
                ptr: x.as_ptr(),
                rs: x.strides()[0],
                cs: x.strides()[1],
            };
            for backend in Backend::supported() {
                let Some(kernels) = f32::kernels(backend) else {
                    continue;
                };
                let mut pooled = Array2::zeros((m, n));
                with_backend(backend, || product(1.0, a.view(), b.view(), 0.0, &mut pooled));
                let mut alone = Array2::<f32>::zeros((m, n));
                let out = StridedMut {
                    ptr: alone.as_mut_ptr(),
                    rs: n as isize,
                    cs: 1,
                };
                let kernel = kernel::Kernel::choose(kernels, m, n);
                // SAFETY: live arrays of matching shapes; the kernel runs here.
                unsafe { serial(kernel, (m, k, n), 1.0, view(&a), view(&b), 0.0, None, out) };
                assert_eq!(pooled, alone, "{backend} {m}×{k}×{n}: bit for bit");
            }
        }
    }

    #[test]
    fn concurrent_callers_share_the_pool_safely() {
        let (a, b) = (random((128, 256), 8), random((256, 128), 9));
        let want = naive(a.view(), b.view());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..5 {
                        let mut c = Array2::zeros((128, 128));
                        product(1.0, a.view(), b.view(), 0.0, &mut c);
                        assert_close(&c, &want, 1e-12, "concurrent");
                    }
                });
            }
        });
    }
}
