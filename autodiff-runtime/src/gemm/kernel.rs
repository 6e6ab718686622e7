//! Micro-kernels: `C[MR×NR] ← α·Ā·B̄ + β·C` for one tile, where Ā is an
//! `MR × k` panel of A and B̄ a `k × NR` panel of B, both packed so that the
//! kernel reads them strictly forward.
//!
//! `NR` is one or two SIMD registers wide: per step of `k` a kernel loads one
//! row of B̄, broadcasts the `MR` values of Ā's column, and issues one fused
//! multiply-add per accumulator. Vectors run along the columns of C because
//! the runtime's arrays are row-major, so a row of the tile is one contiguous
//! store. Each instruction set has a few tile shapes, and each product takes
//! the one that wastes least on padding: a 16 × 10 output fits an 8 × 16
//! tile far better than the 12 × 32 one that suits large products. Beside
//! each kernel, kernels of fewer rows compute a product's last tile when it
//! is short, instead of padding it to the full height.

use std::sync::OnceLock;

use super::Backend;
use super::caches::{Blocks, Caches};

/// An element type with micro-kernels.
pub(crate) trait Scalar: crate::float::Float {
    /// The micro-kernels of a backend, built once; `None` if this CPU cannot
    /// run the backend or it has no kernels of ours (matrixmultiply).
    fn kernels(backend: Backend) -> Option<&'static [Kernel<Self>]>;

    /// `C ← α·A·B + β·C` by the matrixmultiply crate, on strided matrices.
    ///
    /// # Safety
    /// As for `matrixmultiply::sgemm`: the pointers and strides address valid
    /// `m×k`, `k×n` and `m×n` matrices, and C overlaps neither input.
    #[allow(clippy::too_many_arguments)]
    unsafe fn matrixmultiply(
        dims: (usize, usize, usize),
        alpha: Self,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        beta: Self,
        c: (*mut Self, isize, isize),
    );

    /// Side of the square blocks [`Scalar::transposer`] handles.
    const BLOCK: usize;

    /// A SIMD transpose of `lines ≤ BLOCK` lines of `BLOCK` values, if this
    /// CPU has one: `transpose(src, src_stride, lines, dst, dst_stride,
    /// width)` writes `dst[j·dst_stride + i] = src[i·src_stride + j]` for `i <
    /// lines`, zero for `lines ≤ i < width`, for every `j < BLOCK`, and
    /// nothing else (`lines ≤ width ≤ BLOCK`).
    fn transposer() -> Option<Transpose<Self>>;

    /// The same transpose over a whole panel, if this CPU has it:
    /// `transpose(src, src_stride, steps, dst, width)` writes `dst[p·width + i]
    /// = src[i·src_stride + p]` for `i < width` and `p < steps − steps % BLOCK`
    /// (every line inside the matrix). One call
    /// per panel keeps the blocks' shuffles inlined and their loads and stores
    /// free of the partial-block cases.
    fn panel_transposer() -> Option<PanelTranspose<Self>>;

    /// This thread's packing memory for this type.
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

/// See [`Scalar::transposer`].
pub(crate) type Transpose<F> = unsafe fn(*const F, isize, usize, *mut F, usize, usize);

/// See [`Scalar::panel_transposer`].
pub(crate) type PanelTranspose<F> = unsafe fn(*const F, isize, usize, *mut F, usize);

/// The AVX transpose if the CPU has AVX.
macro_rules! avx_transposer {
    ($name:ident) => {{
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            return Some(x86::$name);
        }
        None
    }};
}

/// `run(k, ā, b̄, tile)`: `tile ← α·ā·b̄ + β·tile` over `k` steps, with α
/// and β the tile's; β = 0 means the tile is not read (it may hold anything).
pub(crate) type Run<F> = unsafe fn(usize, Panel<F>, Panel<F>, Tile<F>);

