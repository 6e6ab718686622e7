//! One line naming the machine a table was measured on: the CPU, its SIMD
//! instruction sets, the caches the GEMM blocks for, the GEMM backend and the
//! thread settings. Shared by the benches.

/// The CPU's model name, from `/proc/cpuinfo` where there is one.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The SIMD instruction sets that matter to the kernels.
fn simd() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut sets = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        for (name, present) in [
            ("SSE4.2", has!("sse4.2")),
            ("AVX", has!("avx")),
            ("AVX2", has!("avx2")),
            ("FMA", has!("fma")),
            ("AVX-512F", has!("avx512f")),
        ] {
            if present {
                sets.push(name);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    sets.push("NEON");
    sets
}

/// E.g. `CPU: AMD EPYC (SSE4.2 AVX AVX2 FMA), 2 threads; caches L1d 32 KiB,
/// L2 512 KiB, L3 4096 KiB/core; GEMM backend avx2`.
pub fn describe() -> String {
    let caches = autodiff::gemm::Caches::detected();
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "unset".into());
    format!(
        "CPU: {} ({}), {} hardware threads; caches L1d {} KiB, L2 {} KiB, L3 {} KiB per core; \
         GEMM backend {}; AUTODIFF_NUM_THREADS={}, MATMUL_NUM_THREADS={}",
        cpu_name(),
        simd().join(" "),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        caches.l1 >> 10,
        caches.l2 >> 10,
        caches.l3 >> 10,
        autodiff::gemm::backend(),
        env("AUTODIFF_NUM_THREADS"),
        env("MATMUL_NUM_THREADS"),
    )
}
