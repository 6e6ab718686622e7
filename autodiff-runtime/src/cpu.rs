//! Which instruction sets the kernels use. The GEMM picks its micro-kernels
//! by [`Backend`], and the element-wise loops take their AVX2 path when the
//! chosen backend is a SIMD one, so that forcing a backend (for a test or a
//! benchmark) forces every kernel path of the runtime at once.

use std::cell::Cell;
use std::sync::OnceLock;

/// Which code computes the products: our micro-kernels for an instruction
/// set, or the matrixmultiply crate.
///
/// By default a product takes [`Backend::best`]: AVX-512 or AVX2 + FMA
/// kernels where the CPU has them, matrixmultiply elsewhere (on ARM it has
/// NEON kernels and ours are plain loops). The environment variable
/// `AUTODIFF_GEMM` (`avx512`, `avx2`, `portable` or `matrixmultiply`),
/// read once, forces one for the whole process; [`with_backend`] forces one
/// for a closure on the calling thread. Tests and benchmarks use them to run
/// every path on one machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// 512-bit kernels (x86 with AVX-512F).
    Avx512,
    /// 256-bit kernels (x86 with AVX2 and FMA).
    Avx2,
    /// Plain loops the compiler vectorises for the build target; runs
    /// everywhere, kept for testing and as a reference.
    Portable,
    /// `matrixmultiply::sgemm`/`dgemm`. Allocates its packing memory on every
    /// product, so a step on this backend is not allocation-free.
    Matrixmultiply,
}

impl Backend {
    /// Every backend, in order of preference where the CPU supports it.
    pub const ALL: [Backend; 4] = [
        Backend::Avx512,
        Backend::Avx2,
        Backend::Portable,
        Backend::Matrixmultiply,
    ];

    /// The name `AUTODIFF_GEMM` takes.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Avx512 => "avx512",
            Backend::Avx2 => "avx2",
            Backend::Portable => "portable",
            Backend::Matrixmultiply => "matrixmultiply",
        }
    }

    /// Whether this CPU can run the backend.
    pub fn is_supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        use std::arch::is_x86_feature_detected as has;
        match self {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => has!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => has!("avx2") && has!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Backend::Avx512 | Backend::Avx2 => false,
            Backend::Portable | Backend::Matrixmultiply => true,
        }
    }

    /// The backends this CPU can run.
    pub fn supported() -> Vec<Backend> {
        Backend::ALL.into_iter().filter(|b| b.is_supported()).collect()
    }

    /// The default on this CPU: our widest SIMD kernels, else matrixmultiply.
    pub fn best() -> Backend {
        [Backend::Avx512, Backend::Avx2]
            .into_iter()
            .find(|b| b.is_supported())
            .unwrap_or(Backend::Matrixmultiply)
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(name: &str) -> Result<Backend, String> {
        Backend::ALL.into_iter().find(|b| b.name() == name).ok_or_else(|| {
            let names: Vec<_> = Backend::ALL.iter().map(|b| b.name()).collect();
            format!("unknown GEMM backend {name:?}; expected one of {}", names.join(", "))
        })
    }
}

thread_local! {
    /// The backend [`with_backend`] set on this thread, if any.
    static FORCED: Cell<Option<Backend>> = const { Cell::new(None) };
}

/// The backend products on this thread take: the one [`with_backend`] set,
/// else `AUTODIFF_GEMM`, else [`Backend::best`].
///
/// # Panics
/// If `AUTODIFF_GEMM` names no backend, or one this CPU cannot run.
pub fn backend() -> Backend {
    static PROCESS: OnceLock<Backend> = OnceLock::new();
    FORCED.get().unwrap_or_else(|| {
        *PROCESS.get_or_init(|| match std::env::var("AUTODIFF_GEMM") {
            Ok(name) => {
                let backend: Backend = name.parse().unwrap_or_else(|e| panic!("AUTODIFF_GEMM: {e}"));
                assert!(
                    backend.is_supported(),
                    "AUTODIFF_GEMM={name}: this CPU cannot run it (it can run: {:?})",
                    Backend::supported()
                );
                backend
            }
            Err(_) => Backend::best(),
        })
    })
}

/// Runs `f` with every product on this thread computed by `backend` (the
/// helper threads of a large product follow the caller).
///
/// ```
/// use autodiff_runtime::gemm::{Backend, backend, with_backend};
/// let used = with_backend(Backend::Portable, backend);
/// assert_eq!(used, Backend::Portable);
/// ```
///
/// # Panics
/// If this CPU cannot run `backend`.
pub fn with_backend<R>(backend: Backend, f: impl FnOnce() -> R) -> R {
    assert!(
        backend.is_supported(),
        "with_backend({backend}): this CPU cannot run it (it can run: {:?})",
        Backend::supported()
    );
    struct Restore(Option<Backend>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED.set(self.0);
        }
    }
    let _restore = Restore(FORCED.replace(Some(backend)));
    f()
}