/// A micro-kernel, its tile shape and the block sizes around it.
pub(crate) struct Kernel<F> {
    pub mr: usize,
    pub nr: usize,
    /// Relative speed per multiply-add on whole tiles (larger tiles reuse each
    /// load more), for choosing between shapes.
    pub speed: usize,
    pub run: Run<F>,
    /// Kernels for a last tile of fewer rows, `(rows, run)` in ascending
    /// order: a tile of `r < mr` rows takes the first with at least `r`, so a
    /// 64-row output on 6-row tiles computes ten whole tiles and one of four
    /// instead of padding to 66 rows (3% more work).
    pub fewer_rows: Vec<(usize, Run<F>)>,
    /// Block sizes for this tile on this CPU's caches.
    pub blocks: Blocks,
}

/// A panel the kernel reads: `MR` (or `NR`) contiguous values per step of k,
/// `step` apart. Packed panels have `step = MR` (or `NR`); a matrix whose
/// layout already fits is read in place with its own stride.
#[derive(Clone, Copy)]
pub(crate) struct Panel<F> {
    pub ptr: *const F,
    pub step: isize,
}

/// The part of C a kernel writes: `rows × cols` (at most `MR × NR`) from
/// `ptr`, columns contiguous, rows `rs` apart.
#[derive(Clone, Copy)]
pub(crate) struct Tile<F> {
    pub ptr: *mut F,
    pub rs: isize,
    pub rows: usize,
    pub cols: usize,
    /// The update: `tile ← α·ā·b̄ + β·tile`. Passed with the tile, in memory,
    /// so that they take no register during the kernel's loop.
    pub alpha: F,
    pub beta: F,
}

impl<F: Scalar> Kernel<F> {
    /// The kernel for an `m × n` output: least padded work per unit of speed.
    pub fn choose(kernels: &[Kernel<F>], m: usize, n: usize) -> &Kernel<F> {
        kernels
            .iter()
            .min_by_key(|k| k.padded(m, n))
            .expect("a backend has at least one kernel")
    }

    /// The work of an `m × n` output on this kernel: the area it computes
    /// (rows up to the last tile's kernel, columns up to whole tiles) per
    /// unit of speed.
    pub fn padded(&self, m: usize, n: usize) -> usize {
        let last = m % self.mr;
        let rows = m - last + if last == 0 { 0 } else { self.rows_for(last).0 };
        rows * n.next_multiple_of(self.nr) * 100 / self.speed
    }

    /// The kernel for a tile of `rows ≤ mr` rows, and the rows it computes.
    pub fn rows_for(&self, rows: usize) -> (usize, Run<F>) {
        self.fewer_rows
            .iter()
            .copied()
            .find(|&(r, _)| r >= rows)
            .unwrap_or((self.mr, self.run))
    }

    /// One backend's kernels from `(mr, nr, speed, run, fewer_rows)`, blocked
    /// for the caches of this CPU.
    fn table(shapes: Vec<(usize, usize, usize, Run<F>, Vec<(usize, Run<F>)>)>) -> Vec<Kernel<F>> {
        let caches = Caches::detected();
        shapes
            .into_iter()
            .map(|(mr, nr, speed, run, fewer_rows)| Kernel {
                mr,
                nr,
                speed,
                run,
                fewer_rows,
                blocks: Blocks::new(caches, mr, nr, std::mem::size_of::<F>()),
            })
            .collect()
    }
}

/// Each backend's kernels for one element type, built the first time they
/// are asked for; `None` where the CPU lacks the instructions.
macro_rules! kernel_tables {
    ($backend:ident, $f:ty,
     avx512: [$(($amr:expr, $anr:expr, $aspeed:expr, $afn:ident, [$($arows:expr => $arun:ident),*])),*],
     avx2: [$(($vmr:expr, $vnr:expr, $vspeed:expr, $vfn:ident, [$($vrows:expr => $vrun:ident),*])),*],
     portable: ($pmr:expr, $pnr:expr, [$($prows:expr),*])) => {{
        static TABLES: [OnceLock<Option<Vec<Kernel<$f>>>>; Backend::ALL.len()] =
            [const { OnceLock::new() }; Backend::ALL.len()];
        TABLES[$backend as usize]
            .get_or_init(|| {
                if !$backend.is_supported() {
                    return None;
                }
                type Shape = (usize, usize, usize, Run<$f>, Vec<(usize, Run<$f>)>);
                let shapes: Vec<Shape> = match $backend {
                    #[cfg(target_arch = "x86_64")]
                    Backend::Avx512 => vec![$(($amr, $anr, $aspeed, x86::$afn, vec![$(($arows, x86::$arun as Run<$f>)),*])),*],
                    #[cfg(target_arch = "x86_64")]
                    Backend::Avx2 => vec![$(($vmr, $vnr, $vspeed, x86::$vfn, vec![$(($vrows, x86::$vrun as Run<$f>)),*])),*],
                    Backend::Portable => vec![(
                        $pmr,
                        $pnr,
                        100,
                        portable::<$f, $pmr, $pnr>,
                        vec![$(($prows, portable::<$f, $prows, $pnr> as Run<$f>)),*],
                    )],
                    _ => return None,
                };
                Some(Kernel::table(shapes))
            })
            .as_deref()
    }};
}

