//! Timing variants against each other in one run. Shared by
//! `benches/step.rs` and `bench-peers/`.
#![allow(dead_code)] // each bench uses what it needs

use std::time::Instant;

/// Median over rounds of (time of `a`) / (time of `b`), each round timing
/// `reps` calls of each, alternating which goes first. Returns the ratio and
/// the median per-call times in µs.
pub fn interleaved(mut a: impl FnMut(), mut b: impl FnMut(), reps: usize, rounds: usize) -> (f64, f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..reps {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / reps as f64
    };
    let (mut ratios, mut ta, mut tb) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut a);
            (x, time(&mut b))
        } else {
            let y = time(&mut b);
            (time(&mut a), y)
        };
        ratios.push(x / y);
        ta.push(x);
        tb.push(y);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut ratios), median(&mut ta), median(&mut tb))
}

/// Per-call times in µs of several variants, per round (`times[variant][round]`):
/// each round times `reps` calls of each in turn, starting from a different
/// variant each round so that none always runs first.
pub fn rounds_of(variants: &mut [&mut dyn FnMut()], reps: usize, rounds: usize) -> Vec<Vec<f64>> {
    let mut times = vec![Vec::with_capacity(rounds); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let v = (round + k) % variants.len();
            let start = Instant::now();
            for _ in 0..reps {
                variants[v]();
            }
            times[v].push(start.elapsed().as_secs_f64() * 1e6 / reps as f64);
        }
    }
    times
}

/// Per-call times in µs of several variants, per round, as [`rounds_of`],
/// but each variant's rounds in one block (after two warm-up calls), as the
/// peers' scripts time theirs. For variants of very different memory use: on
/// some machines a step right after another kind of work runs slower for
/// tens of milliseconds (seen on a 2-core Xeon VM: a deep MLP's `_hvp_with`
/// took 7.4 ms right after other work, settling at 4.6 ms over eight calls),
/// which alternating rounds would charge to whichever variant follows.
pub fn blocks_of(variants: &mut [&mut dyn FnMut()], reps: usize, rounds: usize) -> Vec<Vec<f64>> {
    variants
        .iter_mut()
        .map(|variant| {
            variant();
            variant();
            (0..rounds)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..reps {
                        variant();
                    }
                    start.elapsed().as_secs_f64() * 1e6 / reps as f64
                })
                .collect()
        })
        .collect()
}

/// The median of `values`.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median over rounds of `a`'s time over `b`'s, from [`rounds_of`].
pub fn median_ratio(a: &[f64], b: &[f64]) -> f64 {
    median(&a.iter().zip(b).map(|(x, y)| x / y).collect::<Vec<_>>())
}
