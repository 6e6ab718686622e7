//! The data caches of the CPU the process runs on, read once, and the block
//! sizes of the product derived from them.
//!
//! The block sizes follow the analytical model of BLIS (Low et al., "Analytical
//! modeling is enough for high-performance BLIS", 2016), simplified: a `KC ×
//! NR` panel of B̄ fills half of L1 (the rest holds the streaming panel of Ā
//! and the tile of C), an `MC × KC` block of Ā half of L2, and a `KC × NC`
//! block of B̄ half of this core's share of L3.

use std::sync::OnceLock;

/// Data cache sizes in bytes, per core (L3: this core's share of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caches {
    /// Level-1 data cache.
    pub l1: usize,
    /// Level-2 cache.
    pub l2: usize,
    /// This core's share of the level-3 cache.
    pub l3: usize,
}

impl Caches {
    /// What most x86 and ARM server cores of the last decade have at least;
    /// used where the sizes cannot be read.
    pub const DEFAULT: Caches = Caches {
        l1: 32 << 10,
        l2: 512 << 10,
        l3: 2 << 20,
    };

    /// The caches of the CPU the process runs on, read once. On Linux from
    /// `/sys/devices/system/cpu/cpu0/cache`; elsewhere, or where a size is
    /// missing, [`Caches::DEFAULT`].
    pub fn detected() -> Caches {
        static DETECTED: OnceLock<Caches> = OnceLock::new();
        *DETECTED.get_or_init(|| read_sysfs(std::path::Path::new("/sys/devices/system/cpu/cpu0/cache")))
    }
}

/// Reads the caches of one CPU from a sysfs directory of `indexN/` entries,
/// each with `level`, `type`, `size` (like `32K`) and `shared_cpu_list`.
fn read_sysfs(dir: &std::path::Path) -> Caches {
    let mut caches = Caches::DEFAULT;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return caches;
    };
    for entry in entries.flatten() {
        let read = |name: &str| std::fs::read_to_string(entry.path().join(name)).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else {
            continue;
        };
        if kind.trim() == "Instruction" {
            continue;
        }
        let Some(bytes) = parse_size(size.trim()) else {
            continue;
        };
        let sharing = read("shared_cpu_list").map_or(1, |list| count_cpus(list.trim()));
        match level.trim() {
            "1" => caches.l1 = bytes,
            "2" => caches.l2 = bytes,
            "3" => caches.l3 = bytes / sharing.max(1),
            _ => {}
        }
    }
    caches
}

/// `32K`, `1024K`, `8M` or a plain number of bytes.
fn parse_size(text: &str) -> Option<usize> {
    let (digits, unit) = match text.as_bytes().last()? {
        b'K' => (&text[..text.len() - 1], 1 << 10),
        b'M' => (&text[..text.len() - 1], 1 << 20),
        b'G' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<usize>().ok().filter(|&n| n > 0).map(|n| n * unit)
}

/// The number of CPUs in a list such as `0-3,8,10-11`.
fn count_cpus(list: &str) -> usize {
    list.split(',')
        .filter_map(|range| match range.split_once('-') {
            Some((a, b)) => Some(b.parse::<usize>().ok()?.saturating_sub(a.parse().ok()?) + 1),
            None => range.parse::<usize>().ok().map(|_| 1),
        })
        .sum()
}

/// The block sizes of the loop nest around one micro-kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocks {
    /// Depth of a packed block: a `kc × NR` panel of B̄ stays in L1.
    pub kc: usize,
    /// Rows of a packed block of A, a multiple of MR: it stays in L2.
    pub mc: usize,
    /// Columns of a packed block of B, a multiple of NR: it stays in L3.
    pub nc: usize,
}

impl Blocks {
    /// Block sizes for an `mr × nr` tile of `size`-byte values.
    pub fn new(caches: Caches, mr: usize, nr: usize, size: usize) -> Blocks {
        // Bounds keep a tiny or misreported cache from starving the kernel
        // (a short k loop pays the tile's load and store too often) and a huge
        // one from packing far more than any product needs.
        let kc = (caches.l1 / 2 / (nr * size)).clamp(64, 512) / 8 * 8;
        let mc = (caches.l2 / 2 / (kc * size)).clamp(mr, 1024) / mr * mr;
        let nc = (caches.l3 / 2 / (kc * size)).clamp(nr, 4096) / nr * nr;
        Blocks { kc, mc, nc }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sizes_and_shares_from_a_sysfs_tree() {
        let dir = std::env::temp_dir().join(format!("autodiff-caches-{}", std::process::id()));
        let entries = [
            ("index0", "1", "Data", "48K", "0,8"),
            ("index1", "1", "Instruction", "32K", "0,8"),
            ("index2", "2", "Unified", "1280K", "0,8"),
            ("index3", "3", "Unified", "24M", "0-7,8-15"),
        ];
        for (name, level, kind, size, shared) in entries {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).unwrap();
            for (file, text) in [
                ("level", level),
                ("type", kind),
                ("size", size),
                ("shared_cpu_list", shared),
            ] {
                std::fs::write(d.join(file), format!("{text}\n")).unwrap();
            }
        }
        let caches = read_sysfs(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            caches,
            Caches {
                l1: 48 << 10,
                l2: 1280 << 10,
                l3: (24 << 20) / 16
            }
        );
    }

    #[test]
    fn a_missing_tree_gives_the_defaults() {
        assert_eq!(read_sysfs(std::path::Path::new("/nonexistent/cache")), Caches::DEFAULT);
    }

    #[test]
    fn parses_sizes_and_cpu_lists() {
        assert_eq!(parse_size("32K"), Some(32 << 10));
        assert_eq!(parse_size("8M"), Some(8 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("0K"), None);
        assert_eq!(count_cpus("0-3,8,10-11"), 7);
        assert_eq!(count_cpus("5"), 1);
    }

    #[test]
    fn blocks_fit_the_caches_and_the_tile() {
        // A Haswell-like core, f32, 6 × 16 tiles.
        let haswell = Caches {
            l1: 32 << 10,
            l2: 256 << 10,
            l3: 2 << 20,
        };
        let b = Blocks::new(haswell, 6, 16, 4);
        assert_eq!(
            b,
            Blocks {
                kc: 256,
                mc: 126,
                nc: 1024
            }
        );
        assert!(b.kc * 16 * 4 <= haswell.l1 / 2 && b.mc * b.kc * 4 <= haswell.l2 / 2);
        // Absurd sizes stay within the bounds, in whole tiles.
        let tiny = Blocks::new(Caches { l1: 1, l2: 1, l3: 1 }, 6, 16, 4);
        assert_eq!(tiny, Blocks { kc: 64, mc: 6, nc: 16 });
        let huge = Blocks::new(
            Caches {
                l1: 1 << 30,
                l2: 1 << 30,
                l3: 1 << 30,
            },
            12,
            32,
            8,
        );
        assert_eq!(
            huge,
            Blocks {
                kc: 512,
                mc: 1020,
                nc: 4096
            }
        );
    }
}