/// The portable kernel: plain loops over a fixed-size tile, which the compiler
/// vectorises for whatever the target offers.
///
/// # Safety
/// `a` and `b` address `k` steps of `MR` and `NR` values; `c` is a valid
/// block of C.
pub(super) unsafe fn portable<F: Scalar, const MR: usize, const NR: usize>(
    k: usize,
    a: Panel<F>,
    b: Panel<F>,
    c: Tile<F>,
) {
    let mut acc = [[F::zero(); NR]; MR];
    for p in 0..k as isize {
        // SAFETY: p < k, so both rows lie inside the panels.
        let (a, b) = unsafe {
            (
                &*a.ptr.offset(p * a.step).cast::<[F; MR]>(),
                &*b.ptr.offset(p * b.step).cast::<[F; NR]>(),
            )
        };
        for i in 0..MR {
            for j in 0..NR {
                // Not `mul_add`: without hardware FMA it is a slow library call.
                acc[i][j] += a[i] * b[j];
            }
        }
    }
    for (i, row) in acc.iter().enumerate().take(c.rows) {
        // SAFETY: the caller guarantees the block.
        let out = unsafe { std::slice::from_raw_parts_mut(c.ptr.offset(i as isize * c.rs), c.cols) };
        store_row(out, row, c.alpha, c.beta);
    }
}

/// `c ← α·v + β·c` over `c`'s length; β = 0 does not read `c`.
fn store_row<F: crate::float::Float>(c: &mut [F], v: &[F], alpha: F, beta: F) {
    for (c, &v) in c.iter_mut().zip(v) {
        *c = if beta == F::zero() {
            alpha * v
        } else {
            alpha * v + beta * *c
        };
    }
}

impl Scalar for f32 {
    fn kernels(backend: Backend) -> Option<&'static [Kernel<f32>]> {
        kernel_tables!(backend, f32,
            avx512: [
                (14, 32, 108, avx512_f32_14x2, [4 => avx512_f32_4x2, 8 => avx512_f32_8x2, 12 => avx512_f32_12x2]),
                (12, 32, 100, avx512_f32_12x2, [4 => avx512_f32_4x2, 8 => avx512_f32_8x2]),
                (8, 32, 95, avx512_f32_8x2, [2 => avx512_f32_2x2, 4 => avx512_f32_4x2]),
                (8, 16, 85, avx512_f32_8x1, [2 => avx512_f32_2x1, 4 => avx512_f32_4x1])
            ],
            avx2: [
                (6, 16, 100, avx2_f32_6x2, [2 => avx2_f32_2x2, 4 => avx2_f32_4x2]),
                (6, 8, 85, avx2_f32_6x1, [2 => avx2_f32_2x1, 4 => avx2_f32_4x1])
            ],
            portable: (6, 16, [2, 4]))
    }

    /// # Safety
    /// As for [`Scalar::matrixmultiply`].
    unsafe fn matrixmultiply(
        (m, k, n): (usize, usize, usize),
        alpha: f32,
        a: (*const f32, isize, isize),
        b: (*const f32, isize, isize),
        beta: f32,
        c: (*mut f32, isize, isize),
    ) {
        // SAFETY: forwarded from the caller.
        unsafe { matrixmultiply::sgemm(m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2) }
    }

    const BLOCK: usize = 8;

    fn transposer() -> Option<Transpose<f32>> {
        avx_transposer!(transpose8_f32)
    }

    fn panel_transposer() -> Option<PanelTranspose<f32>> {
        avx_transposer!(transpose_panel_f32)
    }

    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
        thread_local!(static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) });
        SCRATCH.with_borrow_mut(|buf| grown(buf, len, f))
    }
}

impl Scalar for f64 {
    fn kernels(backend: Backend) -> Option<&'static [Kernel<f64>]> {
        kernel_tables!(backend, f64,
            avx512: [
                (12, 16, 100, avx512_f64_12x2, [4 => avx512_f64_4x2, 8 => avx512_f64_8x2]),
                (8, 16, 95, avx512_f64_8x2, [2 => avx512_f64_2x2, 4 => avx512_f64_4x2]),
                (8, 8, 85, avx512_f64_8x1, [2 => avx512_f64_2x1, 4 => avx512_f64_4x1])
            ],
            avx2: [
                (6, 8, 100, avx2_f64_6x2, [2 => avx2_f64_2x2, 4 => avx2_f64_4x2]),
                (6, 4, 85, avx2_f64_6x1, [2 => avx2_f64_2x1, 4 => avx2_f64_4x1])
            ],
            portable: (6, 8, [2, 4]))
    }

    /// # Safety
    /// As for [`Scalar::matrixmultiply`].
    unsafe fn matrixmultiply(
        (m, k, n): (usize, usize, usize),
        alpha: f64,
        a: (*const f64, isize, isize),
        b: (*const f64, isize, isize),
        beta: f64,
        c: (*mut f64, isize, isize),
    ) {
        // SAFETY: forwarded from the caller.
        unsafe { matrixmultiply::dgemm(m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2) }
    }

    const BLOCK: usize = 4;

    fn transposer() -> Option<Transpose<f64>> {
        avx_transposer!(transpose4_f64)
    }

    fn panel_transposer() -> Option<PanelTranspose<f64>> {
        avx_transposer!(transpose_panel_f64)
    }

    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
        thread_local!(static SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) });
        SCRATCH.with_borrow_mut(|buf| grown(buf, len, f))
    }
}

/// Runs `f` on the first `len` values of `buf`, growing it first if needed.
/// The buffer only grows, so once a thread has seen its largest product it
/// never allocates again.
fn grown<F: Copy + Default, R>(buf: &mut Vec<F>, len: usize, f: impl FnOnce(&mut [F]) -> R) -> R {
    if buf.len() < len {
        buf.resize(len, F::default());
    }
    f(&mut buf[..len])
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// One kernel per instruction set and element type; only the intrinsics,
    /// the vector width and the number of rows differ.
    macro_rules! simd_kernel {
        ($name:ident, $features:literal, $f:ty, $lanes:expr, $mr:expr, $regs:expr,
         $zero:ident, $load:ident, $store:ident, $splat:ident, $fmadd:ident, $mul:ident) => {
            /// # Safety
            /// The CPU has the target features; `a` and `b` address `k` steps
            /// of `MR` and `NR` values; `c` is a valid block of C.
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn $name(k: usize, a: Panel<$f>, b: Panel<$f>, c: Tile<$f>) {
                const W: usize = $lanes;
                const MR: usize = $mr;
                const REGS: usize = $regs;
                // The tile's rows lie far apart in C, often out of every
                // cache: fetching them now hides that latency behind the loop
                // instead of stalling the update at its end.
                for i in 0..c.rows {
                    // SAFETY: prefetching reads nothing; the addresses are in
                    // the caller's block of C.
                    unsafe {
                        let row = c.ptr.offset(i as isize * c.rs).cast::<i8>();
                        let bytes = c.cols * std::mem::size_of::<$f>();
                        // Every cache line the row touches: one per 64
                        // bytes from its start, and the line of its last byte.
                        for at in (0..bytes).step_by(64).chain(bytes.checked_sub(1)) {
                            _mm_prefetch::<_MM_HINT_T0>(row.add(at));
                        }
                    }
                }
                let mut acc = [[$zero(); REGS]; MR];
                let (mut a, a_step, mut b) = (a.ptr, a.step, b);
                for _ in 0..k {
                    // SAFETY: the caller guarantees k rows in each panel.
                    unsafe {
                        let mut row = [$zero(); REGS];
                        for (r, v) in row.iter_mut().enumerate() {
                            *v = $load(b.ptr.add(r * W));
                        }
                        for (i, acc) in acc.iter_mut().enumerate() {
                            let ai = $splat(*a.add(i));
                            for (acc, &v) in acc.iter_mut().zip(&row) {
                                *acc = $fmadd(ai, v, *acc);
                            }
                        }
                        a = a.offset(a_step);
                        b.ptr = b.ptr.offset(b.step);
                    }
                }
                let (alpha, beta) = (c.alpha, c.beta);
                let alpha_v = $splat(alpha);
                // Constant indices (with a test inside) keep `acc` in registers.
                let (rows, cols) = (c.rows, c.cols);
                for (i, row) in acc.iter().enumerate() {
                    if i >= rows {
                        break;
                    }
                    // SAFETY: the caller guarantees the block.
                    unsafe {
                        let c = c.ptr.offset(i as isize * c.rs);
                        if cols == REGS * W {
                            for (r, &v) in row.iter().enumerate() {
                                let c = c.add(r * W);
                                // α = 1, as in every product of the runtime, skips the multiply.
                                let v = if alpha == 1.0 { v } else { $mul(alpha_v, v) };
                                $store(
                                    c,
                                    if beta == 0.0 {
                                        v
                                    } else {
                                        $fmadd($splat(beta), $load(c), v)
                                    },
                                );
                            }
                        } else {
                            // A partial row goes through the stack.
                            let mut tmp = [0.0; REGS * W];
                            for (r, &v) in row.iter().enumerate() {
                                $store(tmp.as_mut_ptr().add(r * W), v);
                            }
                            crate::gemm::kernel::store_row(std::slice::from_raw_parts_mut(c, cols), &tmp, alpha, beta);
                        }
                    }
                }
            }
        };
    }

    #[rustfmt::skip]
    mod instances {
        use super::*;
        use crate::gemm::kernel::{Panel, Tile};
        simd_kernel!(avx512_f32_14x2, "avx512f", f32, 16, 14, 2, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f32_12x2, "avx512f", f32, 16, 12, 2, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f32_8x2, "avx512f", f32, 16, 8, 2, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f32_8x1, "avx512f", f32, 16, 8, 1, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f64_12x2, "avx512f", f64, 8, 12, 2, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_mul_pd);
        simd_kernel!(avx512_f64_8x2, "avx512f", f64, 8, 8, 2, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_mul_pd);
        simd_kernel!(avx512_f64_8x1, "avx512f", f64, 8, 8, 1, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_mul_pd);
        simd_kernel!(avx2_f32_6x2, "avx2,fma", f32, 8, 6, 2, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_mul_ps);
        simd_kernel!(avx2_f32_6x1, "avx2,fma", f32, 8, 6, 1, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_mul_ps);
        simd_kernel!(avx2_f64_6x2, "avx2,fma", f64, 4, 6, 2, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_mul_pd);
        simd_kernel!(avx2_f64_6x1, "avx2,fma", f64, 4, 6, 1, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_mul_pd);
        simd_kernel!(avx512_f32_4x2, "avx512f", f32, 16, 4, 2, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f32_4x1, "avx512f", f32, 16, 4, 1, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f32_2x2, "avx512f", f32, 16, 2, 2, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f32_2x1, "avx512f", f32, 16, 2, 1, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps);
        simd_kernel!(avx512_f64_4x2, "avx512f", f64, 8, 4, 2, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_mul_pd);
        simd_kernel!(avx512_f64_4x1, "avx512f", f64, 8, 4, 1, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_mul_pd);
        simd_kernel!(avx512_f64_2x2, "avx512f", f64, 8, 2, 2, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_mul_pd);
        simd_kernel!(avx512_f64_2x1, "avx512f", f64, 8, 2, 1, _mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_mul_pd);
        simd_kernel!(avx2_f32_4x2, "avx2,fma", f32, 8, 4, 2, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_mul_ps);
        simd_kernel!(avx2_f32_4x1, "avx2,fma", f32, 8, 4, 1, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_mul_ps);
        simd_kernel!(avx2_f32_2x2, "avx2,fma", f32, 8, 2, 2, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_mul_ps);
        simd_kernel!(avx2_f32_2x1, "avx2,fma", f32, 8, 2, 1, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_mul_ps);
        simd_kernel!(avx2_f64_4x2, "avx2,fma", f64, 4, 4, 2, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_mul_pd);
        simd_kernel!(avx2_f64_4x1, "avx2,fma", f64, 4, 4, 1, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_mul_pd);
        simd_kernel!(avx2_f64_2x2, "avx2,fma", f64, 4, 2, 2, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_mul_pd);
        simd_kernel!(avx2_f64_2x1, "avx2,fma", f64, 4, 2, 1, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_mul_pd);
    }
    pub(super) use instances::*;

    /// Stores the first `n ≤ 8` lanes of `v` at `dst`.
    ///
    /// # Safety
    /// The CPU has AVX; `dst` addresses `n` values.
    #[target_feature(enable = "avx")]
    unsafe fn store_f32(dst: *mut f32, v: __m256, n: usize) {
        // SAFETY: each store writes lanes below n, per the caller.
        unsafe {
            if n == 8 {
                return _mm256_storeu_ps(dst, v);
            }
            let (mut low, mut at) = (_mm256_castps256_ps128(v), 0);
            if n >= 4 {
                _mm_storeu_ps(dst, low);
                low = _mm256_extractf128_ps::<1>(v);
                at = 4;
            }
            if n - at >= 2 {
                _mm_storel_pd(dst.add(at).cast::<f64>(), _mm_castps_pd(low));
                low = _mm_movehl_ps(low, low);
                at += 2;
            }
            if n > at {
                _mm_store_ss(dst.add(at), low);
            }
        }
    }

    /// # Safety
    /// The CPU has AVX; `src` addresses `lines ≤ 8` rows of 8 values
    /// `src_stride` apart, `dst` 8 rows of `width ≥ lines` values
    /// `dst_stride` apart.
    #[target_feature(enable = "avx")]
    #[inline]
    pub(super) unsafe fn transpose8_f32(
        src: *const f32,
        src_stride: isize,
        lines: usize,
        dst: *mut f32,
        dst_stride: usize,
        width: usize,
    ) {
        // SAFETY: the caller guarantees both blocks; missing lines are zeros.
        unsafe {
            let r: [__m256; 8] = std::array::from_fn(|i| {
                if i < lines {
                    _mm256_loadu_ps(src.offset(i as isize * src_stride))
                } else {
                    _mm256_setzero_ps()
                }
            });
            // Pairs of rows interleaved, then pairs of pairs, then halves swapped.
            let t = [
                _mm256_unpacklo_ps(r[0], r[1]),
                _mm256_unpackhi_ps(r[0], r[1]),
                _mm256_unpacklo_ps(r[2], r[3]),
                _mm256_unpackhi_ps(r[2], r[3]),
                _mm256_unpacklo_ps(r[4], r[5]),
                _mm256_unpackhi_ps(r[4], r[5]),
                _mm256_unpacklo_ps(r[6], r[7]),
                _mm256_unpackhi_ps(r[6], r[7]),
            ];
            let q = [
                _mm256_shuffle_ps::<0x44>(t[0], t[2]),
                _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
                _mm256_shuffle_ps::<0x44>(t[1], t[3]),
                _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
                _mm256_shuffle_ps::<0x44>(t[4], t[6]),
                _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
                _mm256_shuffle_ps::<0x44>(t[5], t[7]),
                _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
            ];
            for j in 0..4 {
                store_f32(
                    dst.add(j * dst_stride),
                    _mm256_permute2f128_ps::<0x20>(q[j], q[j + 4]),
                    lines,
                );
                store_f32(
                    dst.add((j + 4) * dst_stride),
                    _mm256_permute2f128_ps::<0x31>(q[j], q[j + 4]),
                    width,
                );
            }
        }
    }

    /// Whole blocks of a panel of `width` lines (see `Scalar::panel_transposer`).
    macro_rules! panel_transpose {
        ($name:ident, $f:ty, $block:expr, $transpose:ident) => {
            /// # Safety
            /// The CPU has AVX; `src` addresses `width` lines of `steps`
            /// values `src_stride` apart, `dst` `steps` lines of `width` values.
            #[target_feature(enable = "avx")]
            pub(super) unsafe fn $name(src: *const $f, src_stride: isize, steps: usize, dst: *mut $f, width: usize) {
                // Step block by step block, so that each writes whole lines
                // of the panel one after another.
                let mut p = 0;
                while p + $block <= steps {
                    for t in (0..width).step_by($block) {
                        // A last group of fewer lines (a panel of 12 or 14) is
                        // one partial block.
                        let lines = (width - t).min($block);
                        // SAFETY: lines t.. t + lines and steps p.. p + BLOCK
                        // are inside the source, their image inside `dst`.
                        unsafe {
                            $transpose(
                                src.offset(t as isize * src_stride + p as isize),
                                src_stride,
                                lines,
                                dst.add(p * width + t),
                                width,
                                lines,
                            )
                        };
                    }
                    p += $block;
                }
            }
        };
    }
    panel_transpose!(transpose_panel_f32, f32, 8, transpose8_f32);
    panel_transpose!(transpose_panel_f64, f64, 4, transpose4_f64);

    /// Stores the first `n ≤ 4` lanes of `v` at `dst`.
    ///
    /// # Safety
    /// The CPU has AVX; `dst` addresses `n` values.
    #[target_feature(enable = "avx")]
    unsafe fn store_f64(dst: *mut f64, v: __m256d, n: usize) {
        // SAFETY: each store writes lanes below n, per the caller.
        unsafe {
            match n {
                4 => _mm256_storeu_pd(dst, v),
                3 => {
                    _mm_storeu_pd(dst, _mm256_castpd256_pd128(v));
                    _mm_store_sd(dst.add(2), _mm256_extractf128_pd::<1>(v));
                }
                2 => _mm_storeu_pd(dst, _mm256_castpd256_pd128(v)),
                _ => _mm_store_sd(dst, _mm256_castpd256_pd128(v)),
            }
        }
    }

    /// # Safety
    /// The CPU has AVX; `src` addresses `lines ≤ 4` rows of 4 values
    /// `src_stride` apart, `dst` 4 rows of `width ≥ lines` values
    /// `dst_stride` apart.
    #[target_feature(enable = "avx")]
    #[inline]
    pub(super) unsafe fn transpose4_f64(
        src: *const f64,
        src_stride: isize,
        lines: usize,
        dst: *mut f64,
        dst_stride: usize,
        width: usize,
    ) {
        // SAFETY: the caller guarantees both blocks; missing lines are zeros.
        unsafe {
            let r: [__m256d; 4] = std::array::from_fn(|i| {
                if i < lines {
                    _mm256_loadu_pd(src.offset(i as isize * src_stride))
                } else {
                    _mm256_setzero_pd()
                }
            });
            let t = [
                _mm256_unpacklo_pd(r[0], r[1]),
                _mm256_unpackhi_pd(r[0], r[1]),
                _mm256_unpacklo_pd(r[2], r[3]),
                _mm256_unpackhi_pd(r[2], r[3]),
            ];
            store_f64(dst, _mm256_permute2f128_pd::<0x20>(t[0], t[2]), width);
            store_f64(dst.add(dst_stride), _mm256_permute2f128_pd::<0x20>(t[1], t[3]), width);
            store_f64(
                dst.add(2 * dst_stride),
                _mm256_permute2f128_pd::<0x31>(t[0], t[2]),
                lines,
            );
            store_f64(
                dst.add(3 * dst_stride),
                _mm256_permute2f128_pd::<0x31>(t[1], t[3]),
                lines,
            );
        }
    }
}
